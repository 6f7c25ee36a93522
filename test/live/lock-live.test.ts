/**
 * Live: lock the project's own scratch.json against this machine's apt mirror (--mirror per source),
 * then check every locked package against the real index fetched and read by independent
 * tools (curl, xz, and dpkg's own field reading via grep-free awk), not by our code.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EXAMPLE_SUITES, findLiveMirror, liveManifest, LIVE_CACHE, type LiveMirror } from "./mirror.js";
import type { Lockfile } from "../../src/model/lock.js";
import { compileCli } from "../fixtures/cli.js";
import { removeDir } from "../lock/helpers.js";

const ROOT = resolve(import.meta.dirname, "../..");

let mirror: LiveMirror | undefined;
let skip: string | undefined;
let dir: string;
let cli: string;

beforeAll(async () => {
  ({ mirror, skip } = await findLiveMirror(EXAMPLE_SUITES));
  if (skip) return console.log(`live lock test skipped: ${skip}`);
  dir = mkdtempSync(join(tmpdir(), "scratch-live-"));
  cli = await compileCli(join(dir, "build"));
});
afterAll(async () => {
  if (dir) await removeDir(dir);
});

/** Package stanzas of one index, read by curl + xz + awk: independent of our HTTP client and parser. */
function independentIndex(url: string): Map<string, { version: string; size: number; sha256: string; filename: string }[]> {
  const script = `curl -fsSL --retry 3 '${url}' | xz -dc | awk -v RS= -F'\\n' '{
      p=""; v=""; s=""; h=""; f="";
      for (i=1;i<=NF;i++) {
        if ($i ~ /^Package: /) p=substr($i,10);
        else if ($i ~ /^Version: /) v=substr($i,10);
        else if ($i ~ /^Size: /) s=substr($i,7);
        else if ($i ~ /^SHA256: /) h=substr($i,9);
        else if ($i ~ /^Filename: /) f=substr($i,11);
      }
      print p "\\t" v "\\t" s "\\t" h "\\t" f }'`;
  const out = execFileSync("sh", ["-c", script], { maxBuffer: 512 * 1024 * 1024 }).toString();
  const m = new Map<string, { version: string; size: number; sha256: string; filename: string }[]>();
  for (const line of out.split("\n")) {
    if (!line) continue;
    const [p, v, s, h, f] = line.split("\t");
    const list = m.get(p!) ?? [];
    list.push({ version: v!, size: Number(s), sha256: h!, filename: f! });
    m.set(p!, list);
  }
  return m;
}

describe("live: lock the example manifest against this machine's apt mirror", () => {
  it("locks trixie libc, ca-certs, tzdata and base for amd64 and arm64, and every package matches the real index", async (ctx) => {
    if (!mirror) return ctx.skip(skip);
    const lockfile = join(dir, "scratch.lock");
    const config = liveManifest(dir);
    // The live tests' shared cache: the .debs layer-live or an earlier run fetched are reused
    // (each re-hashed on use); the signed releases are always fetched again.
    execFileSync(process.execPath, [cli, "lock", "--config", config, "--lockfile", lockfile, ...mirror.mirrorFlags, "--cache", LIVE_CACHE, "--quiet"], {
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 600_000,
    });
    const lock = JSON.parse(readFileSync(lockfile, "utf8")) as Lockfile;
    const manifest = JSON.parse(readFileSync(config, "utf8")) as { sources: Array<{ url: string }> };
    expect(Object.keys(lock.architectures).sort()).toEqual(["amd64", "arm64"]);
    for (const arch of ["amd64", "arm64"]) {
      const names = lock.architectures[arch]!.packages.map((p) => p.name);
      for (const want of ["libc6", "ca-certificates", "tzdata", "base-files", "netbase"]) expect(names).toContain(want);
      for (const pkg of lock.architectures[arch]!.packages) {
        // The lock keeps the manifest's URL, never the mirror's.
        expect(manifest.sources.some((s) => pkg.url.startsWith(s.url + "/pool/"))).toBe(true);
        const suite = lock.sources.find((s) => s.name === pkg.source)!.suites.find((s) => s.suite === pkg.suite)!;
        const index = suite.indexes.find((i) => i.component === pkg.component && (i.architecture === arch || i.architecture === "all"))!;
        const url = `${mirror.baseFor(pkg.suite)}/dists/${pkg.suite}/${index.path}`;
        const stanzas = indexCache.get(url) ?? indexCache.set(url, independentIndex(url)).get(url)!;
        const entry = (stanzas.get(pkg.name) ?? []).find((e) => e.version === pkg.version);
        expect(entry, `${pkg.name} ${pkg.version} in ${url}`).toBeDefined();
        expect(pkg.sha256).toBe(entry!.sha256);
        expect(pkg.size).toBe(entry!.size);
        expect(pkg.url.endsWith("/" + entry!.filename)).toBe(true);
      }
    }
    // The loader's package is the highest version across the example's suites, as apt would
    // pick: every libc6 of their real amd64 indexes (read by curl, xz and awk), none newer.
    // (This machine's apt sources carry its own release, not necessarily the example's.)
    const versions = lock.sources.flatMap((s) =>
      s.suites.flatMap((suite) =>
        suite.indexes
          .filter((i) => i.architecture === "amd64")
          .flatMap((i) => {
            const url = `${mirror!.baseFor(suite.suite)}/dists/${suite.suite}/${i.path}`;
            const stanzas = indexCache.get(url) ?? indexCache.set(url, independentIndex(url)).get(url)!;
            return (stanzas.get("libc6") ?? []).map((e) => e.version);
          }),
      ),
    );
    expect(versions.length).toBeGreaterThan(0);
    {
      const chosen = lock.architectures.amd64!.packages.find((p) => p.name === "libc6")!.version;
      for (const v of versions) {
        const newer = execFileSync("sh", ["-c", `dpkg --compare-versions '${v}' gt '${chosen}' && echo yes || echo no`]).toString().trim();
        expect(newer, `the index has libc6 ${v}, newer than the locked ${chosen}`).toBe("no");
      }
    }
    // A cold lock (both indexes and every .deb downloaded, on a first run) on a loaded machine: the 60 s default
    // would fail it after the fact (the lock blocks the event loop), so beyond the lock's own 600 s.
  }, 620_000);
});

const indexCache = new Map<string, ReturnType<typeof independentIndex>>();
