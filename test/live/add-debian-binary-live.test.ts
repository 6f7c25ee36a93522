/**
 * Live: `add` of a binary taken from Debian itself, end to end through this machine's apt
 * mirror: trixie's node and python3.13 (whose standard library no ELF header names: it comes
 * with its package). Each comes out of its package's .deb (nodejs, python3.13-minimal), the
 * record chosen as lock chooses (the resolver over the example's verified trixie suites) and
 * fetched pinned by that record's sha256; then on the command line, as a user runs it on an
 * amd64 copy of the example holding only `base`: `add BINARY --mirror …` (its needs through the
 * suites' signed Contents, then the re-lock), `layer`, and in the layer `chroot ROOTFS
 * /usr/bin/node -e "console.log(6*7)"` (python3.13 -c "print(6*7)") prints 42. The binary is
 * its package's own file, so that package is requested whole besides the set of its libraries,
 * and the layer's copy is the one run. The set's paths and packages are readelf's and
 * dpkg-deb's answer over the .debs the lock pins (fetched the same way, through the same
 * cache). Where the mirror serves a trixie Contents file its signed release does not list,
 * the same runs on bookworm (node 18, python3.11: Contents gives /usr/bin/python3.11 to
 * python3.11-minimal and python3.11-nopie, and the bytes tell them apart). Skips with the
 * reason without a mirror of either, root, chroot or dpkg-deb.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { packageUrls } from "../../src/layer/urls.js";
import { readIndexes } from "../../src/lock/indexes.js";
import { verifySuites } from "../../src/lock/suites.js";
import { loadManifest } from "../../src/manifest/load.js";
import type { LockedPackage, Lockfile } from "../../src/model/lock.js";
import { resolve } from "../../src/resolve/resolver.js";
import { Universe } from "../../src/resolve/universe.js";
import { chooseIndexes } from "../../src/sources/index-choice.js";
import { planMirrors } from "../../src/sources/mirrors.js";
import { needsFromTools } from "../fixtures/binary-needs.js";
import { hasCommand } from "../fixtures/deb.js";
import { cleanEnv, compileCli, removeDir, run, tempDir } from "../layer/helpers.js";
import { findLiveMirror, liveManifest, LIVE_CACHE, LIVE_RELEASES, type LiveMirror } from "./mirror.js";

let skip: string | undefined;
let work: string;
let main: string;

beforeAll(async () => {
  if (process.arch !== "x64") skip = "the amd64 .debs' programs run on an amd64 machine only";
  else if (process.getuid?.() !== 0 || !hasCommand("chroot", "--version")) skip = "running the programs in the layer needs root and chroot";
  else if (!hasCommand("dpkg-deb")) skip = "dpkg-deb is missing";
  if (skip) {
    console.log(`live add of Debian binaries skipped: ${skip}`);
    return;
  }
  work = await tempDir("add-debian-binary-live-");
  main = await compileCli(join(work, "build"));
}, 240_000);
afterAll(async () => {
  if (work) await removeDir(work);
});

type Pinned = Pick<LockedPackage, "name" | "source" | "suite" | "url" | "sha256" | "size">;

/**
 * The manifest's amd64 package records for `names` as lock would choose them (the resolver over
 * its verified suites), or, given `pinned`, those: each .deb fetched through the live cache,
 * pinned by sha256 and size. Name → path.
 */
async function fetchDebs(mirror: LiveMirror, config: string, want: { names: string[] } | { pinned: Pinned[] }): Promise<Map<string, string>> {
  const http = new HttpClient({});
  try {
    const fetcher = new Fetcher({ cache: new ContentCache(LIVE_CACHE), http, offline: false, progress: silentProgress });
    const { manifest, dir } = await loadManifest(config);
    const mirrors = planMirrors(manifest.sources, { mirrors: mirror.mirrors });
    let pinned: Pinned[];
    if ("pinned" in want) pinned = want.pinned;
    else {
      const suites = await verifySuites(manifest, dir, mirrors, { fetcher, now: new Date() });
      const choices = suites.flatMap((vs) => chooseIndexes(vs, manifest.sources.find((s) => s.name === vs.ref.source)!.components, "amd64").map((choice) => ({ vs, choice })));
      const universe = new Universe("amd64", await readIndexes(fetcher, choices));
      pinned = resolve(universe, want.names.map((name) => ({ name, reason: "test" })), "none").packages.map(({ record: r }) => {
        const source = manifest.sources.find((s) => s.name === r.origin.source)!;
        return { name: r.name, source: source.name, suite: r.origin.suite, url: `${source.url}/${r.filename}`, sha256: r.sha256, size: r.size };
      });
    }
    const out = new Map<string, string>();
    for (const p of pinned) out.set(p.name, await fetcher.fetchPinned({ urls: packageUrls(manifest.sources, mirrors, p), sha256: p.sha256, size: p.size, label: p.url }));
    return out;
  } finally {
    await http.close();
  }
}

type Release = keyof typeof LIVE_RELEASES;

/** Binaries taken from Debian, per release: the package shipping it in /usr/bin, a library its set must have; and a run that prints 42. */
const CASES = [
  { kind: "node", args: ["-e", "console.log(6*7)"], on: { trixie: { name: "node", pkg: "nodejs", library: "libnode115" }, bookworm: { name: "node", pkg: "nodejs", library: "libnode108" } } },
  { kind: "python", args: ["-c", "print(6*7)"], on: { trixie: { name: "python3.13", pkg: "python3.13-minimal", library: "libc6" }, bookworm: { name: "python3.11", pkg: "python3.11-minimal", library: "libc6" } } },
] as const;

/**
 * The case on `release`, as a user runs it; undefined when done, else why it could not run
 * there (no mirror of it, or a Contents file the mirror serves that its signed release does not list).
 */
async function runOn(release: Release, c: (typeof CASES)[number]): Promise<string | undefined> {
  const found = await findLiveMirror(LIVE_RELEASES[release].suites);
  if (found.skip) return `${release}: ${found.skip}`;
  const mirror = found.mirror!;
  const { name, pkg, library } = c.on[release];
  const dir = join(work, `${c.kind}-${release}`);
  mkdirSync(dir);
  const config = liveManifest(dir, (m) => {
    LIVE_RELEASES[release].edit(m);
    m.architectures = ["amd64"];
    m.fileSets = { base: {} };
  });
  const lockfile = join(dir, "scratch.lock");
  const fetch = [...mirror.mirrorFlags, "--cache", LIVE_CACHE];

  const deb = (await fetchDebs(mirror, config, { names: [pkg] })).get(pkg)!;
  const unpacked = join(dir, "unpacked");
  execFileSync("dpkg-deb", ["-x", deb, unpacked]);
  const binary = join(dir, name);
  copyFileSync(join(unpacked, "usr/bin", name), binary);

  const cli = (a: string[]) => run(process.execPath, [main, ...a], { cwd: dir, env: cleanEnv() });
  const added = await cli(["add", binary, "--config", config, "--lockfile", lockfile, ...fetch]);
  const err = added.stderr.toString();
  // A mirror caught between syncs serves a Contents file its signed release does not list: refused (exit 1), and nothing to run.
  if (added.code === 1 && /Contents-/.test(err)) return `${release}: the mirror's Contents does not match its signed release: ${err.trim().split("\n")[0]}`;
  expect(added.code, err).toBe(0);

  const manifest = JSON.parse(readFileSync(config, "utf8")) as { packages?: unknown[]; fileSets: Record<string, { packages: string[]; paths: string[] }> };
  const set = manifest.fileSets[`${name.replace(/[^a-z0-9]+/g, "-")}-amd64`]!;
  // The independent answer: readelf's interpreter and DT_NEEDED looked up by dpkg-deb among the .debs the lock pins.
  const lock = JSON.parse(readFileSync(lockfile, "utf8")) as Lockfile;
  const debs = await fetchDebs(mirror, config, { pinned: lock.architectures.amd64!.packages });
  const want = needsFromTools(binary, "amd64", [...debs].map(([p, d]) => ({ package: p, deb: d })));
  expect(want.unresolved).toEqual([]);
  expect(set.paths).toEqual(want.files.map((f) => f.path));
  expect(set.packages).toEqual([...new Set(want.files.map((f) => f.package))].sort());
  expect(set.packages).toContain(library);
  // The binary is that package's /usr/bin/NAME, byte for byte: the package is requested whole.
  expect(manifest.packages).toEqual([pkg]);

  const tar = join(dir, "amd64.tar");
  const layer = await cli(["layer", "--lockfile", lockfile, "--arch", "amd64", "--output", tar, ...fetch]);
  expect(layer.code, layer.stderr.toString()).toBe(0);
  const rootfs = join(dir, "rootfs");
  mkdirSync(rootfs);
  execFileSync("tar", ["-xf", tar, "-C", rootfs]);
  // The layer's own copy, from the package: what an image's entrypoint would run.
  expect(readFileSync(join(rootfs, "usr/bin", name)).equals(readFileSync(binary))).toBe(true);
  expect(execFileSync("chroot", [rootfs, `/usr/bin/${name}`, ...c.args], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin" } })).toBe("42\n");
  return undefined;
}

describe.each(CASES)("live: add a binary from Debian ($kind)", (c) => {
  it("add writes its library set and requests its package whole, lock and layer take them, and it runs with chroot in the layer: on trixie, or bookworm where the mirror cannot serve trixie", async (ctx) => {
    if (skip) return ctx.skip(skip);
    const skipped: string[] = [];
    for (const release of ["trixie", "bookworm"] as const) {
      const why = await runOn(release, c);
      if (why === undefined) break;
      skipped.push(why);
    }
    if (skipped.length > 0) console.log(`live add of ${c.kind}: ${skipped.join("; ")}`);
    if (skipped.length === 2) return ctx.skip(skipped.join("; "));
  }, 900_000);
});
