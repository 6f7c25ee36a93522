/**
 * Live: `add` of a binary taken from Debian itself, end to end through this machine's apt
 * mirror: trixie's node and python3.13 (whose standard library no ELF header names: it comes
 * with its package). Each comes out of its package's .deb (nodejs, python3.13-minimal), the
 * record chosen as lock chooses (the resolver over the example's verified trixie suites) and
 * fetched pinned by that record's sha256; then on the command line, as a user runs it on an
 * amd64 copy of the example holding only `base`: one `add NODE PYTHON --mirror …` of both (their
 * needs through the suites' signed Contents, then the re-lock), one `layer`, and in the layer `chroot ROOTFS
 * /usr/bin/node -e "console.log(6*7)"` (python3.13 -c "print(6*7)") prints 42. The binary is
 * its package's own file, so that package is requested whole besides the set of its libraries,
 * and the layer's copy is the one run. Each binary's set, package and run are checked on their
 * own (one test each) over that one run. The set's paths and packages are readelf's and
 * dpkg-deb's answer over the .debs the lock pins (fetched the same way, through the same
 * cache). Where the mirror serves a trixie Contents file its signed release does not list
 * (fetched pinned first, as add fetches it, before anything else is done on trixie),
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
import { VerificationError } from "../../src/model/errors.js";
import type { LockedPackage, Lockfile } from "../../src/model/lock.js";
import { resolve } from "../../src/resolve/resolver.js";
import { Universe } from "../../src/resolve/universe.js";
import type { VerifiedSuite } from "../../src/sources/archive.js";
import { chooseContents } from "../../src/sources/contents.js";
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
 * pinned by sha256 and size. Name → path. With `names`, first the suites' Contents-amd64 that
 * `add` reads, fetched pinned into the same cache as add fetches them: where the mirror serves
 * one its signed release does not list, nothing can run on this release, and the answer is
 * why (found before the indexes are parsed and the CLI run; add would refuse the same file).
 */
async function fetchDebs(mirror: LiveMirror, config: string, want: { names: string[] }): Promise<Map<string, string> | string>;
async function fetchDebs(mirror: LiveMirror, config: string, want: { pinned: Pinned[] }): Promise<Map<string, string>>;
async function fetchDebs(mirror: LiveMirror, config: string, want: { names: string[] } | { pinned: Pinned[] }): Promise<Map<string, string> | string> {
  const http = new HttpClient({});
  try {
    const fetcher = new Fetcher({ cache: new ContentCache(LIVE_CACHE), http, offline: false, progress: silentProgress });
    const { manifest, dir } = await loadManifest(config);
    const mirrors = planMirrors(manifest.sources, { mirrors: mirror.mirrors });
    let pinned: Pinned[];
    if ("pinned" in want) pinned = want.pinned;
    else {
      const suites = await verifySuites(manifest, dir, mirrors, { fetcher, now: new Date() });
      const componentsOf = (vs: VerifiedSuite) => manifest.sources.find((s) => s.name === vs.ref.source)!.components;
      for (const choice of suites.flatMap((vs) => chooseContents(vs, componentsOf(vs), "amd64", false))) {
        try {
          await fetcher.fetchPinned({ urls: choice.urls, sha256: choice.locked.sha256, size: choice.locked.size, label: choice.label });
        } catch (e) {
          if (e instanceof VerificationError) return `the mirror's Contents does not match its signed release: ${e.message}`;
          throw e;
        }
      }
      const choices = suites.flatMap((vs) => chooseIndexes(vs, componentsOf(vs), "amd64").map((choice) => ({ vs, choice })));
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

/** What one run on a release left for the cases to check: the binaries as taken from their .debs, the manifest and lock add wrote, the pinned .debs, the layer unpacked. */
interface Done {
  release: Release;
  binaries: Map<string, string>;
  manifest: { packages?: unknown[]; fileSets: Record<string, { packages: string[]; paths: string[] }> };
  debs: Map<string, string>;
  rootfs: string;
}

/**
 * Every case on `release` at once, as a user runs it: one `add` of all the binaries, its re-lock,
 * one `layer`. Done, or why it could not run there (no mirror of it, or a Contents file the mirror
 * serves that its signed release does not list). One run serves both binaries: the suites, indexes
 * and Contents are each read once, and a mirror's Contents mismatch is met once, not per binary.
 */
async function runOn(release: Release): Promise<Done | string> {
  const found = await findLiveMirror(LIVE_RELEASES[release].suites);
  if (found.skip) return `${release}: ${found.skip}`;
  const mirror = found.mirror!;
  const dir = join(work, release);
  mkdirSync(dir);
  const config = liveManifest(dir, (m) => {
    LIVE_RELEASES[release].edit(m);
    m.architectures = ["amd64"];
    m.fileSets = { base: {} };
  });
  const lockfile = join(dir, "scratch.lock");
  const fetch = [...mirror.mirrorFlags, "--cache", LIVE_CACHE];

  const own = await fetchDebs(mirror, config, { names: CASES.map((c) => c.on[release].pkg) });
  if (typeof own === "string") return `${release}: ${own}`;
  const binaries = new Map<string, string>();
  for (const c of CASES) {
    const { name, pkg } = c.on[release];
    const unpacked = join(dir, `unpacked-${pkg}`);
    execFileSync("dpkg-deb", ["-x", own.get(pkg)!, unpacked]);
    const binary = join(dir, name);
    copyFileSync(join(unpacked, "usr/bin", name), binary);
    binaries.set(c.kind, binary);
  }

  const cli = (a: string[]) => run(process.execPath, [main, ...a], { cwd: dir, env: cleanEnv() });
  const added = await cli(["add", ...binaries.values(), "--config", config, "--lockfile", lockfile, ...fetch]);
  const err = added.stderr.toString();
  // A mirror caught between syncs serves a Contents file its signed release does not list: refused (exit 1), and nothing to run.
  if (added.code === 1 && /Contents-/.test(err)) return `${release}: the mirror's Contents does not match its signed release: ${err.trim().split("\n")[0]}`;
  expect(added.code, err).toBe(0);

  const manifest = JSON.parse(readFileSync(config, "utf8")) as Done["manifest"];
  const lock = JSON.parse(readFileSync(lockfile, "utf8")) as Lockfile;
  const debs = await fetchDebs(mirror, config, { pinned: lock.architectures.amd64!.packages });

  const tar = join(dir, "amd64.tar");
  const layer = await cli(["layer", "--lockfile", lockfile, "--arch", "amd64", "--output", tar, ...fetch]);
  expect(layer.code, layer.stderr.toString()).toBe(0);
  const rootfs = join(dir, "rootfs");
  mkdirSync(rootfs);
  execFileSync("tar", ["-xf", tar, "-C", rootfs]);
  return { release, binaries, manifest, debs, rootfs };
}

/** The run on trixie, or on bookworm where the mirror cannot serve trixie; a string when neither could run. */
let done: Done | string | undefined;
beforeAll(async () => {
  if (skip) return;
  const skipped: string[] = [];
  for (const release of ["trixie", "bookworm"] as const) {
    const outcome = await runOn(release);
    if (typeof outcome !== "string") {
      done = outcome;
      break;
    }
    skipped.push(outcome);
  }
  if (skipped.length > 0) console.log(`live add of Debian binaries: ${skipped.join("; ")}`);
  if (done === undefined) done = skipped.join("; ");
}, 900_000);

describe.each(CASES)("live: add a binary from Debian ($kind)", (c) => {
  it("add writes its library set and requests its package whole, lock and layer take them, and it runs with chroot in the layer: on trixie, or bookworm where the mirror cannot serve trixie", (ctx) => {
    if (skip) return ctx.skip(skip);
    if (typeof done === "string") return ctx.skip(done);
    const { release, binaries, manifest, debs, rootfs } = done!;
    const { name, pkg, library } = c.on[release];
    const binary = binaries.get(c.kind)!;
    const set = manifest.fileSets[`${name.replace(/[^a-z0-9]+/g, "-")}-amd64`]!;
    // The independent answer: readelf's interpreter and DT_NEEDED looked up by dpkg-deb among the .debs the lock pins.
    const want = needsFromTools(binary, "amd64", [...debs].map(([p, d]) => ({ package: p, deb: d })));
    expect(want.unresolved).toEqual([]);
    expect(set.paths).toEqual(want.files.map((f) => f.path));
    expect(set.packages).toEqual([...new Set(want.files.map((f) => f.package))].sort());
    expect(set.packages).toContain(library);
    // The binary is that package's /usr/bin/NAME, byte for byte: the package is requested whole
    // (each binary's, in the order add was given them, and nothing else).
    expect(manifest.packages).toEqual(CASES.map((k) => k.on[release].pkg));
    expect(manifest.packages).toContain(pkg);

    // The layer's own copy, from the package: what an image's entrypoint would run.
    expect(readFileSync(join(rootfs, "usr/bin", name)).equals(readFileSync(binary))).toBe(true);
    expect(execFileSync("chroot", [rootfs, `/usr/bin/${name}`, ...c.args], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin" } })).toBe("42\n");
  });
});
