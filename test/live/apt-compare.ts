/**
 * Our closure against apt's, on the same verified indexes. For one suite and architecture:
 * fetch and verify the InRelease and Packages index through our own code (into a private
 * cache), lay the very same files out as a file: repository, `apt-get update` it into a private
 * apt root with an empty dpkg status, then for each request compare our resolver's closure with
 * the "Inst" lines of `apt-get -s install --no-install-recommends <name>`.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { openFetchSession } from "../../src/fetch/session.js";
import { readKeyring } from "../../src/sources/keyring.js";
import { fetchVerifiedSuite } from "../../src/sources/archive.js";
import { readIndex } from "../../src/sources/indexes.js";
import { chooseIndexes } from "../../src/sources/index-choice.js";
import { byHashUrl, suiteUrl } from "../../src/debian/suite-urls.js";
import type { PackageRecord } from "../../src/model/package.js";
import { Universe } from "../../src/resolve/universe.js";
import { resolve } from "../../src/resolve/resolver.js";
import { ResolveError } from "../../src/model/errors.js";

const execFileAsync = promisify(execFile);

/** Every apt-get process of the run goes through here: two at a time, to spare the machine. */
const APT_PROCESSES = 2;
let running = 0;
const waiting: Array<() => void> = [];
async function apt(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string }> {
  if (running >= APT_PROCESSES) await new Promise<void>((go) => waiting.push(go));
  running++;
  try {
    return await execFileAsync("apt-get", args, { maxBuffer: 16 << 20, env });
  } finally {
    running--;
    waiting.shift()?.();
  }
}
const ROOT = join(import.meta.dirname, "../..");

export interface PreparedSuite {
  suite: string;
  arch: string;
  universe: Universe;
  /** apt-get options and environment selecting the private root. */
  aptOptions: string[];
  aptEnv: NodeJS.ProcessEnv;
}

/** Fetch, verify and lay out one suite × architecture for apt; `dir` is private to the caller. */
export async function prepareSuite(base: string, suite: string, arch: string, dir: string, cacheDir: string): Promise<PreparedSuite> {
  const session = openFetchSession({ cacheDir });
  try {
    const keyring = await readKeyring(join(ROOT, `keys/debian-archive-${suite}.asc`));
    const ref = { source: "debian", url: base, suite, bases: [base], keyring, allowExpired: false };
    const vs = await fetchVerifiedSuite(session.fetcher, ref, new Date());
    const repo = join(dir, "repo");
    const place = (path: string, from: string): void => {
      mkdirSync(dirname(path), { recursive: true });
      copyFileSync(from, path);
    };
    const release = vs.locked.release;
    place(suiteUrl(repo, suite, "InRelease"), (await session.cache.get(release.sha256, release.size))!);
    const records: PackageRecord[] = [];
    for (const choice of chooseIndexes(vs, ["main"], arch)) {
      for await (const r of readIndex(session.fetcher, vs, choice)) records.push(r);
      const file = (await session.cache.get(choice.locked.sha256, choice.locked.size))!;
      place(suiteUrl(repo, suite, choice.locked.path), file);
      place(byHashUrl(repo, suite, choice.locked.path, choice.locked.sha256), file);
    }
    const root = aptRoot(join(dir, "apt"), repo, suite, arch);
    await apt([...root.options, "-q", "update"], root.env);
    return { suite, arch, universe: new Universe(arch, records), aptOptions: root.options, aptEnv: root.env };
  } finally {
    await session.close();
  }
}

/** A private apt root: nothing of this machine's apt configuration, status or lists is read. */
function aptRoot(root: string, repo: string, suite: string, arch: string): { options: string[]; env: NodeJS.ProcessEnv } {
  for (const d of ["etc/apt.conf.d", "etc/preferences.d", "etc/sources.list.d", "lists/partial", "cache/archives/partial", "log"]) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, "status"), "");
  // Our code verified the InRelease signature and the index hash already; apt still checks the index against the InRelease.
  writeFileSync(join(root, "etc/sources.list"), `deb [trusted=yes] file:${repo} ${suite} main\n`);
  // APT_CONFIG is read before apt.conf.d, so it can keep the machine's parts (e.g. a disabled pkgcache) out.
  writeFileSync(join(root, "apt.conf"), `Dir::Etc::main "/dev/null";\nDir::Etc::parts "${join(root, "etc/apt.conf.d")}";\n`);
  const env = { ...process.env, APT_CONFIG: join(root, "apt.conf"), LC_ALL: "C" };
  const o = (k: string, v: string): string[] => ["-o", `${k}=${v}`];
  const options = [
    ...o("Dir", root),
    ...o("Dir::Etc", join(root, "etc")),
    ...o("Dir::Etc::main", "/dev/null"),
    ...o("Dir::Etc::parts", join(root, "etc/apt.conf.d")),
    ...o("Dir::Etc::sourcelist", join(root, "etc/sources.list")),
    ...o("Dir::Etc::sourceparts", join(root, "etc/sources.list.d")),
    ...o("Dir::Etc::preferences", "/dev/null"),
    ...o("Dir::Etc::preferencesparts", join(root, "etc/preferences.d")),
    ...o("Dir::State", root),
    ...o("Dir::State::lists", join(root, "lists")),
    ...o("Dir::State::status", join(root, "status")),
    ...o("Dir::Cache", join(root, "cache")),
    ...o("Dir::Cache::pkgcache", "pkgcache.bin"),
    ...o("Dir::Cache::srcpkgcache", "srcpkgcache.bin"),
    ...o("Dir::Log", join(root, "log")),
    ...o("APT::Architecture", arch),
    ...o("APT::Architectures", arch),
    ...o("Acquire::Languages", "none"),
    ...o("APT::Sandbox::User", "root"),
    ...o("Debug::NoLocking", "1"),
  ];
  return { options, env };
}

export type Closure = { ok: string[] } | { error: string };

/** The package names apt would install for `requests` (one, or several at once), or why it refuses. */
export async function aptClosure(s: PreparedSuite, requests: string | readonly string[]): Promise<Closure> {
  try {
    const { stdout } = await apt([...s.aptOptions, "-s", "install", "--no-install-recommends", ...(typeof requests === "string" ? [requests] : requests)], s.aptEnv);
    const names = stdout
      .split("\n")
      .filter((l) => l.startsWith("Inst "))
      .map((l) => l.split(" ")[1]!.replace(/:.*$/, ""));
    return { ok: names.sort() };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    const lines = `${err.stdout ?? ""}\n${err.stderr ?? ""}`.split("\n").filter((l) => /^E: | : Depends:|virtual package/.test(l));
    return { error: lines.join("; ").trim() || String(e) };
  }
}

/** Our resolver's closure of the request `names` (one, or several at once). */
export function ourClosure(s: PreparedSuite, names: string | readonly string[]): Closure {
  try {
    const r = resolve(s.universe, (typeof names === "string" ? [names] : names).map((name, i) => ({ name, reason: `packages[${i}]` })), "closure");
    return { ok: r.packages.map((p) => p.record.name).sort() };
  } catch (e) {
    if (e instanceof ResolveError) return { error: e.message };
    throw e;
  }
}

export function sameClosure(a: Closure, b: Closure): boolean {
  if ("error" in a || "error" in b) return "error" in a && "error" in b;
  return a.ok.length === b.ok.length && a.ok.every((n, i) => n === b.ok[i]);
}

/** `count` real package names of the universe, drawn with a fixed seed (mulberry32), sorted. */
export function sample(universe: Universe, count: number, seed: number): string[] {
  const names = universe.names();
  let t = seed >>> 0;
  const next = (): number => {
    t = (t + 0x6d2b79f5) >>> 0;
    let x = Math.imul(t ^ (t >>> 15), 1 | t);
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
  const picked = new Set<string>();
  while (picked.size < Math.min(count, names.length)) picked.add(names[Math.floor(next() * names.length)]!);
  return [...picked].sort();
}

/** Run `f` over `items`, `width` at a time, results in input order. */
export async function mapConcurrent<T, R>(items: readonly T[], width: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]!);
      }
    }),
  );
  return out;
}

/** What differs between two closures, for messages: "+x" only ours, "-y" only apt's. */
export function difference(ours: Closure, apt: Closure): string {
  if ("error" in ours || "error" in apt) return `ours: ${"error" in ours ? ours.error : "ok"}; apt: ${"error" in apt ? apt.error : "ok"}`;
  const a = new Set(apt.ok);
  const o = new Set(ours.ok);
  return [...ours.ok.filter((n) => !a.has(n)).map((n) => "+" + n), ...apt.ok.filter((n) => !o.has(n)).map((n) => "-" + n)].join(" ");
}
