/**
 * `scratch-pkgs lock`: manifest → verified releases → verified indexes → resolution → lock.
 * The only module of the lock stage that does I/O in sequence; every step it calls is tested
 * on its own.
 */
import { resolve as resolvePath } from "node:path";
import { readFile } from "node:fs/promises";
import { loadManifest } from "../manifest/load.js";
import type { Manifest } from "../manifest/types.js";
import { loadKeyring, type Keyring } from "../sources/keyring.js";
import { planMirrors } from "../sources/mirrors.js";
import { readAptSources } from "../sources/apt-sources.js";
import { fetchVerifiedSuite, chooseIndexes, type VerifiedSuite, type IndexChoice } from "../sources/archive.js";
import type { Fetcher } from "../fetch/fetcher.js";
import { openVerified } from "../fetch/fetcher.js";
import { decompress, compressionOf, DecompressError } from "../index/decompress.js";
import { ResolutionMemo } from "./memo.js";
import { buildLayer } from "../layer/build.js";
import { storeBlob } from "../fetch/blob-store.js";
import type { ContentCache } from "../fetch/cache.js";
import { lockedLayer } from "../layer/expected.js";
import { installedVersion } from "../layer/compress.js";
import { derivationSteps } from "../layer/derivations.js";
import { packageUrls } from "../layer/urls.js";
import type { MirrorPlan } from "../sources/mirrors.js";
import { readPackages } from "../index/packages.js";
import type { PackageRecord } from "../index/types.js";
import { Universe } from "../resolve/universe.js";
import { resolve } from "../resolve/resolver.js";
import type { ResolvedPackage } from "../resolve/types.js";
import { planRequests, selectionRules } from "./plan.js";
import { LOCKFILE_VERSION, type Lockfile, type LockedArchitecture, type LockedPackage, type LockedSource, type LockedIndex } from "./types.js";
import { parseLockfile } from "./read.js";
import { canonicalJson } from "../util/canonical-json.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { CheckFailedError, IOError, ResolveError, UsageError, VerificationError } from "../errors.js";
import { describeLockChanges } from "./diff.js";

export interface LockOptions {
  config: string;
  lockfile: string;
  check: boolean;
  /** undefined: keep pins; true: update everything; names: update those. */
  update: true | string[] | undefined;
  mirrors: string[];
  envMirror: string | undefined;
  /** undefined: no apt sources; "": the machine's own; else a file. */
  aptSources: string | undefined;
  fetcher: Fetcher;
  now: Date;
  /** Where to keep the provenance manifests of the layers it builds (the cache). */
  blobs?: ContentCache;
  /** Memoised resolutions (a warm cache skips parsing and resolving unchanged indexes). */
  memo?: ResolutionMemo;
  /** Overrides the newest release Date as every layer entry's mtime (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number;
  /** Notes for the user (stderr), e.g. pins that could not be kept. */
  note: (line: string) => void;
}

export interface LockResult {
  lock: Lockfile;
  text: string;
  /** Whether the lock on disk differs from the result (before writing). */
  changed: boolean;
  written: boolean;
  changes: string[];
}

export async function runLock(opts: LockOptions): Promise<LockResult> {
  const { manifest, sha256: manifestSha, dir } = await loadManifest(opts.config);

  const oldText = await readFile(opts.lockfile, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw new IOError(`cannot read ${opts.lockfile}: ${e.message}`, { cause: e });
  });
  let old: Lockfile | undefined;
  if (oldText !== undefined) {
    try {
      old = parseLockfile(oldText, opts.lockfile);
    } catch (e) {
      // --check must report a broken lock; a plain lock replaces it.
      if (opts.check) throw e;
      opts.note(`${opts.lockfile} is not a valid lock (${(e as Error).message}); writing a new one`);
    }
  }
  if (Array.isArray(opts.update) && old) {
    for (const name of opts.update) {
      if (!Object.values(old.architectures).some((a) => a.packages.some((p) => p.name === name))) {
        throw new UsageError(`--update ${name}: no package ${name} in ${opts.lockfile}`, { hint: "name packages the lock has (see scratch-pkgs why)" });
      }
    }
  }

  const apt = opts.aptSources === undefined ? undefined : await readAptSources(opts.aptSources || undefined);
  const mirrors = planMirrors(manifest.sources, {
    mirrors: opts.mirrors,
    ...(opts.envMirror ? { envMirror: opts.envMirror } : {}),
    ...(apt ? { apt } : {}),
  });

  const suites = await verifySuites(manifest, dir, mirrors.basesFor.bind(mirrors), opts);
  const sourceDateEpoch = opts.sourceDateEpoch ?? Math.max(...suites.map((s) => Math.floor(s.release.date.getTime() / 1000)));

  const indexesRead = new Map<VerifiedSuite, Map<string, LockedIndex>>();
  const architectures: Record<string, LockedArchitecture> = {};
  const group = planRequests(manifest);
  // One architecture at a time: only its indexes are in memory.
  for (const arch of [...manifest.architectures].sort()) {
    const choices: Array<{ vs: VerifiedSuite; choice: IndexChoice }> = [];
    for (const vs of suites) {
      const source = manifest.sources.find((s) => s.name === vs.ref.source)!;
      for (const choice of chooseIndexes(vs, source.components, arch)) choices.push({ vs, choice });
    }
    for (const { vs, choice } of choices) {
      let m = indexesRead.get(vs);
      if (!m) indexesRead.set(vs, (m = new Map()));
      m.set(choice.locked.path, choice.locked);
    }
    const prefer = pinsFor(old, arch, opts.update);
    // Everything the result depends on: verified index contents (by hash), requests, pins, rules.
    const memoKey = opts.memo?.key({
      arch,
      policy: manifest.policy,
      sources: manifest.sources.map((s) => ({ name: s.name, url: s.url })),
      indexes: choices.map(({ vs, choice }) => ({ source: vs.ref.source, suite: vs.ref.suite, ...choice.locked })),
      requests: { withDeps: group.withDeps, alone: group.alone },
      sets: [...group.setOfReason.entries()],
      prefer: [...prefer.entries()].sort(),
    });
    let locked = memoKey ? await opts.memo!.get<ResolvedArchitecture>(memoKey) : undefined;
    if (!locked) {
      const records = await readIndexes(opts.fetcher, choices);
      const universe = new Universe(arch, records);
      const resolveAll = (otherArches?: Map<string, string[]>) => [
        resolveOrExplain(universe, group.withDeps, manifest.policy, prefer, arch, otherArches),
        resolveOrExplain(universe, group.alone, "none", prefer, arch, otherArches),
      ];
      let results;
      try {
        results = resolveAll();
      } catch (e) {
        if (!(e instanceof ResolveError) || manifest.architectures.length < 2) throw e;
        // Only on failure: read the other architectures' indexes, so that a package missing
        // here is reported as existing only there ("exists only for amd64").
        results = resolveAll(await namesByArch(manifest, suites, opts.fetcher, arch));
      }
      locked = lockArchitecture(manifest, arch, results, group.setOfReason);
      if (memoKey) await opts.memo!.set(memoKey, locked);
    }
    architectures[arch] = { ...locked, ...(await lockLayer(manifest, arch, locked.packages, sourceDateEpoch, opts, mirrors, lockedSourcesOf(manifest))) };
    noteDroppedPins(old, arch, architectures[arch]!, opts);
  }

  const sources: LockedSource[] = manifest.sources.map((s) => ({
    name: s.name,
    url: s.url,
    suites: suites
      .filter((vs) => vs.ref.source === s.name)
      .map((vs) => ({
        ...vs.locked,
        indexes: [...(indexesRead.get(vs)?.values() ?? [])].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
      })),
  }));

  const lock: Lockfile = {
    lockfileVersion: LOCKFILE_VERSION,
    manifest: { file: manifestFileName(opts.config), sha256: manifestSha },
    sourceDateEpoch,
    policy: manifest.policy,
    sources,
    architectures,
  };
  const text = canonicalJson(lock);
  const changed = text !== oldText;
  const changes = changed ? describeLockChanges(old, lock) : [];
  if (opts.check) {
    if (changed) {
      const why =
        oldText === undefined
          ? "it does not exist"
          : old && old.manifest.sha256 !== manifestSha
            ? `${opts.config} changed since the lock was made`
            : "the lock would change";
      throw new CheckFailedError(`${opts.lockfile} is stale: ${why}${changes.length ? ":\n  " + changes.join("\n  ") : ""}`, {
        hint: "run scratch-pkgs lock and commit the result",
      });
    }
    return { lock, text, changed, written: false, changes };
  }
  if (changed) await writeFileAtomic(opts.lockfile, text);
  return { lock, text, changed, written: changed, changes };
}

/** Fetch (in parallel; the HTTP client bounds concurrency) and parse indexes, records in manifest order. */
async function readIndexes(fetcher: Fetcher, choices: Array<{ vs: VerifiedSuite; choice: IndexChoice }>): Promise<PackageRecord[]> {
  const parsed = await Promise.all(
    choices.map(async ({ vs, choice }) => {
      const path = await fetcher.fetchPinned({ urls: choice.urls, sha256: choice.locked.sha256, size: choice.locked.size, label: choice.label });
      try {
        return await readPackages(
          decompress(compressionOf(choice.locked.path), openVerified(path)),
          { source: vs.ref.source, suite: vs.ref.suite, component: choice.locked.component },
          choice.label,
        );
      } catch (e) {
        if (e instanceof DecompressError) {
          throw new VerificationError(`${choice.label}: ${e.message}`, { cause: e, hint: "the index matched its signed hash but does not decompress: report it to the archive" });
        }
        throw e;
      }
    }),
  );
  return parsed.flat();
}

type ResolvedArchitecture = Pick<LockedArchitecture, "packages" | "skipped">;

function lockedSourcesOf(manifest: Manifest): LockedSource[] {
  return manifest.sources.map((s) => ({ name: s.name, url: s.url, suites: s.suites.map((suite) => ({ suite }) as LockedSource["suites"][number]) }));
}

/** Build the layer through the same code as `layer`, to record what it must produce (memoised). */
async function lockLayer(
  manifest: Manifest,
  arch: string,
  packages: LockedPackage[],
  mtime: number,
  opts: LockOptions,
  mirrors: MirrorPlan,
  sources: LockedSource[],
): Promise<Pick<LockedArchitecture, "derivations" | "layer">> {
  const steps = derivationSteps({
    arch,
    fileSets: manifest.fileSets.map((s) => ({ name: s.name, ...(s.kind === "tzdata" ? { timezone: s.timezone } : {}) })),
    dpkgStatus: manifest.dpkgStatus,
  });
  // The compressors are dependencies, not our code: their versions key the memo too, or an
  // upgraded compressor would leave stale compressed digests in the lock.
  const compressors = ["pako", "@hpcc-js/wasm-zstd"].map((name) => `${name}@${installedVersion(name)}`);
  const key = opts.memo?.key({ kind: "layer", arch, mtime, steps, compressors, packages: packages.map((p) => ({ name: p.name, sha256: p.sha256, select: p.select })) }, "layer");
  const hit = key ? await opts.memo!.get<Pick<LockedArchitecture, "derivations" | "layer">>(key) : undefined;
  if (hit) return hit;
  const built = await buildLayer({ arch, packages, derivations: steps, mtime }, { fetcher: opts.fetcher, urlsFor: (p) => packageUrls(sources, mirrors, p), ...(opts.blobs ? { cache: opts.blobs } : {}) });
  const result = { derivations: built.derivations, layer: await lockedLayer(built) };
  // Kept so that `audit` can name the paths of a layer that no longer matches.
  if (opts.blobs) await storeBlob(opts.blobs, built.provenance.text);
  if (key) await opts.memo!.set(key, result);
  return result;
}

function manifestFileName(config: string): string {
  const parts = config.split(/[\\/]/);
  return parts[parts.length - 1]!;
}

async function verifySuites(
  manifest: Manifest,
  dir: string,
  basesFor: (source: string, suite: string) => string[],
  opts: LockOptions,
): Promise<VerifiedSuite[]> {
  const keyrings = new Map<string, Promise<Keyring>>();
  const jobs: Array<Promise<VerifiedSuite>> = [];
  for (const source of manifest.sources) {
    const file = resolvePath(dir, source.keyring);
    if (!keyrings.has(file)) keyrings.set(file, loadKeyring(file));
    for (const suite of source.suites) {
      jobs.push(
        keyrings.get(file)!.then((keyring) =>
          fetchVerifiedSuite(
            opts.fetcher,
            { source: source.name, url: source.url, suite, bases: basesFor(source.name, suite), keyring, allowExpired: source.allowExpired },
            opts.now,
          ),
        ),
      );
    }
  }
  return Promise.all(jobs);
}

function pinsFor(old: Lockfile | undefined, arch: string, update: LockOptions["update"]): Map<string, string> {
  const prefer = new Map<string, string>();
  if (!old || update === true) return prefer;
  for (const p of old.architectures[arch]?.packages ?? []) {
    if (Array.isArray(update) && update.includes(p.name)) continue;
    prefer.set(p.name, p.version);
  }
  return prefer;
}

function resolveOrExplain(
  universe: Universe,
  requests: Parameters<typeof resolve>[1],
  policy: "none" | "closure",
  prefer: Map<string, string>,
  arch: string,
  otherArches?: Map<string, string[]>,
) {
  if (requests.length === 0) return { architecture: arch, packages: [], skipped: [] };
  return resolve(universe, requests, policy, { prefer, ...(otherArches ? { otherArches } : {}) });
}

/** Package name → the manifest's other architectures whose indexes have it. */
async function namesByArch(manifest: Manifest, suites: VerifiedSuite[], fetcher: Fetcher, except: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const other of [...manifest.architectures].sort()) {
    if (other === except) continue;
    const choices = suites.flatMap((vs) => chooseIndexes(vs, manifest.sources.find((s) => s.name === vs.ref.source)!.components, other).map((choice) => ({ vs, choice })));
    for (const r of await readIndexes(fetcher, choices)) {
      if (r.architecture !== other) continue;
      const list = out.get(r.name) ?? [];
      if (!list.includes(other)) out.set(r.name, [...list, other]);
    }
  }
  return out;
}

function lockArchitecture(
  manifest: Manifest,
  arch: string,
  results: Array<{ packages: ResolvedPackage[]; skipped: Array<{ name: string; reason: string }> }>,
  setOfReason: ReturnType<typeof planRequests>["setOfReason"],
): ResolvedArchitecture {
  const byName = new Map<string, ResolvedPackage>();
  for (const r of results) {
    for (const p of r.packages) {
      const prev = byName.get(p.record.name);
      if (!prev) {
        byName.set(p.record.name, { record: p.record, reasons: [...p.reasons] });
        continue;
      }
      if (prev.record.version !== p.record.version || prev.record.architecture !== p.record.architecture) {
        throw new ResolveError(
          `cannot resolve for ${arch}: ${p.record.name} is wanted at ${prev.record.version} (${prev.reasons[0]}) and at ${p.record.version} (${p.reasons[0]})`,
          { hint: "pin one version in \"packages\" (name=version)" },
        );
      }
      prev.reasons = [...new Set([...prev.reasons, ...p.reasons])].sort();
    }
  }
  const packages: LockedPackage[] = [...byName.values()]
    .sort((a, b) => (a.record.name < b.record.name ? -1 : a.record.name > b.record.name ? 1 : 0))
    .map((p) => {
      const source = manifest.sources.find((s) => s.name === p.record.origin.source)!;
      return {
        name: p.record.name,
        version: p.record.version,
        architecture: p.record.architecture,
        source: source.name,
        suite: p.record.origin.suite,
        component: p.record.origin.component,
        url: `${source.url}/${p.record.filename}`,
        size: p.record.size,
        sha256: p.record.sha256,
        reasons: p.reasons,
        select: selectionRules(p, setOfReason),
      };
    });
  const skipped = results.flatMap((r) => r.skipped).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { packages, skipped };
}

function noteDroppedPins(old: Lockfile | undefined, arch: string, now: LockedArchitecture, opts: LockOptions): void {
  if (!old || opts.update === true) return;
  for (const p of old.architectures[arch]?.packages ?? []) {
    if (Array.isArray(opts.update) && opts.update.includes(p.name)) continue;
    const cur = now.packages.find((q) => q.name === p.name);
    if (cur && cur.version !== p.version) opts.note(`${arch}: ${p.name} ${p.version} is no longer in the archive; now ${cur.version}`);
  }
}
