// The package as npm ships it: built like `npm run build`, packed with `npm pack`, unpacked into a
// consumer's node_modules and bin-linked by npm (`npm rebuild`, the step of `npm install` that
// links "bin" entries). An offline `npm install` of the tarball cannot resolve its dependencies
// without a registry, so they come from this repository's node_modules, one directory above the
// consumer, where Node's module resolution finds them. Then: the linked bin runs, and the
// library (the package's "main") locks and layers the fixture archive to the same bytes as it.
import { mkdir, readFile, realpath, stat, symlink, writeFile } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, packPackage, shippedBin } from "../fixtures/cli.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { hasCommand } from "../fixtures/deb.js";
import { PROJECT, layerArchive } from "../layer/fixture.js";
import { must, removeDir, repoRoot, run, tempDir, writeProject, type Run } from "../layer/helpers.js";

const tools = ["npm", "tar"].every((t) => hasCommand(t));

let work: string;
let consumer: string;
let installed: string;
let packed: Array<{ path: string; mode: number }>;
let server: TestServer;
let project: { dir: string; config: string; lockfile: string; cache: string };
let pkg: { name: string; version: string; main: string; bin: Record<string, string> };

/** A clean environment whose PATH starts with this Node, which the bin's `#!/usr/bin/env node` finds. */
const env = () => cleanEnv({ PATH: [dirname(process.execPath), process.env.PATH ?? ""].join(delimiter) });

/** The installed command, run by its path as a shell would. */
const scratchPkgs = (args: string[]): Promise<Run> => run(join(consumer, "node_modules", ".bin", "scratch-pkgs"), args, { cwd: consumer, env: env() });

beforeAll(async () => {
  if (!tools) return;
  work = await tempDir("package");
  const [pack, made] = await Promise.all([packPackage(work), layerArchive(work)]);
  pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as typeof pkg;
  packed = pack.files;

  consumer = join(work, "consumer");
  installed = join(consumer, "node_modules", pkg.name);
  await mkdir(installed, { recursive: true });
  await writeFile(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  await symlink(join(repoRoot, "node_modules"), join(work, "node_modules"), "dir");
  await must("tar", ["-xzf", pack.tarball, "-C", installed, "--strip-components=1"]);
  await must("npm", ["rebuild", "--ignore-scripts", "--offline", "--no-audit", "--no-fund"], { cwd: consumer, env: env() });

  server = await serveDirectory(made.www);
  project = await writeProject(join(work, "project"), made.key.armoredPublicKey, PROJECT);
});

afterAll(async () => {
  await server?.close();
  if (work) await removeDir(work);
});

describe.skipIf(!tools)("the packed and installed scratch-pkgs", () => {
  it("ships the bin package.json names, with its shebang, and no second executable entry", async () => {
    const bin = await shippedBin();
    expect(bin).toBe(pkg.bin["scratch-pkgs"]);
    const paths = packed.map((f) => f.path);
    expect(paths).toContain(bin);
    expect(paths).toContain(pkg.main);
    expect(paths).toContain("dist/generated/validators.cjs");
    expect(paths).toContain("dist/generated/code-fingerprint.txt");
    expect(paths.filter((p) => p.startsWith("keys/")).length).toBeGreaterThan(0);
    expect(paths.some((p) => p.startsWith("src/") || p.startsWith("test/"))).toBe(false);
    // The only file that starts with a shebang is the bin.
    const withShebang: string[] = [];
    for (const p of paths.filter((p) => p.endsWith(".js"))) {
      if ((await readFile(join(installed, p), "utf8")).startsWith("#!")) withShebang.push(p);
    }
    expect(withShebang).toEqual([bin]);
    expect((await readFile(join(installed, bin), "utf8")).split("\n", 1)[0]).toBe("#!/usr/bin/env node");
  });

  it("npm links node_modules/.bin/scratch-pkgs to that file and makes it executable", async () => {
    expect(await realpath(join(consumer, "node_modules", ".bin", "scratch-pkgs"))).toBe(join(await realpath(installed), pkg.bin["scratch-pkgs"]!));
    expect((await stat(join(installed, pkg.bin["scratch-pkgs"]!))).mode & 0o111).toBe(0o111);
  });

  it("runs: --version, a usage error with exit 2, lock and layer --check", async () => {
    const v = await scratchPkgs(["--version"]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.toString().trim()).toBe(pkg.version);

    const bad = await scratchPkgs(["no-such-command"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("no-such-command");

    const lock = await scratchPkgs(["lock", "--config", project.config, "--lockfile", project.lockfile, "--mirror", server.url, "--cache", project.cache, "--quiet"]);
    expect(lock.code, lock.stderr).toBe(0);
    const check = await scratchPkgs(["layer", "--check", "--lockfile", project.lockfile, "--mirror", server.url, "--cache", project.cache, "--json"]);
    expect(check.code, check.stderr).toBe(0);
    expect((JSON.parse(check.stdout.toString()) as { layers: Array<{ matchesLock: boolean }> }).layers.map((l) => l.matchesLock)).toEqual(PROJECT.architectures.map(() => true));
  });

  it("the library (import from the package name) locks and layers to the CLI's bytes", async () => {
    // A consumer's own module: it resolves "scratch-pkgs" through node_modules and the package's "main".
    const script = join(consumer, "use-library.mjs");
    await writeFile(script, LIBRARY_USER);
    const dir = join(work, "library");
    await mkdir(dir);
    const args = { config: project.config, lockfile: join(dir, "scratch.lock"), cache: join(dir, "cache"), mirror: server.url, output: join(dir, "layer-{arch}.tar") };
    const r = await run(process.execPath, [script, JSON.stringify(args)], { cwd: consumer, env: env() });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.toString()) as { written: boolean; layers: Array<{ arch: string; diffId: string }>; missing: { scratchError: boolean; kind: string; exitCode: number } };
    expect(out.written).toBe(true);
    expect(Buffer.compare(await readFile(args.lockfile), await readFile(project.lockfile))).toBe(0);

    // The CLI's layers, built by the installed bin, against the library's.
    const cliLayers = await scratchPkgs(["layer", "--lockfile", project.lockfile, "--mirror", server.url, "--cache", project.cache, "--output", join(dir, "cli-{arch}.tar"), "--json"]);
    expect(cliLayers.code, cliLayers.stderr).toBe(0);
    const fromCli = (JSON.parse(cliLayers.stdout.toString()) as { layers: Array<{ arch: string; diffId: string }> }).layers.map((l) => ({ arch: l.arch, diffId: l.diffId }));
    expect(out.layers).toEqual(fromCli);
    for (const { arch } of fromCli) {
      expect(Buffer.compare(await readFile(join(dir, `layer-${arch}.tar`)), await readFile(join(dir, `cli-${arch}.tar`)))).toBe(0);
    }
    // Errors cross the package boundary as the exported classes, with their exit codes.
    expect(out.missing).toEqual({ scratchError: true, kind: "lockfile", exitCode: 2 });
  });
});

/** What a library user writes: only the package's exports, no path into dist/. */
const LIBRARY_USER = `
import { join, dirname } from "node:path";
import { openFetchSession, runLock, runLayer, readLockfile, ResolutionMemo, ScratchError } from "scratch-pkgs";

const o = JSON.parse(process.argv[2]);
const session = openFetchSession({ cacheDir: o.cache });
try {
  const common = { mirrors: [o.mirror], envMirror: undefined, aptSources: undefined, fetcher: session.fetcher };
  const locked = await runLock({ ...common, config: o.config, lockfile: o.lockfile, check: false, update: undefined, blobs: session.cache, memo: new ResolutionMemo(session.cache), now: new Date(), note: () => {} });
  const layers = await runLayer({ ...common, lockfile: o.lockfile, arches: [], output: o.output, compress: "none", check: false, cache: session.cache });
  const missing = await readLockfile(join(dirname(o.lockfile), "absent.lock")).then(
    () => undefined,
    (e) => ({ scratchError: e instanceof ScratchError, kind: e.kind, exitCode: e.exitCode }),
  );
  process.stdout.write(JSON.stringify({ written: locked.written, layers: layers.map((l) => ({ arch: l.arch, diffId: l.diffId })), missing }));
} finally {
  await session.close();
}
`;
