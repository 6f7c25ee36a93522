/**
 * `scratch-pkgs lock`: manifest → verified releases → verified indexes → resolution → lock.
 * The only module of the lock stage that does I/O in sequence; every step it calls is tested
 * on its own.
 */
import { realpath, stat } from "node:fs/promises";
import { loadManifest, loadManifestText, readManifestText } from "../manifest/load.js";
import { moveSnapshotTimestamps } from "../manifest/snapshot-timestamps.js";
import { checkSnapshots, snapshotTimestampFor } from "../sources/snapshot-rule.js";
import { mirrorsFor } from "../sources/mirrors.js";
import type { VerifiedSuite } from "../sources/archive.js";
import { verifySuites } from "../lock/suites.js";
import { chooseIndexes, type IndexChoice } from "../sources/index-choice.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ContentCache } from "../fetch/cache.js";
import type { ResolutionMemo } from "../lock/memo.js";
import { askedPaths, planRequests, scopedRequests } from "../lock/plan.js";
import type { LockedPathOrigin } from "../model/lock.js";
import type { ResolvedArchitecture } from "../lock/resolve-arch.js";
import { lockLayer } from "../lock/layer-digests.js";
import { LOCKFILE_VERSION, type Lockfile, type LockedArchitecture, type LockedSource, type LockedIndex } from "../model/lock.js";
import { parseLockfile, readLockfileBytes, readLockfileBytesIfAny } from "../lockfile/read.js";
import { canonicalJson } from "../util/canonical-json.js";
import { collectGarbage } from "../util/collect-garbage.js";
import { CheckFailedError, UsageError } from "../model/errors.js";

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
  /** Suites the apt sources lack are fetched from the manifest's URLs instead of refused. */
  aptSourcesFallback?: boolean;
  /** --snapshot: "now" or a timestamp; every snapshot source URL of the manifest is moved there first. */
  snapshot?: string | undefined;
  /**
   * An edit of the manifest's text (`add`: a binary's needs written in), made before locking;
   * the edited manifest is locked and written with the lock, only if the lock succeeds.
   */
  editManifest?: ((text: string) => string) | undefined;
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
  const moved = opts.snapshot === undefined && opts.editManifest === undefined ? undefined : await stagedManifest(opts);
  const { manifest, sha256: manifestSha, dir } = moved?.loaded ?? (await loadManifest(opts.config));

  // --check needs a lock to compare with, so a missing one fails before any download.
  const oldText = (await (opts.check ? readLockfileBytes : readLockfileBytesIfAny)(opts.lockfile))?.toString("utf8");
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

  const mirrors = await mirrorsFor(manifest.sources, opts);

  const progress = opts.fetcher.progress;
  const suiteCount = manifest.sources.reduce((n, s) => n + s.suites.length, 0);
  progress.phase("fetching releases", `${suiteCount} ${suiteCount === 1 ? "suite" : "suites"}`);
  const suites = await verifySuites(manifest, dir, mirrors, opts);
  checkSnapshots(suites.map((vs) => ({ source: vs.ref.source, url: vs.ref.url, suite: vs.ref.suite, date: vs.release.date, dateText: vs.release.dateText })));
  const sourceDateEpoch = opts.sourceDateEpoch ?? Math.max(...suites.map((s) => Math.floor(s.release.date.getTime() / 1000)));

  const indexesRead = new Map<VerifiedSuite, Map<string, LockedIndex>>();
  const contentsRead = new Map<VerifiedSuite, Map<string, LockedIndex>>();
  const record = (read: Map<VerifiedSuite, Map<string, LockedIndex>>, vs: VerifiedSuite, locked: LockedIndex): void => {
    let m = read.get(vs);
    if (!m) read.set(vs, (m = new Map()));
    m.set(locked.path, locked);
  };
  const resolved = new Map<string, { locked: ResolvedArchitecture; origins: LockedPathOrigin[] }>();
  // One architecture at a time: only its indexes are in memory. Every architecture is resolved
  // before any layer is built, so that no index is parsed on top of what a layer build leaves
  // behind (its buffers, the compressor's heap), and a resolution error comes before any build.
  for (const arch of [...manifest.architectures].sort()) {
    // Path-only sets first: the packages Contents names for them are requested like any other.
    let origins: LockedPathOrigin[] = [];
    const asked = askedPaths(manifest, arch);
    if (asked.length > 0) {
      // Loaded only here: a manifest without path-only sets never touches Contents.
      const { contentsChoices, findPathOrigins } = await import("../lock/contents-paths.js");
      const contents = contentsChoices(manifest, suites, arch);
      for (const c of contents) record(contentsRead, c.vs, c.locked);
      origins = await findPathOrigins(opts.fetcher, { manifest, arch, suites, asked, choices: contents, old: opts.update === true ? undefined : old });
    }
    const group = planRequests(manifest, arch, origins);
    const choices: Array<{ vs: VerifiedSuite; choice: IndexChoice }> = [];
    for (const vs of suites) {
      const source = manifest.sources.find((s) => s.name === vs.ref.source)!;
      for (const choice of chooseIndexes(vs, source.components, arch)) choices.push({ vs, choice });
    }
    for (const { vs, choice } of choices) record(indexesRead, vs, choice.locked);
    const prefer = pinsFor(old, arch, opts.update);
    // Everything the result depends on: verified index contents (by hash), requests, pins, rules.
    const keyFor = (pins: Map<string, string>): string | undefined =>
      opts.memo?.key({
        arch,
        policy: manifest.policy,
        sources: manifest.sources.map((s) => ({ name: s.name, url: s.url })),
        indexes: choices.map(({ vs, choice }) => ({ source: vs.ref.source, suite: vs.ref.suite, ...choice.locked })),
        requests: { withDeps: group.withDeps, alone: group.alone },
        sets: [...group.setOfReason.entries()],
        copyright: manifest.copyright,
        prefer: [...pins.entries()].sort(),
      });
    const memoKey = keyFor(prefer);
    let locked = memoKey ? await opts.memo!.get<ResolvedArchitecture>(memoKey) : undefined;
    if (!locked) {
      // Loaded only here: a warm lock reads no index and resolves nothing.
      const { resolveFromIndexes } = await import("../lock/resolve-from-indexes.js");
      // The next run pins what this one writes: resolved now too, so it finds its result memoised.
      const resolution = await resolveFromIndexes(opts.fetcher, { manifest, arch, suites, choices, group, prefer }, (r) => pinsOf(r.packages, undefined));
      locked = resolution.locked;
      // The parsed index is garbage now: collected before the next index or a layer adds to it.
      collectGarbage();
      if (memoKey) {
        await opts.memo!.set(memoKey, locked);
        if (resolution.next) await opts.memo!.set(keyFor(resolution.next.prefer)!, resolution.next.locked);
      }
    }
    resolved.set(arch, { locked, origins });
  }
  const architectures: Record<string, LockedArchitecture> = {};
  for (const [arch, { locked, origins }] of resolved) {
    architectures[arch] = {
      ...locked,
      ...(await lockLayer(manifest, arch, locked.packages, sourceDateEpoch, opts, mirrors, manifest.sources, origins)),
      ...(origins.length > 0 ? { paths: origins } : {}),
    };
    noteDroppedPins(old, arch, architectures[arch]!, opts);
  }

  const sorted = (m: Map<string, LockedIndex> | undefined): LockedIndex[] => [...(m?.values() ?? [])].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const sources: LockedSource[] = manifest.sources.map((s) => ({
    name: s.name,
    url: s.url,
    suites: suites
      .filter((vs) => vs.ref.source === s.name)
      .map((vs) => ({
        ...vs.locked,
        indexes: sorted(indexesRead.get(vs)),
        ...(contentsRead.has(vs) ? { contents: sorted(contentsRead.get(vs)) } : {}),
      })),
  }));

  const requests = scopedRequests(manifest);
  const lock: Lockfile = {
    lockfileVersion: LOCKFILE_VERSION,
    manifest: { file: manifestFileName(opts.config), sha256: manifestSha },
    sourceDateEpoch,
    policy: manifest.policy,
    sources,
    architectures,
    ...(requests.length > 0 ? { requests } : {}),
  };
  const text = canonicalJson(lock);
  const changed = text !== oldText;
  const changes = changed ? (await import("../lockfile/diff.js")).describeLockChanges(old, lock) : [];
  if (opts.check) {
    if (changed) {
      const why = old && old.manifest.sha256 !== manifestSha ? `${opts.config} changed since the lock was made` : "the lock would change";
      throw new CheckFailedError(`${opts.lockfile} is stale: ${why}${changes.length ? ":\n  " + changes.join("\n  ") : ""}`, {
        hint: "run scratch-pkgs lock and commit the result",
      });
    }
    return { lock, text, changed, written: false, changes };
  }
  // scratch.json first: a run cut short between the renames leaves a lock that --check calls stale.
  const outputs = [...(moved?.changed ? [moved.output] : []), ...(changed ? [{ path: opts.lockfile, data: text }] : [])];
  if (outputs.length > 0) await (await import("../util/atomic-write.js")).writeFilesAtomic(outputs);
  return { lock, text, changed, written: changed, changes };
}

/**
 * The manifest as `editManifest` and then `--snapshot` (its snapshot URLs at the timestamp asked
 * for) change it, as text to write back (its own file mode, through a symlink to the file it
 * names) once the lock is made.
 */
async function stagedManifest(opts: LockOptions) {
  if (opts.check && opts.snapshot !== undefined) throw new UsageError("--snapshot moves the snapshot timestamps in the manifest, and --check writes nothing", { hint: "run scratch-pkgs lock --update --snapshot now without --check" });
  const text = await readManifestText(opts.config);
  await loadManifestText(text, opts.config);
  let edited = opts.editManifest ? opts.editManifest(text) : text;
  if (opts.snapshot !== undefined) edited = movedSnapshots(edited, opts.snapshot, opts);
  const changed = edited !== text;
  const file = await realpath(opts.config);
  const mode = (await stat(file)).mode & 0o7777;
  return { loaded: await loadManifestText(edited, opts.config), changed, output: { path: file, data: edited, mode, exactMode: true } };
}

/** `--snapshot`: the manifest's text with every snapshot URL at the timestamp asked for. */
function movedSnapshots(text: string, snapshot: string, opts: LockOptions): string {
  const timestamp = snapshotTimestampFor(snapshot, opts.now);
  const edit = moveSnapshotTimestamps(text, opts.config, timestamp);
  if (edit.moved.length === 0) {
    throw new UsageError(`--snapshot ${snapshot}: no source in ${opts.config} has a snapshot URL (…/archive/NAME/YYYYMMDDTHHMMSSZ)`, { hint: "give the sources snapshot.debian.org URLs, or drop --snapshot" });
  }
  for (const m of edit.moved) if (m.from !== m.to) opts.note(`${opts.config}: source "${m.source}" snapshot ${m.from} → ${m.to}`);
  return edit.text;
}

function manifestFileName(config: string): string {
  const parts = config.split(/[\\/]/);
  return parts[parts.length - 1]!;
}

function pinsFor(old: Lockfile | undefined, arch: string, update: LockOptions["update"]): Map<string, string> {
  if (!old || update === true) return new Map();
  return pinsOf(old.architectures[arch]?.packages ?? [], update);
}

/** The versions a lock's packages pin, but those `update` names. */
function pinsOf(packages: ReadonlyArray<{ name: string; version: string }>, update: LockOptions["update"]): Map<string, string> {
  const prefer = new Map<string, string>();
  for (const p of packages) {
    if (Array.isArray(update) && update.includes(p.name)) continue;
    prefer.set(p.name, p.version);
  }
  return prefer;
}

function noteDroppedPins(old: Lockfile | undefined, arch: string, now: LockedArchitecture, opts: LockOptions): void {
  if (!old || opts.update === true) return;
  for (const p of old.architectures[arch]?.packages ?? []) {
    if (Array.isArray(opts.update) && opts.update.includes(p.name)) continue;
    const cur = now.packages.find((q) => q.name === p.name);
    if (cur && cur.version !== p.version) opts.note(`${arch}: ${p.name} ${p.version} is no longer in the archive; now ${cur.version}`);
  }
}
