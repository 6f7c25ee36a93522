/**
 * findBinaryNeeds on real programs (built here with gcc and g++) and real Debian .debs (libc6
 * and libgcc-s1 of bookworm and trixie, committed in snapshots/), served from a signed fixture
 * archive whose Contents lines are what `dpkg-deb -c` lists of each .deb. The oracle is the
 * program itself: copied into a directory holding only the files the answer names (plus the
 * merged-/usr links a trixie layer derives), it runs there under chroot.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findBinaryNeeds } from "../../src/commands/binary-needs.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { ResolutionMemo } from "../../src/lock/memo.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { parseDeb822 } from "../../src/debian/deb822.js";
import { buildArchive, type FixturePackage } from "../fixtures/archive.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";
import { KEY_DATE, repoRoot, signDateFor, STABLE_DATE, writeProject } from "../lock/helpers.js";
import { C_DYNAMIC, CXX, compile, readelf } from "./helpers.js";

const POOL = join(repoRoot, "snapshots/debian/pool/main/g");
const RELEASES = {
  bookworm: { merged: false, debs: ["glibc/libc6_2.36-9+deb12u14_amd64.deb", "gcc-12/libgcc-s1_12.2.0-14+deb12u1_amd64.deb"] },
  trixie: { merged: true, debs: ["glibc/libc6_2.41-12+deb13u5_amd64.deb", "gcc-14/libgcc-s1_14.2.0-19_amd64.deb"] },
} as const;

let dir: string;
let key: TestKey;
let http: HttpClient;
let skip: string | undefined;
let hello: string | undefined;
let cxx: string | undefined;
/** Package name → what dpkg-deb -c lists of its .deb (path → symlink target or ""), per release. */
const listings = new Map<string, Map<string, Map<string, string>>>();

function dpkgList(deb: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of execFileSync("dpkg-deb", ["-c", deb], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } }).split("\n")) {
    const m = /^([-dlh])\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+\.(\/\S*)(?: -> (\S+))?(?: link to \S+)?$/.exec(line);
    if (m && m[1] !== "d") out.set(m[2]!, m[3] ?? "");
  }
  return out;
}

beforeAll(async () => {
  if (!existsSync("/usr/bin/dpkg-deb") || spawnSync("dpkg-deb", ["--version"]).status !== 0) skip = "dpkg-deb is missing";
  dir = mkdtempSync(join(tmpdir(), "binary-needs-real-"));
  hello = compile("gcc", dir, "hello", C_DYNAMIC, "c");
  cxx = compile("g++", dir, "hello-cxx", CXX, "cc");
  if (hello === undefined || readelf(hello).interpreter !== "/lib64/ld-linux-x86-64.so.2") skip ??= "no gcc building amd64 programs here";
  if (skip) return;
  key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
  const packages: FixturePackage[] = [];
  for (const [suite, rel] of Object.entries(RELEASES)) {
    const bySuite = new Map<string, Map<string, string>>();
    listings.set(suite, bySuite);
    for (const d of rel.debs) {
      const deb = join(POOL, d);
      const control = Object.fromEntries(parseDeb822(execFileSync("dpkg-deb", ["-f", deb], { encoding: "utf8" }))[0]!.fields) as Record<string, string>;
      const listed = dpkgList(deb);
      bySuite.set(control.Package!, listed);
      packages.push({ suite, control, files: [], debBytes: new Uint8Array(readFileSync(deb)), contentsPaths: [...listed.keys()] });
    }
  }
  await buildArchive({ root: join(dir, "archive"), suites: Object.keys(RELEASES), architectures: ["amd64"], packages, signWith: [key], date: STABLE_DATE, signDate: signDateFor(STABLE_DATE), contents: true });
  http = new HttpClient({ timeoutMs: 5000, backoffMs: 10, retries: 1 });
}, 60_000);
afterAll(async () => {
  await http?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function needsOf(suite: keyof typeof RELEASES, binary: string) {
  const project = await writeProject(join(dir, `p-${suite}`), key, { suites: [suite], architectures: ["amd64"] });
  const cache = new ContentCache(join(dir, "cache"));
  const fetcher = new Fetcher({ cache, http, offline: false, progress: silentProgress });
  // The memo keeps libc6's decoded data.tar for the suite's second program, as it does for lock.
  const memo = new ResolutionMemo(cache, { keyFile: join(dir, "cache-key") });
  return findBinaryNeeds({ binary, config: project.config, mirrors: [`file://${join(dir, "archive")}`], fetcher, now: new Date(Date.UTC(2024, 0, 3)), memo });
}

const canChroot = (): boolean => process.getuid?.() === 0 && spawnSync("chroot", ["--version"]).status === 0;

describe.each(Object.keys(RELEASES) as Array<keyof typeof RELEASES>)("real libc6 of %s", (suite) => {
  it("a C program needs libc6's loader and libc.so.6 (each path as dpkg-deb lists it), and runs under chroot with those files alone", async (ctx) => {
    if (skip) return ctx.skip(skip);
    const needs = await needsOf(suite, hello!);
    expect(needs.packages).toEqual(["libc6"]);
    expect(needs.unresolved).toEqual([]);
    const listed = listings.get(suite)!.get("libc6")!;
    for (const f of needs.files) expect(listed.has(f.path), f.path).toBe(true);
    // The loader's path is a link in the package; its target is in the answer too.
    const interp = RELEASES[suite].merged ? "/usr/lib64/ld-linux-x86-64.so.2" : "/lib64/ld-linux-x86-64.so.2";
    expect(listed.get(interp)).not.toBe("");
    expect(needs.files.map((f) => f.path)).toContain(interp);
    expect(needs.files.filter((f) => listed.get(f.path) === "").length).toBeGreaterThanOrEqual(2);

    if (!canChroot()) return ctx.skip("running it needs root and chroot");
    const staging = join(dir, `x-${suite}`);
    execFileSync("dpkg-deb", ["-x", join(POOL, RELEASES[suite].debs[0]), staging]);
    const root = join(dir, `root-${suite}`);
    for (const f of needs.files) {
      mkdirSync(dirname(join(root, f.path)), { recursive: true });
      cpSync(join(staging, f.path), join(root, f.path), { verbatimSymlinks: true });
    }
    // What the layer's usr-merge derivation adds on a merged-/usr release.
    if (RELEASES[suite].merged) for (const d of ["lib", "lib64"]) symlinkSync(`usr/${d}`, join(root, d));
    cpSync(hello!, join(root, "hello"));
    expect(execFileSync("chroot", [root, "/hello"], { encoding: "utf8" })).toBe("hello\n");
  });

  it("a C++ program: libstdc++.so.6 is named unresolved with where it was searched; what it needs of libc6 and libgcc-s1 is found", async (ctx) => {
    if (skip || cxx === undefined) return ctx.skip(skip ?? "no g++");
    const needs = await needsOf(suite, cxx);
    const wanted = readelf(cxx).needed;
    expect(wanted).toContain("libstdc++.so.6");
    const dirs = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib", "/lib64", "/usr/lib64"];
    expect(needs.unresolved).toEqual([{ name: "libstdc++.so.6", neededBy: [cxx], searched: dirs.map((d) => `${d}/libstdc++.so.6`) }]);
    // Every other soname readelf lists is a file of libc6 or libgcc-s1 (as dpkg-deb lists them).
    const owners = listings.get(suite)!;
    for (const soname of wanted.filter((n) => n !== "libstdc++.so.6")) {
      const f = needs.files.find((x) => x.reason === `soname ${soname}`);
      expect(f, soname).toBeDefined();
      expect(owners.get(f!.package)?.has(f!.path), `${soname} at ${f!.path}`).toBe(true);
    }
  });
});
