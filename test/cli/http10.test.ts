// Every command that downloads, through the real CLI, against an HTTP/1.0 server that closes
// after each response: once with Content-Length, once with none (the body ends at the close).
// A several-MB package makes undici's parser want to pause mid-body, which crashed undici 7
// at the close (nodejs/undici#5360). A close mid-body must be exit 3 naming the URL.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildArchive, type FixturePackage } from "../fixtures/archive.js";
import { compileCli, runCommand, type CommandRun } from "../fixtures/cli.js";
import { serveHttp10, type Http10Server } from "../fixtures/http10-server.js";
import { bytesOf } from "../fetch/helpers.js";
import { makeKey } from "../sources/pgp-helpers.js";
import { ARCHES, KEY_DATE, MAINTAINER, STABLE_DATE, UPDATES_DATE, removeDir, signDateFor, stablePackages, tempDir, updatesPackages, writeProject } from "../lock/helpers.js";

const BIG_DEB = "/pool/main/b/bigdata/bigdata_1.0-1_all.deb";
let work: string;
let main: string;
let n = 0;
const servers: Record<"length" | "close", Http10Server> = {} as never;
let project: { config: string; lockfile: string };

const bigdata: FixturePackage = {
  suite: "stable",
  control: { Package: "bigdata", Version: "1.0-1", Architecture: "all", Maintainer: MAINTAINER, Description: "bigdata (fixture)" },
  // Incompressible, so the .deb itself is several MB. Only the small README goes into the
  // layers: every command still downloads the whole .deb, but no layer compresses the blob.
  files: [
    { path: "./usr/share/bigdata/blob", type: "file", content: bytesOf(5 * 1024 * 1024, 11), mode: 0o644 },
    { path: "./usr/share/bigdata/README", type: "file", content: "bigdata (fixture)\n", mode: 0o644 },
  ],
  dataCompression: "gz",
  controlCompression: "gz",
};

const cli = (args: string[]): Promise<CommandRun> => runCommand(process.execPath, [main, ...args], { cwd: work });

/** Every file under `dir`, relative. */
async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

beforeAll(async () => {
  work = await tempDir("http10-cli");
  const compile = compileCli(join(work, "build")).then((m) => (main = m));
  const key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
  const root = join(work, "www");
  const common = { root, architectures: [...ARCHES], signWith: [key] };
  await buildArchive({ ...common, suites: ["stable"], packages: [...stablePackages(), bigdata], date: STABLE_DATE, signDate: signDateFor(STABLE_DATE) });
  await buildArchive({ ...common, suites: ["stable-updates"], packages: updatesPackages("v1"), date: UPDATES_DATE, signDate: signDateFor(UPDATES_DATE) });
  servers.length = await serveHttp10(root, { contentLength: true });
  servers.close = await serveHttp10(root, { contentLength: false });
  project = await writeProject(join(work, "project"), key, {
    policy: "closure",
    packages: ["hello"],
    fileSets: { base: {}, "ca-certs": {}, libc: {}, tzdata: {}, bigdata: { packages: ["bigdata"], paths: ["/usr/share/bigdata/README"], exclude: [] } },
  });
  await compile;
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s?.close()));
  if (work) await removeDir(work);
});

/** A fresh cache for every run, so each one downloads everything again. */
const cache = (): string => join(work, `cache${n++}`);

describe.each(["length", "close"] as const)("HTTP/1.0 server, body delimited by %s", (kind) => {
  it("lock, then lock --check, layer, image and audit at once, all succeed", { timeout: 240_000 }, async () => {
    const mirror = servers[kind].url;
    const lockfile = join(work, `${kind}.lock`);
    const lock = await cli(["lock", "--config", project.config, "--lockfile", lockfile, "--mirror", mirror, "--cache", cache(), "--quiet"]);
    expect(lock.stderr).toBe("");
    expect(lock.code).toBe(0);
    const runs = {
      check: ["lock", "--check", "--config", project.config, "--lockfile", lockfile, "--mirror", mirror, "--cache", cache(), "--quiet"],
      layer: ["layer", "--lockfile", lockfile, "--arch", "amd64", "--output", join(work, `${kind}.tar`), "--mirror", mirror, "--cache", cache(), "--quiet"],
      image: ["image", "--lockfile", lockfile, "--output", join(work, `${kind}-oci`), "--mirror", mirror, "--cache", cache(), "--quiet"],
      audit: ["audit", "--config", project.config, "--lockfile", lockfile, "--mirror", mirror, "--cache", cache(), "--quiet"],
    };
    // At once: more connections opened and closed by the server while others are mid-body.
    const results = await Promise.all(Object.entries(runs).map(async ([name, args]) => ({ name, r: await cli(args) })));
    for (const { name, r } of results) expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: "" });
    expect(servers[kind].requests).toContain(BIG_DEB);
  });
});

it("a close mid-body is exit 3 naming the URL, with no .part file and no layer left", { timeout: 120_000 }, async () => {
  const s = servers.length;
  const lockfile = join(work, "truncated.lock");
  const ok = await cli(["lock", "--config", project.config, "--lockfile", lockfile, "--mirror", s.url, "--cache", cache(), "--quiet"]);
  expect(ok.code).toBe(0);
  s.truncate(BIG_DEB, 1024 * 1024);
  try {
    const dir = cache();
    const output = join(work, "truncated.tar");
    const r = await cli(["layer", "--lockfile", lockfile, "--arch", "amd64", "--output", output, "--mirror", s.url, "--cache", dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${s.url}${BIG_DEB}`);
    expect((await files(dir)).filter((f) => f.endsWith(".part"))).toEqual([]);
    expect((await files(work)).filter((f) => f.startsWith(output))).toEqual([]);
  } finally {
    s.truncate(BIG_DEB, undefined);
  }
});
