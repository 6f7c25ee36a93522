// File sets that name only paths: `lock` finds each path's package through the signed Contents
// index of a generated archive (served on 127.0.0.1), records where each path came from, and the
// layer holds the path (listed by GNU tar). Which package ships what is the fixture's own
// definition below; the Contents files are the fixture's, checked against `zcat` here.
import { execFileSync } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContentCache } from "../../src/fetch/cache.js";
import { CheckFailedError, NetworkError, ResolveError } from "../../src/model/errors.js";
import type { Lockfile } from "../../src/model/lock.js";
import { formatWhy, layerProvenance, why } from "../../src/commands/why.js";
import { buildArchive, FIXTURE_DATE, type FixtureArchive, type FixturePackage } from "../fixtures/archive.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { compileCli, runCommand } from "../fixtures/cli.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";
import { KEY_DATE, MAINTAINER, auditWith, layerWith, lockWith, readLock, rejection, removeDir, signDateFor, stablePackages, tempDir, writeProject, type ManifestSpec } from "./helpers.js";

let work: string;
let key: TestKey;
let archive: FixtureArchive;
let server: TestServer;
let n = 0;

const tool = (name: string, arch: string, path: string): FixturePackage => ({
  control: { Package: name, Version: "1.0-1", Architecture: arch, Maintainer: MAINTAINER, Description: `${name} (fixture)`, Section: "utils", Depends: "libc6" },
  files: [{ path: `.${path}`, type: "file", content: `${name} ${arch}\n`, mode: 0o755 }],
  dataCompression: "gz",
  controlCompression: "gz",
});

/**
 * The lock fixture's stable suite, plus: /usr/bin/fetch from another package per architecture,
 * /usr/bin/dup in two packages, and /bin/split in one and its merged-/usr twin in another.
 */
function packages(): FixturePackage[] {
  return [
    ...stablePackages(),
    tool("fetch-x86", "amd64", "/usr/bin/fetch"),
    tool("fetch-arm", "arm64", "/usr/bin/fetch"),
    ...["amd64", "arm64"].flatMap((a) => [tool("dup-a", a, "/usr/bin/dup"), tool("dup-b", a, "/usr/bin/dup"), tool("split-old", a, "/bin/split"), tool("split-new", a, "/usr/bin/split")]),
  ];
}

beforeAll(async () => {
  work = await tempDir("path-only");
  key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
  archive = await buildArchive({ root: join(work, "www"), suites: ["stable"], architectures: ["amd64", "arm64"], packages: packages(), signWith: [key], date: FIXTURE_DATE, signDate: signDateFor(FIXTURE_DATE), contents: true });
  server = await serveDirectory(join(work, "www"));
});

afterAll(async () => {
  await server?.close();
  if (work) await removeDir(work);
});

async function project(spec: ManifestSpec): Promise<{ dir: string; config: string; lockfile: string; cache: string }> {
  const dir = join(work, `p${n++}`);
  const p = await writeProject(dir, key, { suites: ["stable"], ...spec });
  return { ...p, cache: join(dir, "cache") };
}

const run = (p: { config: string; lockfile: string; cache: string }, more: Partial<Parameters<typeof lockWith>[0]> = {}) => lockWith({ ...p, mirror: server.url, ...more });

/** The layer of `arch` built from the lock, listed by `tar -tvf`. */
async function layerListing(p: { dir: string; lockfile: string; cache: string }, arch: string): Promise<string> {
  const output = join(p.dir, `layer-${arch}.tar`);
  await layerWith({ lockfile: p.lockfile, mirror: server.url, cache: p.cache, output, arch });
  return execFileSync("tar", ["-tvf", output], { encoding: "utf8" });
}

const pkgNames = (lock: Lockfile, arch: string): string[] => lock.architectures[arch]!.packages.map((p) => p.name);

describe("a file set of paths alone", () => {
  it("finds the one package that ships the path, resolves it as if named, records where the path came from, and the layer holds it", async () => {
    // The fixture's Contents, read by zcat alone: hello ships usr/bin/hello.
    const contents = execFileSync("sh", ["-c", `zcat '${join(archive.root, "dists/stable/main/Contents-amd64.gz")}' | grep '^usr/bin/hello '`], { encoding: "utf8" });
    expect(contents.trim().split(/\s+/)).toEqual(["usr/bin/hello", "misc/hello"]);

    const p = await project({ policy: "closure", fileSets: { tools: { paths: ["/usr/bin/hello"] } } });
    await run(p);
    const lock = await readLock(p.lockfile);
    expect(lock.lockfileVersion).toBe("1.3.0");
    for (const arch of ["amd64", "arm64"]) {
      expect(lock.architectures[arch]!.paths).toEqual([{ set: "tools", path: "/usr/bin/hello", listed: "/usr/bin/hello", package: "hello" }]);
      // The closure, as for a set naming "hello": its Depends follow.
      expect(pkgNames(lock, arch)).toEqual(["gcc-12-base", "hello", "libc6", "libgcc-s1"]);
      const hello = lock.architectures[arch]!.packages.find((x) => x.name === "hello")!;
      expect(hello.reasons).toEqual(["file set tools"]);
      expect(hello.select.find((r) => r.set === "tools")).toEqual({ set: "tools", include: ["/usr/bin/hello"], exclude: [] });
    }
    // The Contents indexes read, pinned as the signed Release lists them.
    const stable = archive.suites.get("stable")!;
    expect(lock.sources[0]!.suites[0]!.contents).toEqual(
      ["all", "amd64", "arm64"].map((a) => ({ component: "main", architecture: a, path: `main/Contents-${a}.gz`, sha256: stable.indexes.get(`main/Contents-${a}.gz`)!.sha256, size: stable.indexes.get(`main/Contents-${a}.gz`)!.size })),
    );
    expect(await layerListing(p, "amd64")).toMatch(/^-rwxr-xr-x 0\/0 +\d+ [\d-]+ [\d:]+ usr\/bin\/hello$/m);

    const output = join(p.dir, "layer-amd64.tar");
    const answer = why(lock, "/usr/bin/hello", "amd64", await layerProvenance(lock, new ContentCache(p.cache), [`${output}.provenance.jsonl`], "amd64"));
    expect(answer.matches.map((m) => [m.package, m.contents])).toEqual([["hello", [{ set: "tools", path: "/usr/bin/hello", listed: "/usr/bin/hello" }]]]);
    expect(formatWhy(answer)).toContain("  file set tools names /usr/bin/hello: through the archive's signed Contents index, hello ships it");
  });

  it("audit looks the recorded paths up again in the signed Contents and fails a lock whose answer they do not give", async () => {
    const p = await project({ policy: "closure", fileSets: { tools: { paths: ["/usr/bin/hello"] } } });
    await run(p);
    const good = await auditWith({ ...p, mirror: server.url });
    expect(good.checks.filter((c) => c.name.startsWith("paths "))).toEqual([
      { name: "paths amd64", status: "ok", detail: "1 path of path-only sets, each shipped by its recorded package as the signed Contents indexes say" },
      { name: "paths arm64", status: "ok", detail: "1 path of path-only sets, each shipped by its recorded package as the signed Contents indexes say" },
    ]);
    expect(good.ok).toBe(true);
    // An edited lock: the path said to come from another locked package.
    const lock = await readLock(p.lockfile);
    lock.architectures.amd64!.paths![0]!.package = "libc6";
    await writeFile(p.lockfile, JSON.stringify(lock));
    const bad = await auditWith({ ...p, mirror: server.url });
    expect(bad.ok).toBe(false);
    expect(bad.checks.find((c) => c.name === "paths amd64")).toEqual({ name: "paths amd64", status: "fail", detail: "/usr/bin/hello (file set tools): the lock says libc6, the Contents indexes say hello" });
  });

  it("takes the package's own spelling of a merged-/usr twin: /usr/lib/… asked, /lib/… shipped", async () => {
    const p = await project({ architectures: ["amd64"], fileSets: { c: { paths: ["/usr/lib/x86_64-linux-gnu/libc.so.6"] } } });
    await run(p);
    const lock = await readLock(p.lockfile);
    expect(lock.architectures.amd64!.paths).toEqual([{ set: "c", path: "/usr/lib/x86_64-linux-gnu/libc.so.6", listed: "/lib/x86_64-linux-gnu/libc.so.6", package: "libc6" }]);
    const listing = await layerListing(p, "amd64");
    expect(listing).toMatch(/ lib\/x86_64-linux-gnu\/libc\.so\.6$/m);
    expect(listing).not.toMatch(/libc\.so\.6\n[\s\S]*libc\.so\.6/); // once, under the package's spelling
  });

  it("looks a set scoped to some architectures up there only: a triplet path on a two-architecture manifest", async () => {
    const p = await project({ fileSets: { c: { paths: ["/usr/lib/x86_64-linux-gnu/libc.so.6"], architectures: ["amd64"] } } });
    await run(p);
    const lock = await readLock(p.lockfile);
    expect(lock.architectures.amd64!.paths?.map((o) => o.package)).toEqual(["libc6"]);
    expect(lock.architectures.arm64!.paths).toBeUndefined();
    expect(pkgNames(lock, "arm64")).toEqual([]);
    // Only amd64's Contents (and all) were read.
    expect(lock.sources[0]!.suites[0]!.contents?.map((c) => c.architecture)).toEqual(["all", "amd64"]);
    // Unscoped, the path is in no arm64 package.
    const unscoped = await project({ fileSets: { c: { paths: ["/usr/lib/x86_64-linux-gnu/libc.so.6"] } } });
    expect((await rejection(run(unscoped))).message).toContain("the Contents indexes of arm64 (and all)");
  });

  it("looks each architecture up in its own Contents: another package where another ships the path", async () => {
    const p = await project({ fileSets: { f: { paths: ["/usr/bin/fetch"] } } });
    await run(p);
    const lock = await readLock(p.lockfile);
    expect(lock.architectures.amd64!.paths?.map((o) => o.package)).toEqual(["fetch-x86"]);
    expect(lock.architectures.arm64!.paths?.map((o) => o.package)).toEqual(["fetch-arm"]);
    expect(pkgNames(lock, "amd64")).toEqual(["fetch-x86"]);
    expect(pkgNames(lock, "arm64")).toEqual(["fetch-arm"]);
    for (const arch of ["amd64", "arm64"]) expect(await layerListing(p, arch)).toMatch(/ usr\/bin\/fetch$/m);
  });

  it("fails with exit 2 naming the path, the set, the suites and the architecture when no package ships it, writing nothing", async () => {
    const p = await project({ fileSets: { tools: { paths: ["/usr/bin/hello", "/usr/bin/no-such-tool"] } } });
    const e = await rejection(run(p));
    expect(e).toBeInstanceOf(ResolveError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe("the Contents indexes of amd64 (and all) in debian stable (main) give no single package for a path:\n  /usr/bin/no-such-tool (file set tools): no package ships it");
    expect(e.hint).toMatch(/apt-file search/);
    await expect(readFile(p.lockfile)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("fails with exit 2 naming both packages when two ship the path; naming one in packages settles it", async () => {
    const p = await project({ fileSets: { d: { paths: ["/usr/bin/dup"] } } });
    const e = await rejection(run(p));
    expect(e).toBeInstanceOf(ResolveError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("/usr/bin/dup (file set d): 2 packages ship it: dup-a, dup-b");
    expect(e.hint).toContain('"packages": ["NAME"]');
    const twins = await rejection(run(await project({ fileSets: { s: { paths: ["/bin/split"] } } })));
    expect(twins.message).toContain("/bin/split (file set s): 2 packages ship it: split-new (as /usr/bin/split), split-old");

    const picked = await project({ fileSets: { d: { packages: ["dup-b"], paths: ["/usr/bin/dup"] } } });
    await run(picked);
    const lock = await readLock(picked.lockfile);
    expect(pkgNames(lock, "amd64")).toEqual(["dup-b"]);
    expect(lock.architectures.amd64!.paths).toBeUndefined();
    expect(lock.sources[0]!.suites[0]!.contents).toBeUndefined();
  });

  it("on the command line: lock --json says exit 2 and kind resolve for a path no package ships; why /PATH names the Contents origin", async () => {
    const main = await compileCli(join(work, "cli"));
    const cli = (args: string[]) => runCommand(process.execPath, [main, ...args], { cwd: work });
    const p = await project({ fileSets: { tools: { paths: ["/usr/bin/hello", "/usr/bin/no-such-tool"] } } });
    const flags = ["--config", p.config, "--lockfile", p.lockfile, "--mirror", server.url, "--cache", p.cache];
    const bad = await cli(["lock", "--json", ...flags]);
    expect(bad.code).toBe(2);
    const doc = JSON.parse(bad.stdout) as { ok: boolean; error: { kind: string; message: string; exitCode: number } };
    expect(doc).toMatchObject({ ok: false, error: { kind: "resolve", exitCode: 2 } });
    expect(doc.error.message).toContain("/usr/bin/no-such-tool (file set tools): no package ships it");

    const m = JSON.parse(await readFile(p.config, "utf8")) as { fileSets: { tools: { paths: string[] } } };
    m.fileSets.tools.paths = ["/usr/bin/hello"];
    await writeFile(p.config, JSON.stringify(m));
    const ok = await cli(["lock", "--quiet", ...flags]);
    expect(ok.code, ok.stderr).toBe(0);
    const text = await cli(["why", "/usr/bin/hello", "--lockfile", p.lockfile, "--cache", p.cache, "--arch", "amd64"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("  file set tools names /usr/bin/hello: through the archive's signed Contents index, hello ships it\n");
    const json = await cli(["why", "/usr/bin/hello", "--json", "--lockfile", p.lockfile, "--cache", p.cache, "--arch", "amd64"]);
    expect(JSON.stringify(JSON.parse(json.stdout))).toContain('"contents":[{"set":"tools","path":"/usr/bin/hello","listed":"/usr/bin/hello"}]');
  });

  it("re-locks without reading Contents while the lock records the answer from the same signed indexes; reads them (the cache when offline) once they or the paths differ", async () => {
    const p = await project({ fileSets: { tools: { paths: ["/usr/bin/hello"] } } });
    await run(p);
    const first = await readFile(p.lockfile, "utf8");
    // A mirror without any Contents file (named or by hash): a lookup there fails with exit 3.
    const bare = join(work, "bare");
    execFileSync("cp", ["-a", archive.root, bare]);
    for (const [rel, { sha256 }] of archive.suites.get("stable")!.indexes) {
      if (!rel.includes("/Contents-")) continue;
      await rm(join(bare, "dists/stable", rel), { force: true });
      await rm(join(bare, "dists/stable/main/by-hash/SHA256", sha256), { force: true });
    }
    const bareServer = await serveDirectory(bare);
    try {
      const fresh = join(p.dir, "fresh-cache");
      // The answer is reused: nothing of Contents is fetched, --check passes from an empty cache.
      await lockWith({ ...p, cache: fresh, mirror: bareServer.url, check: true });
      expect(await readFile(p.lockfile, "utf8")).toBe(first);

      // The recorded index is not the one the release lists now: looked up again (and not there).
      const lock = JSON.parse(first) as Lockfile;
      lock.sources[0]!.suites[0]!.contents![1]!.sha256 = "0".repeat(64);
      await writeFile(p.lockfile, JSON.stringify(lock));
      const e = await rejection(lockWith({ ...p, cache: join(p.dir, "fresh-2"), mirror: bareServer.url }));
      expect(e).toBeInstanceOf(NetworkError);
      expect(e.message).toMatch(/Contents-(amd64|all)/);
      await writeFile(p.lockfile, first);
      // --update looks everything up again.
      expect(await rejection(lockWith({ ...p, cache: join(p.dir, "fresh-3"), mirror: bareServer.url, update: true }))).toBeInstanceOf(NetworkError);
    } finally {
      await bareServer.close();
    }

    // Another path: looked up again, offline from the cache the first lock filled (hello's .deb is there too).
    await writeFile(p.config, (await readFile(p.config, "utf8")).replace('"/usr/bin/hello"', '"/usr/share/doc/hello/copyright"'));
    const stale = await rejection(run(p, { check: true, offline: true }));
    expect(stale).toBeInstanceOf(CheckFailedError);
    expect(stale.message).toContain("amd64: - path /usr/bin/hello (file set tools) from hello");
    expect(stale.message).toContain("amd64: + path /usr/share/doc/hello/copyright (file set tools) from hello");
    await run(p, { offline: true });
    expect((await readLock(p.lockfile)).architectures.arm64!.paths).toEqual([{ set: "tools", path: "/usr/share/doc/hello/copyright", listed: "/usr/share/doc/hello/copyright", package: "hello" }]);
  });
});
