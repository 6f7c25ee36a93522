// examples/bazel run for real with the WORKSPACE variant (Debian's bazel-bootstrap, Bazel 4.2.3):
// a copy of the example, the tool packed with `npm pack` and installed as `npm install -g` lays
// it out (a prefix's lib/node_modules and bin/, found on PATH), a lock of the signed fixture
// archive whose .debs the example's repository rule fetches from 127.0.0.1. One Bazel server
// serves every step: the build (sandboxed, no network in actions, PATH=/nonexistent in every
// action), a second build that runs nothing, a `bazel clean` + disk-cache rebuild of only cache
// hits with the same bytes, and a changed lock that re-fetches and re-runs the actions.
// Expected values come from the lock, sha256 of the files, Bazel's execution log and skopeo.
import { spawnSync } from "node:child_process";
import { chmod, cp, mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildArchive, FIXTURE_DATE } from "../fixtures/archive.js";
import { hasCommand } from "../fixtures/deb.js";
import { cleanEnv, packPackage, shippedBin } from "../fixtures/cli.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { ARCHES, KEY_DATE, lockWith, manifestJson, readLock, readTar, removeDir, repoRoot, sha256, signDateFor, stablePackages, tempDir, writeProject, type ManifestSpec } from "../lock/helpers.js";
import { must, run, type Run } from "../layer/helpers.js";
import { makeKey } from "../sources/pgp-helpers.js";

const EXAMPLE = join(repoRoot, "examples", "bazel");
const skipReason = hasCommand("bazel") ? undefined : "bazel is not installed (apt-get install bazel-bootstrap)";
if (skipReason) console.warn(`test/examples/bazel.test.ts: skipping the Bazel run: ${skipReason}`);
const hasSkopeo = hasCommand("skopeo");

const SPEC: ManifestSpec = { suites: ["stable"], architectures: ["amd64"], policy: "closure", fileSets: { base: {}, "ca-certs": {}, libc: {} } };
const TOOL_ACTIONS = ["ScratchPkgsFilesTar", "ScratchPkgsLayer", "ScratchPkgsImage"];

/** One spawn of Bazel's --execution_log_json_file (a stream of JSON objects, not an array). */
interface Spawn {
  commandArgs: string[];
  environmentVariables?: Array<{ name: string; value: string }>;
  inputs?: Array<{ path: string }>;
  mnemonic: string;
  remoteCacheHit?: boolean;
}

function parseExecLog(text: string): Spawn[] {
  const spawns: Spawn[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" && depth++ === 0) start = i;
    else if (c === "}" && --depth === 0) spawns.push(JSON.parse(text.slice(start, i + 1)) as Spawn);
  }
  return spawns;
}

/**
 * `npm install -g ./scratch-pkgs-<v>.tgz` into `prefix`, offline: the tarball unpacked into
 * lib/node_modules/scratch-pkgs, the production dependencies npm would install copied from this
 * repository's node_modules into its node_modules, and bin/scratch-pkgs linked to the bin.
 */
async function installGlobally(tarball: string, prefix: string): Promise<string> {
  const pkg = join(prefix, "lib", "node_modules", "scratch-pkgs");
  await mkdir(pkg, { recursive: true });
  await must("tar", ["-xzf", tarball, "-C", pkg, "--strip-components=1"]);
  const deps = (await must("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: repoRoot, env: cleanEnv() })).toString().trim().split("\n").slice(1);
  expect(deps.length).toBeGreaterThan(0);
  for (const dir of deps) await cp(dir, join(pkg, dir.slice(repoRoot.length + 1)), { recursive: true });
  const bin = await shippedBin();
  await chmod(join(pkg, bin), 0o755);
  await mkdir(join(prefix, "bin"));
  await symlink(join("..", "lib", "node_modules", "scratch-pkgs", bin), join(prefix, "bin", "scratch-pkgs"));
  return pkg;
}

describe.skipIf(skipReason !== undefined)("bazel build in a copy of examples/bazel (WORKSPACE, offline, sandboxed)", () => {
  let work: string;
  let proj: string;
  let server: TestServer;
  let env: NodeJS.ProcessEnv;
  let flags: string[];
  let startup: string[];
  let execLog: string;
  let firstLayer: Buffer;
  let firstImage: Buffer;
  const started = Date.now();
  const out = (name: string): string => join(proj, "bazel-bin", name);

  function bazel(args: string[]): Promise<Run> {
    return run("bazel", [...startup, ...args], { cwd: proj, env });
  }
  /** `bazel build` of the example's targets; returns its output (Bazel's summary is on stderr) and the spawns it logged. */
  async function build(extra: string[] = []): Promise<{ log: string; spawns: Spawn[] }> {
    const r = await bazel(["build", ...flags, ...extra, "//:image", "//:layer"]);
    const log = r.stderr.toString() + r.stdout.toString();
    if (r.code !== 0) throw new Error(`bazel build exited ${r.code}:\n${log}`);
    return { log, spawns: parseExecLog(await readFile(execLog, "utf8")) };
  }
  const diffId = async (): Promise<string> => (await readLock(join(proj, "scratch.lock"))).architectures.amd64!.layer.diffId;

  beforeAll(async () => {
    work = await tempDir("bazel-example");
    proj = join(work, "proj");
    const key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
    const www = join(work, "www");
    const [pack] = await Promise.all([
      packPackage(work),
      buildArchive({ root: www, suites: ["stable"], architectures: [...ARCHES], packages: stablePackages(), signWith: [key], date: FIXTURE_DATE, signDate: signDateFor(FIXTURE_DATE) }),
    ]);
    server = await serveDirectory(www);
    const prefix = join(work, "prefix");
    await installGlobally(pack.tarball, prefix);

    // The example as committed, with the fixture's manifest, key and lock, fetching from the fixture server.
    await cp(EXAMPLE, proj, { recursive: true });
    const p = await writeProject(proj, key, SPEC);
    await lockWith({ config: p.config, lockfile: p.lockfile, mirror: server.url, cache: join(work, "lock-cache") });
    const workspace = await readFile(join(proj, "WORKSPACE"), "utf8");
    const fetchFlags = 'fetch_flags = ["--apt-sources"]';
    expect(workspace).toContain(fetchFlags);
    await writeFile(join(proj, "WORKSPACE"), workspace.replace(fetchFlags, `fetch_flags = ["--mirror", "${server.url}"]`));

    // The user's PATH: the installed tool and node, found there by the repository rules only.
    const path = [join(prefix, "bin"), dirname(process.execPath), "/usr/bin", "/bin"].join(delimiter);
    env = cleanEnv({ PATH: path, HOME: join(work, "home") });
    await mkdir(join(work, "home"));
    execLog = join(work, "exec.json");
    // Not --nosystem_rc: Debian's bazel-bootstrap names its install base there.
    startup = ["--nohome_rc", `--output_user_root=${join(work, "root")}`, "--max_idle_secs=600"];
    // Every action's PATH holds neither node nor the tool; the fetch phase keeps the user's.
    // The host C toolchain (not under test) finds as and ld through -B instead of PATH.
    const binutils = dirname(spawnSync("sh", ["-c", "command -v as"], { encoding: "utf8" }).stdout.trim() || "/usr/bin/as");
    flags = ["--color=no", "--nosandbox_debug", "--curses=no", "--noshow_progress", "--action_env=PATH=/nonexistent", `--repo_env=PATH=${path}`, `--copt=-B${binutils}`, `--linkopt=-B${binutils}`, `--disk_cache=${join(work, "disk-cache")}`, `--execution_log_json_file=${execLog}`];
  }, 300_000);

  afterAll(async () => {
    if (work) {
      // No JVM left behind; the output base is read-only in places.
      await bazel(["shutdown"]);
      await must("chmod", ["-R", "u+w", work]);
      console.warn(`test/examples/bazel.test.ts: the Bazel steps took ${Math.round((Date.now() - started) / 1000)} s`);
    }
    await server?.close();
    if (work) await removeDir(work);
  }, 120_000);

  it("builds the layer the lock pins and a valid image, every scratch-pkgs action on the declared node and tool with PATH=/nonexistent", { timeout: 300_000 }, async () => {
    const { spawns } = await build();
    firstLayer = await readFile(out("layer-amd64.tar"));
    firstImage = await readFile(out("image.tar"));
    expect("sha256:" + sha256(firstLayer)).toBe(await diffId());

    const tool = spawns.filter((s) => TOOL_ACTIONS.includes(s.mnemonic));
    expect(tool.map((s) => s.mnemonic).sort()).toEqual([...TOOL_ACTIONS].sort());
    for (const s of tool) {
      const inputs = (s.inputs ?? []).map((i) => i.path);
      // The executable is the repository's node, by a path inside the execution root.
      expect(s.commandArgs[0], s.mnemonic).toBe("external/scratch_pkgs/node");
      expect(inputs, s.mnemonic).toContain("external/scratch_pkgs/node");
      expect(inputs, s.mnemonic).toContain("external/scratch_pkgs/dist/cli/bin.js");
      expect(inputs.filter((i) => i.startsWith("external/scratch_pkgs/node_modules/")).length, s.mnemonic).toBeGreaterThan(0);
      expect(s.commandArgs.some((a) => a.startsWith(work)), `${s.mnemonic}: ${s.commandArgs.join(" ")}`).toBe(false);
      expect(s.environmentVariables?.find((e) => e.name === "PATH")?.value, s.mnemonic).toBe("/nonexistent");
    }
    const layer = tool.find((s) => s.mnemonic === "ScratchPkgsLayer")!;
    expect(layer.commandArgs).toEqual(expect.arrayContaining(["--offline", "layer", "scratch.lock"]));
    expect((layer.inputs ?? []).some((i) => /^external\/scratch_debs\/cache\/sha256\//.test(i.path))).toBe(true);

    // hello_tar: the static program at /usr/local/bin/hello, root-owned, mtime 0, with its parents.
    const members = await readTar(await readFile(out("hello_tar.tar")));
    expect([...members.keys()]).toEqual(["usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/hello"]);
    expect(members.get("usr/local/bin/hello")).toMatchObject({ type: "file", mode: 0o755, uid: 0, gid: 0, mtime: 0 });
    expect(Buffer.compare(members.get("usr/local/bin/hello")!.content, await readFile(out("hello")))).toBe(0);
    expect((await must(out("hello"), [])).toString()).toBe("hello from scratch\n");
  });

  it.skipIf(!hasSkopeo)("skopeo reads the image: amd64, the lock's layer plus hello_tar, the entrypoint", async () => {
    const ref = `docker-archive:${out("image.tar")}`;
    const inspect = JSON.parse((await must("skopeo", ["inspect", ref])).toString()) as { Architecture: string; Layers: string[] };
    expect(inspect.Architecture).toBe("amd64");
    const config = JSON.parse((await must("skopeo", ["inspect", "--config", ref])).toString()) as { config: { Entrypoint: string[] }; rootfs: { diff_ids: string[] } };
    expect(config.config.Entrypoint).toEqual(["/usr/local/bin/hello"]);
    expect(config.rootfs.diff_ids).toEqual([await diffId(), "sha256:" + sha256(await readFile(out("hello_tar.tar")))]);
  });

  it("a second build runs no action", { timeout: 120_000 }, async () => {
    const { log, spawns } = await build();
    expect(spawns).toEqual([]);
    expect(log).toMatch(/INFO: 1 process: 1 internal\./);
  });

  it("bazel clean, then a rebuild from the disk cache: only cache hits, the same bytes", { timeout: 300_000 }, async () => {
    const clean = await bazel(["clean"]);
    expect(clean.code, clean.stderr.toString()).toBe(0);
    const { log, spawns } = await build();
    expect(spawns.length).toBeGreaterThanOrEqual(TOOL_ACTIONS.length);
    expect(spawns.filter((s) => s.remoteCacheHit !== true).map((s) => s.mnemonic)).toEqual([]);
    // Bazel 4.2.3 counts --disk_cache hits as "remote cache hit"; 5 and newer as "disk cache hit".
    const summary = /INFO: (\d+) processes: (\d+) (?:disk|remote) cache hit, (\d+) internal\./.exec(log);
    expect(summary, log).not.toBeNull();
    expect(Number(summary![2])).toBe(spawns.length);
    expect(Buffer.compare(await readFile(out("layer-amd64.tar")), firstLayer)).toBe(0);
    expect(Buffer.compare(await readFile(out("image.tar")), firstImage)).toBe(0);
  });

  it("a changed lock re-fetches the .debs and re-runs the layer and image actions", { timeout: 300_000 }, async () => {
    const repo = join((await must("bazel", [...startup, "info", "output_base"], { cwd: proj, env })).toString().trim(), "external", "scratch_debs");
    const fetchedAt = (await stat(join(repo, "cache", "README"))).mtimeMs;
    // A package the old cache lacks: the offline actions succeed only if the repository re-fetched.
    await writeFile(join(proj, "scratch.json"), manifestJson({ ...SPEC, fileSets: { ...SPEC.fileSets, tools: { packages: ["openssl"], paths: ["/usr/bin/openssl"], exclude: [] } } }));
    await lockWith({ config: join(proj, "scratch.json"), lockfile: join(proj, "scratch.lock"), mirror: server.url, cache: join(work, "lock-cache") });
    const { spawns } = await build();
    expect((await stat(join(repo, "cache", "README"))).mtimeMs).toBeGreaterThan(fetchedAt);
    const ran = spawns.filter((s) => s.remoteCacheHit !== true).map((s) => s.mnemonic);
    expect(ran.sort()).toEqual(["ScratchPkgsImage", "ScratchPkgsLayer"]);
    const layer = await readFile(out("layer-amd64.tar"));
    expect(Buffer.compare(layer, firstLayer)).not.toBe(0);
    expect("sha256:" + sha256(layer)).toBe(await diffId());
    expect((await readTar(layer)).has("usr/bin/openssl")).toBe(true);
  });
});
