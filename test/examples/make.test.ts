// examples/make run for real: `make -C <a copy>` with the compiled CLI as SCRATCH_PKGS, fetching
// from a signed fixture archive on 127.0.0.1. Checks make's incremental behaviour (what a second
// run, a touched hello.c, an edited or merely touched scratch.json rebuild), `make check` and
// `make clean`, and the image with skopeo and (as root, with umoci) by running the binary inside
// it. Expected values come from the lock, files hashed here, tar-stream and skopeo.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadManifest } from "../../src/manifest/load.js";
import { buildArchive, FIXTURE_DATE } from "../fixtures/archive.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { cleanEnv, compileCli, must, run, type Run } from "../image/helpers.js";
import { ARCHES, ARCHIVE_URL, KEY_DATE, manifestJson, readLock, readTar, removeDir, repoRoot, sha256, signDateFor, stablePackages, tempDir, writeProject, type ManifestSpec } from "../lock/helpers.js";
import { makeKey } from "../sources/pgp-helpers.js";

const EXAMPLE = join(repoRoot, "examples", "make");

/** Why the make run cannot happen on this machine, or undefined when it can. */
function missingTool(): string | undefined {
  if (spawnSync("make", ["--version"]).status !== 0) return "make is not installed (apt-get install make)";
  const tar = spawnSync("tar", ["--version"], { encoding: "utf8" });
  if (tar.status !== 0 || !tar.stdout.includes("GNU tar")) return "GNU tar is not installed (apt-get install tar)";
  const cc = spawnSync("cc", ["-print-file-name=libc.a"], { encoding: "utf8" });
  const libc = cc.status === 0 ? cc.stdout.trim() : "";
  if (!isAbsolute(libc) || !existsSync(libc)) return "no C compiler with a static libc (cc -print-file-name=libc.a; apt-get install gcc libc6-dev)";
  return undefined;
}

const skipReason = missingTool();
if (skipReason) console.warn(`test/examples/make.test.ts: skipping the make run: ${skipReason}`);
const hasSkopeo = existsSync("/usr/bin/skopeo");
const canRunInImage = existsSync("/usr/bin/umoci") && existsSync("/usr/sbin/chroot") && process.getuid?.() === 0;

// The example's own manifest needs no tool: it must load, keyrings and all.
describe("examples/make/scratch.json", () => {
  it("is a valid manifest for trixie amd64 with libc, ca-certs and base, whose keyrings are the repository's", async () => {
    const { manifest } = await loadManifest(join(EXAMPLE, "scratch.json"));
    expect(manifest.architectures).toEqual(["amd64"]);
    expect(manifest.fileSets.map((f) => f.name)).toEqual(["base", "ca-certs", "libc"]);
    expect(manifest.policy).toBe("closure");
    expect(manifest.sources.flatMap((s) => s.suites)).toEqual(["trixie", "trixie-updates", "trixie-security"]);
    for (const s of manifest.sources) expect(existsSync(join(EXAMPLE, s.keyring)), s.keyring).toBe(true);
  });

  it("is the manifest examples/bazel locks, too", async () => {
    const make = await loadManifest(join(EXAMPLE, "scratch.json"));
    const bazel = await loadManifest(join(repoRoot, "examples", "bazel", "scratch.json"));
    expect(bazel.sha256).toBe(make.sha256);
  });
});

describe("examples/make/Makefile defaults", () => {
  it.skipIf(skipReason !== undefined)("uses npx --no-install scratch-pkgs, amd64 and --apt-sources unless told otherwise", async () => {
    // -n -B prints every recipe without running one (or reading the network).
    const dry = await must("make", ["-n", "-B", "-C", EXAMPLE], { env: makeEnv() });
    expect(dry).toContain("npx --no-install scratch-pkgs lock --config scratch.json --lockfile scratch.lock --apt-sources\n");
    expect(dry).toContain("npx --no-install scratch-pkgs layer --lockfile scratch.lock --arch amd64 --output layer-amd64.tar --apt-sources\n");
    expect(dry).toMatch(/npx --no-install scratch-pkgs image --lockfile scratch\.lock --arch amd64 --output hello-image --tag latest \\\n\s+--add hello\.tar --entrypoint '\["\/usr\/local\/bin\/hello"\]' --apt-sources\n/);
    expect(dry).toContain("-static");
    const arm = await must("make", ["-n", "-B", "-C", EXAMPLE, "ARCH=arm64", "FETCH_FLAGS=--offline", "SCRATCH_PKGS=tool"], { env: makeEnv() });
    expect(arm).toContain("tool layer --lockfile scratch.lock --arch arm64 --output layer-arm64.tar --offline\n");
  });
});

function makeEnv(): NodeJS.ProcessEnv {
  const env = cleanEnv({ LC_ALL: "C" });
  // A make running this test must not pass its flags (e.g. -n, -j) to ours.
  for (const k of ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS"]) delete env[k];
  return env;
}

describe.skipIf(skipReason !== undefined)("make -C examples/make (a copy) against a fixture archive", () => {
  let work: string;
  let proj: string;
  let server: TestServer;
  let main: string;
  let cache: string;
  const SPEC: ManifestSpec = { suites: ["stable"], architectures: ["amd64"], policy: "closure", fileSets: { base: {}, "ca-certs": {}, libc: {} } };
  const OUTPUTS = ["hello", "hello.tar", "scratch.lock", "layer-amd64.tar", "hello-image/index.json"] as const;

  const p = (name: string): string => join(proj, name);
  const mtime = async (name: string): Promise<bigint> => (await stat(p(name), { bigint: true })).mtimeNs;
  const mtimes = async (): Promise<Record<string, bigint>> => Object.fromEntries(await Promise.all(OUTPUTS.map(async (o) => [o, await mtime(o)] as const)));

  /** make in a copy with the compiled CLI and the fixture server; stdout holds the commands run. */
  function makeIn(dir: string, ...args: string[]): Promise<Run> {
    return run("make", ["-C", dir, `SCRATCH_PKGS=${process.execPath} ${main}`, `FETCH_FLAGS=--mirror ${server.url} --cache ${cache}`, ...args], { env: makeEnv() });
  }
  async function mustMakeIn(dir: string, ...args: string[]): Promise<string> {
    const r = await makeIn(dir, ...args);
    if (r.code !== 0) throw new Error(`make ${args.join(" ")} in ${dir} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }
  const make = (...args: string[]): Promise<Run> => makeIn(proj, ...args);
  const mustMake = (...args: string[]): Promise<string> => mustMakeIn(proj, ...args);
  /** The lines of make's output that are commands (not make's own "Entering directory" notes). */
  const commands = (stdout: string): string[] => stdout.split("\n").filter((l) => l !== "" && !/^make(\[\d+\])?: /.test(l));
  const ran = (stdout: string, sub: string): boolean => stdout.includes(`${main} ${sub} `);

  beforeAll(async () => {
    work = await tempDir("make-example");
    proj = join(work, "proj");
    cache = join(work, "cache");
    const key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
    const www = join(work, "www");
    const built = compileCli(join(work, "build"));
    await buildArchive({ root: www, suites: ["stable"], architectures: [...ARCHES], packages: stablePackages(), signWith: [key], date: FIXTURE_DATE, signDate: signDateFor(FIXTURE_DATE) });
    server = await serveDirectory(www);
    // The example's sources (not whatever a developer built in place), with the fixture's manifest and key.
    await writeProject(proj, key, SPEC);
    for (const f of ["Makefile", "hello.c"]) await copyFile(join(EXAMPLE, f), p(f));
    main = await built;
  });

  afterAll(async () => {
    await server?.close();
    if (work) await removeDir(work);
  });

  it("the first make builds hello, hello.tar, scratch.lock, the layer and the image", async () => {
    const out = await mustMake();
    for (const sub of ["lock", "layer", "image"]) expect(ran(out, sub), sub).toBe(true);
    for (const o of OUTPUTS) expect(existsSync(p(o)), o).toBe(true);

    // The program is static and runs.
    expect(await must(p("hello"), [])).toBe("hello from scratch\n");
    // hello.tar: the binary at /usr/local/bin/hello, root-owned, mtime 0, with its parents.
    const members = await readTar(await readFile(p("hello.tar")));
    expect([...members.keys()]).toEqual(["usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/hello"]);
    const bin = members.get("usr/local/bin/hello")!;
    expect(bin).toMatchObject({ type: "file", mode: 0o755, uid: 0, gid: 0, mtime: 0 });
    expect(Buffer.compare(bin.content, await readFile(p("hello")))).toBe(0);
    for (const d of ["usr/", "usr/local/", "usr/local/bin/"]) expect(members.get(d)).toMatchObject({ type: "directory", mode: 0o755, uid: 0, mtime: 0 });

    // The lock names the manifest's URL, not the mirror make was told to use.
    const lockText = await readFile(p("scratch.lock"), "utf8");
    expect(lockText).toContain(ARCHIVE_URL);
    expect(lockText).not.toContain(server.url);
    const lock = await readLock(p("scratch.lock"));
    expect(Object.keys(lock.architectures)).toEqual(["amd64"]);
    expect(lock.architectures.amd64!.packages.map((x) => x.name)).toEqual(expect.arrayContaining(["libc6", "ca-certificates", "base-files"]));
    // The layer is the one the lock pins.
    expect("sha256:" + sha256(await readFile(p("layer-amd64.tar")))).toBe(lock.architectures.amd64!.layer.diffId);
  });

  it.skipIf(!hasSkopeo)("skopeo reads the image: the entrypoint, and the lock's layer plus hello.tar", async () => {
    const lock = await readLock(p("scratch.lock"));
    const ref = `oci:${p("hello-image")}:latest`;
    const inspect = JSON.parse(await must("skopeo", ["inspect", ref])) as { Architecture: string; Layers: string[] };
    expect(inspect.Architecture).toBe("amd64");
    expect(inspect.Layers).toHaveLength(2);
    const config = JSON.parse(await must("skopeo", ["inspect", "--config", ref])) as { config: { Entrypoint: string[] }; rootfs: { diff_ids: string[] } };
    expect(config.config.Entrypoint).toEqual(["/usr/local/bin/hello"]);
    expect(config.rootfs.diff_ids).toEqual([lock.architectures.amd64!.layer.diffId, "sha256:" + sha256(await readFile(p("hello.tar")))]);
  });

  it.skipIf(!canRunInImage)("the image's root filesystem runs hello as the nonroot user", async () => {
    const bundle = join(work, "bundle");
    await must("umoci", ["unpack", "--image", `${p("hello-image")}:latest`, bundle]);
    const passwd = await readFile(join(bundle, "rootfs", "etc", "passwd"), "utf8");
    expect(passwd).toContain("nonroot:x:65532:65532:");
    expect(await must("/usr/sbin/chroot", ["--userspec=65532:65532", join(bundle, "rootfs"), "/usr/local/bin/hello"])).toBe("hello from scratch\n");
  });

  it("a second make runs nothing: make -q exits 0, make -n prints no command, no output changes", async () => {
    const before = await mtimes();
    const q = await make("-q");
    expect(q.code).toBe(0);
    expect(commands(await mustMake("-n"))).toEqual([]);
    expect(commands(await mustMake())).toEqual([]);
    expect(await mtimes()).toEqual(before);
  });

  it("touching hello.c rebuilds hello, hello.tar and the image, never the layer", async () => {
    const before = await mtimes();
    const layerBytes = await readFile(p("layer-amd64.tar"));
    const tarBytes = await readFile(p("hello.tar"));
    // touch(1), as a person would: the kernel's clock, the one make's own outputs get (utimes
    // with a JavaScript Date can land ahead of it by a clock tick).
    await must("touch", [p("hello.c")]);

    const out = await mustMake();
    expect(ran(out, "image")).toBe(true);
    expect(ran(out, "layer")).toBe(false);
    expect(ran(out, "lock")).toBe(false);
    const after = await mtimes();
    for (const o of ["hello", "hello.tar", "hello-image/index.json"] as const) expect(after[o]! > before[o]!, o).toBe(true);
    expect(after["layer-amd64.tar"]).toBe(before["layer-amd64.tar"]);
    expect(after["scratch.lock"]).toBe(before["scratch.lock"]);
    expect(Buffer.compare(await readFile(p("layer-amd64.tar")), layerBytes)).toBe(0);
    // The same source gives the same tar, byte for byte (sorted, mtime 0, numeric owners).
    expect(Buffer.compare(await readFile(p("hello.tar")), tarBytes)).toBe(0);
    expect((await make("-q")).code).toBe(0);
  });

  it("adding a file set to scratch.json re-locks and rebuilds the layer and the image, not hello.tar", async () => {
    const before = await mtimes();
    const oldLayer = await readFile(p("layer-amd64.tar"));
    await writeFile(p("scratch.json"), manifestJson({ ...SPEC, fileSets: { ...SPEC.fileSets, tools: { packages: ["openssl"], paths: ["/usr/bin/openssl"], exclude: [] } } }));

    const out = await mustMake();
    for (const sub of ["lock", "layer", "image"]) expect(ran(out, sub), sub).toBe(true);
    const after = await mtimes();
    for (const o of ["scratch.lock", "layer-amd64.tar", "hello-image/index.json"] as const) expect(after[o]! > before[o]!, o).toBe(true);
    expect(after["hello.tar"]).toBe(before["hello.tar"]);
    expect(after.hello).toBe(before.hello);

    const lock = await readLock(p("scratch.lock"));
    expect(lock.architectures.amd64!.packages.map((x) => x.name)).toContain("openssl");
    const layer = await readFile(p("layer-amd64.tar"));
    expect(Buffer.compare(layer, oldLayer)).not.toBe(0);
    expect("sha256:" + sha256(layer)).toBe(lock.architectures.amd64!.layer.diffId);
    expect((await readTar(layer)).has("usr/bin/openssl")).toBe(true);
    expect((await make("-q")).code).toBe(0);
  });

  it("touching scratch.json without changing it re-runs lock once, which rewrites nothing, and rebuilds nothing", async () => {
    const before = await mtimes();
    const lockBytes = await readFile(p("scratch.lock"));
    await must("touch", [p("scratch.json")]);

    const out = await mustMake();
    expect(commands(out).filter((l) => l.startsWith(process.execPath))).toEqual([expect.stringContaining(`${main} lock `)]);
    expect(out).toContain("scratch.lock unchanged");
    expect(await mtimes()).toEqual(before);
    expect(Buffer.compare(await readFile(p("scratch.lock")), lockBytes)).toBe(0);
    // The stamp now says scratch.json was locked: the next make runs no command.
    expect(commands(await mustMake())).toEqual([]);
  });

  it("make check passes on a current lock and fails, without re-locking, on a stale one", async () => {
    const ok = await make("check");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("scratch.lock is up to date");
    expect(ok.stdout).toMatch(/\d+ checks: \d+ ok, 0 failed, 0 could not be checked/);

    const manifest = await readFile(p("scratch.json"), "utf8");
    const lockBytes = await readFile(p("scratch.lock"));
    await writeFile(p("scratch.json"), manifestJson(SPEC));
    const stale = await make("check");
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain("scratch.json changed since the lock was made");
    expect(Buffer.compare(await readFile(p("scratch.lock")), lockBytes)).toBe(0);
    await writeFile(p("scratch.json"), manifest);
  });

  it("make clean removes what make built and keeps scratch.lock; the next make rebuilds it all from the lock", async () => {
    const lockBytes = await readFile(p("scratch.lock"));
    await mustMake("clean");
    for (const o of OUTPUTS.filter((x) => x !== "scratch.lock")) expect(existsSync(p(o)), o).toBe(false);
    expect(existsSync(p("layer-amd64.tar.provenance.jsonl"))).toBe(false);
    expect(Buffer.compare(await readFile(p("scratch.lock")), lockBytes)).toBe(0);

    const out = await mustMake();
    for (const o of OUTPUTS) expect(existsSync(p(o)), o).toBe(true);
    // With the stamp gone, lock runs once more and keeps the lock as it is.
    expect(out).toContain("scratch.lock unchanged");
    expect(Buffer.compare(await readFile(p("scratch.lock")), lockBytes)).toBe(0);
  });

  it("a fresh checkout with a committed lock: make keeps the lock, builds the same layer, and make -q agrees all is done", async () => {
    const fresh = join(work, "fresh");
    await mkdir(fresh);
    // In the order git checks files out (sorted by path): scratch.lock comes after scratch.json.
    for (const f of ["Makefile", "archive-key.asc", "hello.c", "scratch.json", "scratch.lock"]) await copyFile(p(f), join(fresh, f));
    const lockBytes = await readFile(p("scratch.lock"));
    const lockTime = (await stat(join(fresh, "scratch.lock"), { bigint: true })).mtimeNs;

    const out = await mustMakeIn(fresh);
    expect(out).toContain("scratch.lock unchanged");
    expect(ran(out, "layer")).toBe(true);
    expect(Buffer.compare(await readFile(join(fresh, "scratch.lock")), lockBytes)).toBe(0);
    expect((await stat(join(fresh, "scratch.lock"), { bigint: true })).mtimeNs).toBe(lockTime);
    expect(Buffer.compare(await readFile(join(fresh, "layer-amd64.tar")), await readFile(p("layer-amd64.tar")))).toBe(0);
    expect((await makeIn(fresh, "-q")).code).toBe(0);
    expect(commands(await mustMakeIn(fresh))).toEqual([]);
  });
});
