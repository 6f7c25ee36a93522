// Shared set-up for the layer tests: temp dirs, child processes, a private build of the CLI,
// a signed fixture archive served on 127.0.0.1, lock/layer through the library, and a
// directory walker that reads trees the way the oracles (GNU tar, dpkg-deb -x) leave them.
import { spawn } from "node:child_process";
import { lstatSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { runLock, type LockResult } from "../../src/commands/lock.js";
import { runLayer, type LayerResult } from "../../src/commands/layer.js";
import type { LayerCompression } from "../../src/codec/compress.js";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A host that cannot resolve: the manifests name it, the local server is passed as a mirror. */
export const ARCHIVE_URL = "https://archive.test.invalid/debian";

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `scratch-pkgs-layer-${prefix}-`));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

export interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command asynchronously (test servers live in this process, so never spawnSync). */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Uint8Array } = {}): Promise<Run> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: [opts.input ? "pipe" : "ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (c: Buffer) => out.push(c));
    child.stderr!.on("data", (c: Buffer) => err.push(c));
    child.on("error", fail);
    child.on("close", (code) => ok({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") }));
    if (opts.input) child.stdin!.end(Buffer.from(opts.input));
  });
}

/** Like run, but fails unless the command exits 0; returns stdout. */
export async function must(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Uint8Array } = {}): Promise<Buffer> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}



// ---------------------------------------------------------------- manifests

export interface ProjectSpec {
  architectures: string[];
  policy?: "none" | "closure";
  fileSets?: Record<string, unknown>;
  packages?: string[];
}

/** A project dir with scratch.json and its keyring; returns the paths. */
export async function writeProject(dir: string, armoredKey: string, spec: ProjectSpec): Promise<{ dir: string; config: string; lockfile: string; cache: string }> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "archive-key.asc"), armoredKey);
  const manifest = {
    sources: [{ name: "debian", url: ARCHIVE_URL, suites: ["stable"], components: ["main"], keyring: "archive-key.asc" }],
    architectures: spec.architectures,
    policy: spec.policy ?? "none",
    fileSets: spec.fileSets ?? {},
    ...(spec.packages ? { packages: spec.packages } : {}),
  };
  const config = join(dir, "scratch.json");
  await writeFile(config, JSON.stringify(manifest, null, 2) + "\n");
  return { dir, config, lockfile: join(dir, "scratch.lock"), cache: join(dir, "cache") };
}

// ---------------------------------------------------------------- library runs

/** Quick timeouts for the local server; `live` keeps the client's defaults for a real mirror. */
function fetcherFor(cache: string, offline = false, live = false): { fetcher: Fetcher; http: HttpClient } {
  const http = new HttpClient(live ? {} : { timeoutMs: 5000, backoffMs: 10, retries: 2 });
  return { fetcher: new Fetcher({ cache: new ContentCache(cache), http, offline, progress: silentProgress }), http };
}

export async function lockWith(o: { config: string; lockfile: string; cache: string; mirrors?: string[]; aptSources?: string; live?: boolean }): Promise<LockResult> {
  const { fetcher, http } = fetcherFor(o.cache, false, o.live);
  try {
    return await runLock({
      config: o.config,
      lockfile: o.lockfile,
      check: false,
      update: undefined,
      mirrors: o.mirrors ?? [],
      envMirror: undefined,
      aptSources: o.aptSources,
      fetcher,
      now: new Date(),
      note: () => {},
    });
  } finally {
    await http.close();
  }
}

export interface LayerRun {
  lockfile: string;
  cache: string;
  mirrors?: string[];
  aptSources?: string;
  arches?: string[];
  output?: string;
  compress?: LayerCompression;
  check?: boolean;
  offline?: boolean;
  live?: boolean;
}

export async function layerWith(o: LayerRun): Promise<LayerResult[]> {
  const { fetcher, http } = fetcherFor(o.cache, o.offline, o.live);
  try {
    return await runLayer({
      lockfile: o.lockfile,
      arches: o.arches ?? [],
      output: o.output,
      compress: o.compress ?? "none",
      check: o.check ?? false,
      mirrors: o.mirrors ?? [],
      envMirror: undefined,
      aptSources: o.aptSources,
      fetcher,
    });
  } finally {
    await http.close();
  }
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { exitCode?: number; hint?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { exitCode?: number };
  }
  throw new Error("expected a rejection, but the promise resolved");
}

// ---------------------------------------------------------------- trees on disk

export interface DiskEntry {
  type: "file" | "dir" | "symlink";
  mode: number;
  uid: number;
  gid: number;
  ino: number;
  mtime: number;
  content?: Buffer;
  target?: string;
}

/** Every entry below `root`, keyed by absolute layer path ("/usr/lib/x"); lstat, never following links. */
export function readDiskTree(root: string): Map<string, DiskEntry> {
  const out = new Map<string, DiskEntry>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const r = `${rel}/${name}`;
      const full = join(root, r);
      const st = lstatSync(full, { bigint: false });
      const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, ino: st.ino, mtime: Math.floor(st.mtimeMs / 1000) };
      if (st.isDirectory()) {
        out.set(r, { ...base, type: "dir" });
        walk(r);
      } else if (st.isSymbolicLink()) out.set(r, { ...base, type: "symlink", target: readlinkSync(full) });
      else if (st.isFile()) out.set(r, { ...base, type: "file", content: readFileSync(full) });
      else throw new Error(`unexpected ${full}: not a file, directory or symlink`);
    }
  };
  walk("");
  return out;
}

/** Absolute ancestors of a layer path, nearest first ("/a/b/c" → "/a/b", "/a"). */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) out.push(path.slice(0, i));
  return out;
}

export { compileCli, cleanEnv } from "../fixtures/cli.js";
