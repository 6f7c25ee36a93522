/**
 * Live: a path-only file set on trixie amd64, and on bookworm (curl and the libraries it loads,
 * one of them under its /lib spelling) locked against this machine's apt mirror. The package the lock
 * records for each path is what `zgrep` of the very Contents files the lock pins (taken from the
 * cache by the sha256 the lock records) says, and the lock requests exactly those packages.
 * Skips with the reason without a mirror or zgrep, or when the mirror serves a Contents file its
 * signed release does not list (a mirror mid-sync: lock refuses it, and there is nothing to compare).
 */
import { mkdirSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ContentCache } from "../../src/fetch/cache.js";
import { VerificationError } from "../../src/model/errors.js";
import type { Lockfile } from "../../src/model/lock.js";
import { hasCommand } from "../fixtures/deb.js";
import { zgrepContents } from "../lock/contents-oracle.js";
import { lockWith, removeDir } from "../layer/helpers.js";
import { findLiveMirror, liveManifest, LIVE_CACHE, LIVE_RELEASES } from "./mirror.js";

const LIB = "/usr/lib/x86_64-linux-gnu";
/** curl and what `readelf -d` of trixie's curl and libcurl list as NEEDED (a sample: the test needs no exact closure). */
const PATHS = ["/usr/bin/curl", `${LIB}/libcurl.so.4`, `${LIB}/libssl.so.3`, `${LIB}/libcrypto.so.3`, `${LIB}/libnghttp2.so.14`, `${LIB}/libidn2.so.0`, `${LIB}/libzstd.so.1`, "/lib/x86_64-linux-gnu/libz.so.1"];

let work: string | undefined;
afterAll(async () => {
  if (work) await removeDir(work);
});


/** Locks the path-only set on `release`; undefined (with why in `skipped`) when the mirror cannot serve it. */
async function lockOn(release: keyof typeof LIVE_RELEASES, skipped: string[]): Promise<Lockfile | undefined> {
  const found = await findLiveMirror(LIVE_RELEASES[release].suites);
  if (found.skip) return void skipped.push(`${release}: ${found.skip}`);
  work ??= await mkdtemp(join(tmpdir(), "scratch-pkgs-live-paths-"));
  const dir = join(work, release);
  mkdirSync(dir);
  const config = liveManifest(dir, (m) => {
    LIVE_RELEASES[release].edit(m);
    m.architectures = ["amd64"];
    m.fileSets = { curl: { paths: PATHS } };
    (m as unknown as { policy: string }).policy = "none";
  });
  try {
    return (await lockWith({ config, lockfile: join(dir, "scratch.lock"), cache: LIVE_CACHE, mirrors: found.mirror!.mirrors, live: true })).lock;
  } catch (e) {
    // A mirror caught mid-sync (or a stale proxy) serves a Contents file its own signed release
    // does not list: lock rightly refuses it (exit 1), and there is nothing to compare.
    const stale = e instanceof VerificationError && /\/dists\/([^/]+\/main\/Contents-[a-z0-9-]+\.gz): \S+ (is \d+ bytes, expected \d+|has sha256 \S+)/.exec(e.message);
    if (!stale) throw e;
    return void skipped.push(`${release}: the mirror serves a ${stale[1]} that does not match its signed release (${stale[2]})`);
  }
}

describe("live: a path-only file set (amd64)", () => {
  it("records for each path the package zgrep of the pinned Contents names, and locks exactly those: on trixie, or bookworm where the mirror cannot serve trixie", { timeout: 600_000 }, async (ctx) => {
    if (!hasCommand("zgrep", "--version")) return ctx.skip("zgrep is missing");
    const skipped: string[] = [];
    const lock = (await lockOn("trixie", skipped)) ?? (await lockOn("bookworm", skipped));
    if (skipped.length > 0) console.log(`live path-only set: ${skipped.join("; ")}`);
    if (!lock) return ctx.skip(skipped.join("; "));

    const cache = new ContentCache(LIVE_CACHE);
    const files: string[] = [];
    for (const s of lock.sources) for (const suite of s.suites) for (const c of suite.contents ?? []) files.push((await cache.get(c.sha256, c.size))!);
    expect(files.length).toBeGreaterThanOrEqual(3);
    const origins = lock.architectures.amd64!.paths!;
    expect(origins.map((o) => o.path)).toEqual([...PATHS].sort());
    const twin = (p: string) => (p.startsWith("/usr/") ? p.slice(4) : "/usr" + p);
    const said = zgrepContents([...PATHS, ...PATHS.map(twin)], files);
    for (const o of origins) {
      // The spelling the index lists: the path itself, else its merged-/usr twin.
      const listed = said.get(o.path)!.length > 0 ? o.path : twin(o.path);
      expect(o.listed, o.path).toBe(listed);
      expect([o.package], o.path).toEqual(said.get(listed));
    }
    expect(lock.architectures.amd64!.packages.map((p) => p.name)).toEqual([...new Set(origins.map((o) => o.package))].sort());
  });
});
