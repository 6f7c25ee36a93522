// `add BINARY…`. On the real command line (a private build of the CLI): the error paths, and a
// whole run (needs through the fixture archive's signed Contents, lock, layer, chroot).
// Through runAdd with the needs of a real binary (gcc's hello world, built here) worked out by
// independent tools (test/fixtures/binary-needs.ts: readelf + dpkg-deb over the real trixie
// .debs of snapshots/, served from a signed fixture archive): `--check` touches no file,
// unresolved needs (g++'s program: libstdc++6 is not in the archive) write nothing, a lock that
// fails leaves scratch.json as it was, and end to end the binary runs with chroot in the layer
// built from what `add` wrote and locked (amd64), while arm64 gets none of it.
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAdd, type AddOptions } from "../../src/commands/add.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { addBinaryNeeds } from "../../src/manifest/add-binary-needs.js";
import type { BinaryNeeds } from "../../src/model/binary-needs.js";
import type { Lockfile } from "../../src/model/lock.js";
import { buildArchive } from "../fixtures/archive.js";
import { realPackage } from "../fixtures/real-package.js";
import { needsFromTools, type KnownDeb } from "../fixtures/binary-needs.js";
import { hasCommand } from "../fixtures/deb.js";
import { dirState } from "../fixtures/dir-state.js";
import { compileCli, cleanEnv, layerWith, rejection, run } from "../layer/helpers.js";
import { KEY_DATE, STABLE_DATE, lockWith, removeDir, repoRoot, signDateFor, tempDir, writeProject } from "../lock/helpers.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";

// gcc builds for this machine, and the .debs the needs are looked up in are amd64.
const tools = process.arch === "x64" && ["gcc", "readelf", "dpkg-deb", "tar"].every((t) => hasCommand(t));
const chroot = tools && process.getuid?.() === 0 && hasCommand("chroot", "--version");
const gxx = tools && hasCommand("g++");
if (!tools) console.warn("skipping add's tests with a real binary: not an amd64 machine, or gcc, readelf, dpkg-deb or tar is missing");
else if (!chroot) console.warn("skipping the chroot run of add's end-to-end test: it needs root and chroot");

const POOL = join(repoRoot, "snapshots/debian/pool/main");
/** The real trixie .debs a C program's closure needs, and base's, for both architectures. */
const REAL_DEBS = [
  ["libc6", "g/glibc/libc6_2.41-12+deb13u5_ARCH.deb"],
  ["libgcc-s1", "g/gcc-14/libgcc-s1_14.2.0-19_ARCH.deb"],
  ["gcc-14-base", "g/gcc-14/gcc-14-base_14.2.0-19_ARCH.deb"],
  ["base-files", "b/base-files/base-files_13.8+deb13u8_ARCH.deb"],
] as const;
const debOf = (pkg: string, arch: string): string => join(POOL, REAL_DEBS.find(([p]) => p === pkg)![1].replace("ARCH", arch));
const AMD64_DEBS: KnownDeb[] = REAL_DEBS.map(([pkg]) => ({ package: pkg, deb: debOf(pkg, "amd64") }));

let work: string;
let main: string;
let key: TestKey;
let archive: string;
let hello: string;
let n = 0;

beforeAll(async () => {
  work = await tempDir("add-");
  key = await makeKey({ type: "ecc", date: KEY_DATE });
  const built = compileCli(join(work, "build"));
  if (tools) {
    archive = join(work, "archive");
    const packages = [...REAL_DEBS.flatMap(([pkg]) => ["amd64", "arm64"].map((a) => realPackage(debOf(pkg, a)))), realPackage(join(POOL, "n/netbase/netbase_6.5_all.deb"))];
    await buildArchive({ root: archive, suites: ["stable"], architectures: ["amd64", "arm64"], packages, signWith: [key], date: STABLE_DATE, signDate: signDateFor(STABLE_DATE), indexForms: ["xz"], contents: true });
    await writeFile(join(work, "hello.c"), '#include <stdio.h>\nint main(void) { puts("hello from add"); return 0; }\n');
    hello = join(work, "hello");
    execFileSync("gcc", ["-O1", "-o", hello, join(work, "hello.c")]);
  }
  main = await built;
}, 240_000);

afterAll(async () => {
  if (work) await removeDir(work);
});

/** A project on the fixture archive: `base` for both architectures, as a user starts. */
async function project(): Promise<{ dir: string; config: string; lockfile: string; cache: string }> {
  const p = await writeProject(join(work, `p${n++}`), key, { suites: ["stable"], architectures: ["amd64", "arm64"], policy: "closure", fileSets: { base: {} } });
  return { ...p, cache: join(p.dir, "cache") };
}

/** runAdd as the CLI wires it, with `needs` as the finder's answers. */
async function addWith(o: { config: string; lockfile: string; cache: string; binaries: string[]; needs: BinaryNeeds[]; check?: boolean; offline?: boolean }) {
  const http = new HttpClient({ timeoutMs: 2000, backoffMs: 10, retries: 1 });
  const fetcher = new Fetcher({ cache: new ContentCache(o.cache), http, offline: o.offline ?? false, progress: silentProgress });
  const opts: AddOptions = {
    binaries: o.binaries,
    whole: false,
    check: o.check ?? false,
    findNeeds: async (b) => o.needs.find((x) => x.binary === b)!,
    config: o.config,
    lockfile: o.lockfile,
    mirrors: [`file://${archive}`],
    envMirror: undefined,
    aptSources: undefined,
    fetcher,
    now: new Date(),
    note: () => {},
  };
  try {
    return await runAdd(opts);
  } finally {
    await http.close();
  }
}



describe("add on the command line", () => {
  const cli = (args: string[], cwd = work) => run(process.execPath, [main, ...args, "--json"], { cwd, env: cleanEnv() });
  const errorOf = (r: { stdout: Buffer }) => (JSON.parse(r.stdout.toString("utf8")) as { error: { kind: string; message: string; hint?: string } }).error;

  it("without a binary: exit 2 pointing to add --help", async () => {
    const p = await project();
    const r = await cli(["add", "--config", p.config]);
    expect(r.code).toBe(2);
    expect(errorOf(r).hint).toBe("see scratch-pkgs add --help");
  });

  it("a binary that is missing, or a directory: exit 2 naming it, nothing written", async () => {
    const p = await project();
    const before = await dirState(p.dir);
    const missing = await cli(["add", join(work, "no-such-app"), "--config", p.config, "--lockfile", p.lockfile]);
    expect([missing.code, errorOf(missing).message]).toEqual([2, `${join(work, "no-such-app")}: no such file`]);
    const dir = await cli(["add", work, "--config", p.config, "--lockfile", p.lockfile]);
    expect([dir.code, errorOf(dir).message]).toEqual([2, `${work}: is a directory, not a binary`]);
    expect(await dirState(p.dir)).toEqual(before);
  });

  it("an invalid manifest: exit 2 naming the file and field", async () => {
    const p = await project();
    await writeFile(p.config, (await readFile(p.config, "utf8")).replace('"policy": "closure"', '"policy": "some"'));
    const r = await cli(["add", join(repoRoot, "package.json"), "--config", p.config]);
    expect(r.code).toBe(2);
    expect(errorOf(r)).toMatchObject({ kind: "manifest" });
    expect(errorOf(r).message).toMatch(new RegExp(`^${p.config.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: policy: `));
  });

  it.skipIf(!tools)("as a user runs it: the needs through the archive's signed Contents are readelf's and dpkg-deb's; then layer, and the binary runs with chroot", async () => {
    const p = await project();
    const fetch = ["--config", p.config, "--lockfile", p.lockfile, "--mirror", `file://${archive}`, "--cache", p.cache];
    const r = await cli(["add", hello, ...fetch]);
    expect(r.code, r.stderr.toString()).toBe(0);
    const set = (JSON.parse(await readFile(p.config, "utf8")) as { fileSets: Record<string, { paths: string[] }> }).fileSets["hello-amd64"]!;
    // The independent answer: readelf's interpreter and DT_NEEDED, dpkg-deb's members and links.
    expect(set.paths).toEqual(needsFromTools(hello, "amd64", AMD64_DEBS).files.map((f) => f.path));
    const again = await cli(["add", hello, "--check", ...fetch]);
    expect(again.code, again.stderr.toString()).toBe(0);
    const tar = join(p.dir, "amd64.tar");
    const built = await cli(["layer", "--lockfile", p.lockfile, "--arch", "amd64", "--mirror", `file://${archive}`, "--cache", p.cache, "--output", tar]);
    expect(built.code, built.stderr.toString()).toBe(0);
    const rootfs = join(p.dir, "rootfs");
    await mkdir(rootfs);
    execFileSync("tar", ["-xf", tar, "-C", rootfs]);
    await copyFile(hello, join(rootfs, "hello"));
    if (chroot) expect(execFileSync("chroot", [rootfs, "/hello"], { encoding: "utf8" })).toBe("hello from add\n");
  });
});

describe.skipIf(!tools)("add with a real binary's needs", () => {
  it("the needs of gcc's hello world, found by readelf and dpkg-deb: libc6's loader, its /usr/lib64 link and libc", () => {
    const needs = needsFromTools(hello, "amd64", AMD64_DEBS);
    expect(needs.files.map((f) => [f.path, f.package])).toEqual([
      ["/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "libc6"],
      ["/usr/lib/x86_64-linux-gnu/libc.so.6", "libc6"],
      ["/usr/lib64/ld-linux-x86-64.so.2", "libc6"],
    ]);
    expect(needs.unresolved).toEqual([]);
  });

  it("--check prints the diff and touches no file: bytes and mtimes of scratch.json, the lock and the directory stay", async () => {
    const p = await project();
    await lockWith({ config: p.config, lockfile: p.lockfile, mirror: `file://${archive}`, cache: p.cache });
    const before = await dirState(p.dir);
    const needs = needsFromTools(hello, "amd64", AMD64_DEBS);
    const r = await addWith({ ...p, binaries: [hello], needs: [needs], check: true });
    expect(r.changed).toBe(true);
    expect(r.lock).toBeUndefined();
    expect(r.additions.map((a) => `${a.field} ${a.action}`)).toEqual(["fileSets.hello-amd64 added"]);
    // The set goes after "base", which gains a comma: the one line changed (lineDiff itself is
    // checked against GNU diff in test/util/line-diff.test.ts).
    expect(r.diff[0]).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@$/);
    expect(r.diff.filter((l) => l.startsWith("-"))).toEqual(['-    "base": {}']);
    const added = r.diff.filter((l) => l.startsWith("+")).join("\n");
    expect(added).toContain('"hello-amd64": {');
    for (const f of needs.files) expect(added).toContain(JSON.stringify(f.path));
    expect(await dirState(p.dir)).toEqual(before);
  });

  it.skipIf(!gxx)("unresolved needs (a C++ program; the archive has no libstdc++6): exit 2 naming libstdc++.so.6, nothing written", async () => {
    await writeFile(join(work, "hi.cc"), '#include <iostream>\nint main() { std::cout << "hi" << std::endl; }\n');
    const hi = join(work, "hi");
    execFileSync("g++", ["-o", hi, join(work, "hi.cc")]);
    const needs = needsFromTools(hi, "amd64", AMD64_DEBS);
    expect(needs.unresolved.map((u) => u.name)).toEqual(["libstdc++.so.6"]);
    const p = await project();
    const before = await dirState(p.dir);
    const e = await rejection(addWith({ ...p, binaries: [hi], needs: [needs] }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`${hi}: libstdc++.so.6 (needed by ${hi}): no package of the manifest's suites ships it (looked for /usr/lib/x86_64-linux-gnu/libstdc++.so.6, `);
    expect(await dirState(p.dir)).toEqual(before);
  });

  it("a lock that fails (offline, empty cache) leaves scratch.json as it was: the edit is written only with the lock", async () => {
    const p = await project();
    const before = await dirState(p.dir);
    const e = await rejection(addWith({ ...p, binaries: [hello], needs: [needsFromTools(hello, "amd64", AMD64_DEBS)], offline: true }));
    expect(e.exitCode).toBe(3);
    expect(await dirState(p.dir)).toEqual(before);
  });

  it("end to end: add writes the set and the lock; the amd64 layer runs the binary with chroot; arm64 gets none of it; a second add changes nothing", async () => {
    const p = await project();
    const text = await readFile(p.config, "utf8");
    const needs = needsFromTools(hello, "amd64", AMD64_DEBS);
    const r = await addWith({ ...p, binaries: [hello], needs: [needs] });
    expect(r.changed).toBe(true);
    expect(await readFile(p.config, "utf8")).toBe(addBinaryNeeds(text, p.config, [needs], { whole: false }).text);
    const lock = JSON.parse(await readFile(p.lockfile, "utf8")) as Lockfile;
    expect(lock.architectures.amd64!.packages.map((x) => x.name)).toEqual(expect.arrayContaining(["libc6", "libgcc-s1", "gcc-14-base"]));
    expect(lock.architectures.arm64!.packages.map((x) => x.name).sort()).toEqual(["base-files", "netbase"]);

    const again = await addWith({ ...p, binaries: [hello], needs: [needs] });
    expect([again.changed, again.lock?.changed]).toEqual([false, false]);

    const tar = join(p.dir, "amd64.tar");
    await layerWith({ lockfile: p.lockfile, cache: p.cache, mirrors: [`file://${archive}`], arches: ["amd64"], output: tar });
    const rootfs = join(p.dir, "rootfs");
    await mkdir(rootfs);
    execFileSync("tar", ["-xf", tar, "-C", rootfs]);
    for (const f of needs.files) expect((await stat(join(rootfs, f.path))).isFile(), f.path).toBe(true);
    await copyFile(hello, join(rootfs, "hello"));
    if (chroot) expect(execFileSync("chroot", [rootfs, "/hello"], { encoding: "utf8" })).toBe("hello from add\n");
  });
});
