/**
 * Path-only file sets against real data offline: the recorded bookworm-updates release in
 * snapshots/ (its signed InRelease, Packages and Contents indexes, and the ca-certificates .deb
 * it lists), served as a `file:` mirror. Which package ships a path is what `zgrep` of the same
 * Contents file says; the layer's bytes of the path are what `dpkg-deb --fsys-tarfile` of the
 * .deb gives.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { ResolveError } from "../../src/model/errors.js";
import { parseManifest } from "../../src/manifest/validate.js";
import { askedPaths } from "../../src/lock/plan.js";
import { contentsChoices, findPathOrigins } from "../../src/lock/contents-paths.js";
import { verifyRelease } from "../../src/sources/archive.js";
import { readKeyring } from "../../src/sources/keyring.js";
import { zgrepContents } from "./contents-oracle.js";
import { layerWith, lockWith, readLock, rejection, removeDir, repoRoot, sha256, tempDir } from "./helpers.js";

const SUITE = "bookworm-updates";
const DEBIAN = join(repoRoot, "snapshots/debian");
const CONTENTS = (arch: string) => join(DEBIAN, "dists", SUITE, "main", `Contents-${arch}.gz`);
const URL_ = "https://snapshot.debian.org/archive/debian/20261122T000000Z";
const CERT = "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt";

/** The packages `zgrep` finds for `path` in the recorded Contents files of `arch` and all. */
const zgrep = (path: string, arch: string): string[] => zgrepContents([path], [CONTENTS(arch), CONTENTS("all")]).get(path)!;

function manifest(fileSets: Record<string, unknown>): string {
  const m = {
    sources: [{ name: "debian", url: URL_, suites: [SUITE], keyring: join(repoRoot, "keys/debian-archive-bookworm.asc"), allowExpired: true }],
    architectures: ["amd64", "arm64"],
    fileSets,
  };
  return JSON.stringify(m, null, 2) + "\n";
}

let work: string;
let n = 0;

beforeAll(async () => {
  work = await tempDir("path-only-snapshots");
});
afterAll(async () => {
  if (work) await removeDir(work);
});

async function project(fileSets: Record<string, unknown>) {
  const dir = join(work, `p${n++}`);
  await mkdir(dir, { recursive: true });
  const config = join(dir, "scratch.json");
  await writeFile(config, manifest(fileSets));
  return { dir, config, lockfile: join(dir, "scratch.lock"), cache: join(dir, "cache"), mirror: pathToFileURL(DEBIAN).href };
}

describe("path-only sets on the recorded bookworm-updates", () => {
  it("locks the package zgrep names for a path, and the layer holds the path with the .deb's bytes", async () => {
    expect(zgrep(CERT, "amd64")).toEqual(["ca-certificates"]);
    const p = await project({ roots: { paths: [CERT] } });
    await lockWith(p);
    const lock = await readLock(p.lockfile);
    for (const arch of ["amd64", "arm64"]) {
      expect(lock.architectures[arch]!.paths).toEqual([{ set: "roots", path: CERT, listed: CERT, package: zgrep(CERT, arch)[0] }]);
      expect(lock.architectures[arch]!.packages.map((x) => x.name)).toEqual(["ca-certificates"]);
    }
    const output = join(p.dir, "layer.tar");
    await layerWith({ lockfile: p.lockfile, mirror: p.mirror, cache: p.cache, output, arch: "amd64" });
    expect(execFileSync("tar", ["-tvf", output], { encoding: "utf8" })).toMatch(new RegExp(`^-rw-r--r-- 0/0 .* ${CERT.slice(1).replace(/\./g, "\\.")}$`, "m"));
    const pkg = lock.architectures.amd64!.packages[0]!;
    const deb = join(DEBIAN, new URL(pkg.url).pathname.replace(/^\/archive\/debian\/\d+T\d+Z\//, ""));
    const fromDeb = execFileSync("sh", ["-c", `dpkg-deb --fsys-tarfile '${deb}' | tar -xOf - '.${CERT}'`]);
    expect(sha256(execFileSync("tar", ["-xOf", output, CERT.slice(1)]))).toBe(sha256(fromDeb));
  });

  it("fails with exit 2 for a path no package ships (a generated file), as zgrep finds no line", async () => {
    const bundle = "/etc/ssl/certs/ca-certificates.crt";
    expect(zgrep(bundle, "amd64")).toEqual([]);
    const p = await project({ roots: { paths: [CERT, bundle] } });
    const e = await rejection(lockWith(p));
    expect(e).toBeInstanceOf(ResolveError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`the Contents indexes of amd64 (and all) in debian ${SUITE} (main) give no single package for a path:\n  ${bundle} (file set roots): no package ships it`);
    expect(e.hint).toContain("built-in file set");
    await expect(readFile(p.lockfile)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("finds a path under its merged-/usr twin, per architecture, as zgrep of the twin says", async () => {
    // bookworm ships libnss_winbind in /lib and libcrypto in /usr/lib; each is asked under the other spelling.
    const asked = { "amd64": ["/usr/lib/x86_64-linux-gnu/libnss_winbind.so.2", "/lib/x86_64-linux-gnu/libcrypto.so.3"], "arm64": ["/usr/lib/aarch64-linux-gnu/libnss_winbind.so.2", "/lib/aarch64-linux-gnu/libcrypto.so.3"] };
    const http = new HttpClient({});
    try {
      const fetcher = new Fetcher({ cache: new ContentCache(join(work, "twin-cache")), http, offline: false, progress: silentProgress });
      const ref = { source: "debian", url: URL_, suite: SUITE, bases: [pathToFileURL(DEBIAN).href], keyring: await readKeyring(join(repoRoot, "keys/debian-archive-bookworm.asc")), allowExpired: true };
      const vs = await verifyRelease(ref, { path: "InRelease", bytes: await readFile(join(DEBIAN, "dists", SUITE, "InRelease")) }, new Date(Date.UTC(2026, 10, 22)));
      for (const [arch, paths] of Object.entries(asked)) {
        const m = parseManifest(manifest({ twins: { paths } }), "scratch.json");
        const origins = await findPathOrigins(fetcher, { manifest: m, arch, suites: [vs], asked: askedPaths(m, arch), choices: contentsChoices(m, [vs], arch) });
        const twin = (p: string) => (p.startsWith("/usr/") ? p.slice(4) : "/usr" + p);
        expect(origins).toEqual([...paths].sort().map((path) => ({ set: "twins", path, listed: twin(path), package: zgrep(twin(path), arch)[0] })));
        for (const path of paths) {
          expect(zgrep(path, arch)).toEqual([]);
          expect(zgrep(twin(path), arch)).toHaveLength(1);
        }
      }
    } finally {
      await http.close();
    }
  });
});
