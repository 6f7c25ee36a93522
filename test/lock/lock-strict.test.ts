// A lock is input: `layer`, `image` and `audit` on the real command line refuse a lock whose
// package URLs leave their source (exit 2, before anything is fetched), and `audit` fails a lock
// whose sources were moved away from the manifest's even though it kept the manifest's sha256.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { hasCommand } from "../fixtures/deb.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { PROJECT, layerArchive } from "../layer/fixture.js";
import { cleanEnv, compileCli, removeDir, run, tempDir, writeProject } from "../layer/helpers.js";

const tools = ["gzip", "zstd", "xz"].every((t) => hasCommand(t));

let work: string;
let main: string;
let www: string;
let server: TestServer;
let project: { dir: string; config: string; lockfile: string; cache: string };
let lock: Lockfile;
/** A file outside the mirror directory, which no lock may reach. */
let secret: { path: string; sha256: string; size: number };

interface Outcome {
  code: number | null;
  stdout: string;
  error: { kind: string; message: string; exitCode: number } | undefined;
}

async function cli(args: string[]): Promise<Outcome> {
  const r = await run(process.execPath, [main, ...args, "--json"], { cwd: work, env: cleanEnv() });
  expect(r.stderr).not.toContain("internal error");
  const doc = JSON.parse(r.stdout.toString("utf8")) as { error?: Outcome["error"] };
  return { code: r.code, stdout: r.stdout.toString("utf8"), error: doc.error };
}

/** The set-up lock with `f` applied, written to `name` in the work directory. */
async function edited(name: string, f: (l: Lockfile) => void): Promise<string> {
  const l = structuredClone(lock);
  f(l);
  const file = join(work, name);
  await writeFile(file, JSON.stringify(l));
  return file;
}

/** Points amd64's plainpkg at `rel` below its source's URL, pinned to the secret's bytes. */
function pointAt(rel: string) {
  return (l: Lockfile) => {
    const p = l.architectures.amd64!.packages.find((x) => x.name === "plainpkg")!;
    p.url = `${l.sources[0]!.url}/${rel}`;
    p.sha256 = secret.sha256;
    p.size = secret.size;
  };
}

beforeAll(async () => {
  if (!tools) return;
  work = await tempDir("strict");
  const [built, made] = await Promise.all([compileCli(join(work, "build")), layerArchive(work)]);
  main = built;
  www = made.www;
  server = await serveDirectory(www);
  project = await writeProject(join(work, "project"), made.key.armoredPublicKey, PROJECT);
  const r = await run(process.execPath, [main, "lock", "--config", project.config, "--lockfile", project.lockfile, "--mirror", server.url, "--cache", project.cache, "--quiet"], { cwd: work, env: cleanEnv() });
  if (r.code !== 0) throw new Error(`set-up lock failed (${r.code}): ${r.stderr}`);
  lock = JSON.parse(await readFile(project.lockfile, "utf8")) as Lockfile;
  const bytes = Buffer.from("root:x:0:0:not for a layer\n");
  secret = { path: join(work, "secret"), sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length };
  await writeFile(secret.path, bytes);
});

afterAll(async () => {
  await server?.close();
  await removeDir(work);
});

describe.skipIf(!tools)("a lock whose package URLs leave their source", () => {
  // Enough `..` to climb from any mirror path to the root, then down to the secret.
  const up = (sep: string) => Array.from({ length: 40 }, () => sep).join("/") + secret.path;

  it("`..` in a package URL: layer and image exit 2 naming the architecture, package and field, and the file outside the mirror is never read", async () => {
    const file = await edited("dotdot.lock", pointAt(up("..").replace(/^\//, "")));
    const mirror = pathToFileURL(www).href;
    const cache = join(work, "dotdot-cache");
    const out = join(work, "dotdot-out");
    await mkdir(out);
    const runs = {
      layer: ["layer", "--lockfile", file, "--mirror", mirror, "--cache", cache, "--output", join(out, "{arch}.tar")],
      image: ["image", "--lockfile", file, "--mirror", mirror, "--cache", cache, "--output", join(out, "img")],
    };
    for (const [command, args] of Object.entries(runs)) {
      const r = await cli(args);
      expect([command, r.code, r.error?.kind]).toEqual([command, 2, "lockfile"]);
      expect(r.error!.message).toContain(`${file}: architectures.amd64.packages[`);
      expect(r.error!.message).toContain("].url: package plainpkg (amd64): ");
      expect(r.error!.message).toContain('path segment ".."');
    }
    // Had the secret been fetched, the cache would hold it under its sha256.
    expect(existsSync(new ContentCache(cache).pathFor(secret.sha256))).toBe(false);
    expect(await readdir(out)).toEqual([]);
  });

  it("a percent-encoded `..` (%2e%2e, %2E%2e) is refused the same way", async () => {
    for (const dots of ["%2e%2e", "%2E%2e", ".%2e"]) {
      const file = await edited("encoded.lock", pointAt(up(dots).replace(/^\//, "")));
      const r = await cli(["layer", "--lockfile", file, "--mirror", pathToFileURL(www).href, "--cache", join(work, "encoded-cache"), "--check"]);
      expect([dots, r.code, r.error?.kind]).toEqual([dots, 2, "lockfile"]);
      expect(r.error!.message).toContain(`path segment "${dots}" leaves or hides its place`);
    }
  });

  it("a package URL on another host is not under its source: exit 2 naming the URL and the source's URL", async () => {
    const file = await edited("host.lock", (l) => {
      l.architectures.arm64!.packages[0]!.url = "https://elsewhere.test.invalid/debian/pool/main/x/x.deb";
    });
    const r = await cli(["layer", "--lockfile", file, "--mirror", server.url, "--check"]);
    expect([r.code, r.error?.kind]).toEqual([2, "lockfile"]);
    expect(r.error!.message).toBe(
      `${file}: architectures.arm64.packages[0].url: package ${lock.architectures.arm64!.packages[0]!.name} (arm64): "https://elsewhere.test.invalid/debian/pool/main/x/x.deb" is not under the source's URL ${lock.sources[0]!.url}`,
    );
  });

  it('"architectures": {} is an invalid lock for layer and audit (exit 2), not an empty success', async () => {
    const file = await edited("empty.lock", (l) => {
      l.architectures = {};
    });
    for (const args of [
      ["layer", "--lockfile", file, "--check"],
      ["audit", "--lockfile", file, "--config", project.config, "--mirror", server.url],
    ]) {
      const r = await cli(args);
      expect([args[0], r.code, r.error?.kind, r.error?.message]).toEqual([args[0], 2, "lockfile", `${file}: architectures: lists no architecture, so there is nothing to build or audit`]);
    }
  });
});

describe.skipIf(!tools)("audit of a lock whose sources were moved", () => {
  it("fails the sources check naming the source and both URLs, though the lock kept the manifest's sha256", async () => {
    const moved = "https://elsewhere.test.invalid/debian";
    const file = await edited("moved.lock", (l) => {
      const from = l.sources[0]!.url;
      l.sources[0]!.url = moved;
      for (const a of Object.values(l.architectures)) for (const p of a.packages) p.url = moved + p.url.slice(from.length);
    });
    const r = await cli(["audit", "--lockfile", file, "--config", project.config, "--mirror", server.url, "--cache", join(work, "moved-cache")]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { checks: Array<{ name: string; status: string; detail: string }> };
    expect(report.checks.find((c) => c.name === "manifest")!.status).toBe("ok");
    const failed = report.checks.filter((c) => c.status !== "ok");
    expect(failed).toEqual([{ name: "sources", status: "fail", detail: `source ${lock.sources[0]!.name}: the lock says URL ${moved}, the manifest ${lock.sources[0]!.url}`, hint: "the lock does not match its manifest: run scratch-pkgs lock" }]);
  });
});
