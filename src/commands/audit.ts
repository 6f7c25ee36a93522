/**
 * `scratch-pkgs audit`: re-verify everything a lock claims, from the bytes up — each recorded
 * release's signature and hashes, each index's hash and the locked packages in it, each .deb's
 * hash, and each layer rebuilt and compared (diff_id, provenance, derivations, compressed
 * digests). One check per line; a differing layer lists the paths that differ.
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { readLockfile } from "../lockfile/read.js";
import type { Lockfile, LockedPathOrigin, LockedSource, LockedSuite } from "../model/lock.js";
import { loadManifest, keyringPath } from "../manifest/load.js";
import type { Manifest } from "../model/manifest.js";
import { readKeyring } from "../sources/keyring.js";
import { fetchRecordedSuite, type SuiteRef, type VerifiedSuite } from "../sources/archive.js";
import { readIndex } from "../sources/indexes.js";
import { indexChoice } from "../sources/index-choice.js";
import { suiteUrl } from "../debian/suite-urls.js";
import { mirrorsFor, type MirrorPlan } from "../sources/mirrors.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ContentCache } from "../fetch/cache.js";
import { LOCKED_COMPRESSIONS } from "../codec/compressor-settings.js";
import { verifiedLayer } from "../layer/verify.js";
import { packageUrls } from "../layer/urls.js";
import { NetworkError, VerificationError, isScratchError } from "../model/errors.js";
import { snapshotLagHint } from "../sources/snapshot-rule.js";
import { withLockedDebFallback } from "../sources/snapshot-files.js";
import { diffProvenance } from "../audit/layer-diff.js";
import { parseProvenance } from "../layer/provenance-read.js";
import { recordedProvenance } from "./recorded-provenance.js";
import { ProvenanceError } from "../layer/errors.js";
import { summarise, type AuditCheck, type AuditReport } from "../audit/report.js";
import { sourceDifferences } from "../audit/sources.js";

export interface AuditOptions {
  lockfile: string;
  /** The manifest, for the sources' keyrings and allowExpired. */
  config: string;
  mirrors: string[];
  envMirror: string | undefined;
  aptSources: string | undefined;
  /** Suites the apt sources lack come from the lock's URLs instead of being refused. */
  aptSourcesFallback?: boolean;
  /** The snapshot service that serves the lock's .debs its URLs no longer serve (--snapshot-fallback); undefined: not asked. */
  snapshotFallback?: string | undefined;
  fetcher: Fetcher;
  cache: ContentCache;
  now: Date;
  /** A recorded provenance manifest to compare with, when the cache does not hold it. */
  provenance: string[];
}

/**
 * Run a check; a thrown error becomes its failure (network trouble: could not be checked).
 * `lag`: the hint when the content came from a snapshot URL that may not have imported the
 * release yet; there a mismatch or a missing file is the lock's URL not serving what it pins,
 * a failure (exit 1) like any mismatch, with that hint.
 */
async function check(name: string, fn: () => Promise<string | Omit<AuditCheck, "name">>, lag?: string): Promise<AuditCheck> {
  try {
    const r = await fn();
    return typeof r === "string" ? { name, status: "ok", detail: r } : { name, ...r };
  } catch (e) {
    if (!isScratchError(e)) throw e;
    const notServed = e instanceof VerificationError || (e instanceof NetworkError && (e.status === 404 || e.status === 410));
    if (lag !== undefined && notServed) return { name, status: "fail", detail: e.message, hint: lag };
    return { name, status: e instanceof NetworkError ? "unavailable" : "fail", detail: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  }
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** The lag hint for a suite fetched from its snapshot URL itself (not through a mirror). */
function lagOf(mirrors: MirrorPlan, source: LockedSource, suite: string): string | undefined {
  if (!mirrors.basesFor(source.name, suite).includes(source.url)) return undefined;
  return snapshotLagHint(source.url, source.suites.find((s) => s.suite === suite)?.date);
}

export async function runAudit(opts: AuditOptions): Promise<AuditReport> {
  const lock = await readLockfile(opts.lockfile);
  const checks: AuditCheck[] = [];
  let manifest: Manifest | undefined;
  let dir = ".";
  if (existsSync(opts.config)) {
    const loaded = await loadManifest(opts.config);
    manifest = loaded.manifest;
    dir = loaded.dir;
    checks.push(
      loaded.sha256 === lock.manifest.sha256
        ? { name: "manifest", status: "ok", detail: `${opts.config} is the manifest the lock was made from` }
        : { name: "manifest", status: "fail", detail: `${opts.config} changed since the lock was made (sha256 ${loaded.sha256}, lock says ${lock.manifest.sha256}): run scratch-pkgs lock` },
    );
    const differences = sourceDifferences(lock.sources, manifest.sources);
    checks.push(
      differences.length === 0
        ? { name: "sources", status: "ok", detail: `the lock's ${lock.sources.length} sources are the manifest's (names, URLs, suites)` }
        : { name: "sources", status: "fail", detail: differences.join("; "), hint: "the lock does not match its manifest: run scratch-pkgs lock" },
    );
  } else {
    checks.push({ name: "manifest", status: "unavailable", detail: `${opts.config} not found: release signatures cannot be checked without the sources' keyrings` });
  }

  const mirrors = await mirrorsFor(lock.sources, opts);
  const verifiedSuites: VerifiedSuite[] = [];
  const fetcher = withLockedDebFallback(lock, opts.fetcher, opts.snapshotFallback);
  fetcher.progress.phase("verifying releases and indexes", count(lock.sources.reduce((n, s) => n + s.suites.length, 0), "suite"));

  for (const source of lock.sources) {
    const ms = manifest?.sources.find((s) => s.name === source.name);
    for (const suite of source.suites) {
      const where = `${source.name}/${suite.suite}`;
      if (!ms) {
        const detail = `not checked: the manifest names no source ${source.name} whose keyring could check the release's signature`;
        checks.push({ name: `release ${where}`, status: "unavailable", detail }, { name: `index ${where}`, status: "unavailable", detail });
        continue;
      }
      // Verified as `lock` verifies (signature, key, Valid-Until now, suite), from the recorded bytes.
      const held: { vs?: VerifiedSuite } = {};
      const lag = lagOf(mirrors, source, suite.suite);
      checks.push(
        await check(
          `release ${where}`,
          async () => {
            held.vs = await fetchRecordedSuite(fetcher, await suiteRef(mirrors, source, suite, ms, dir), suite.release, opts.now);
            return compareRelease(held.vs, suite, lag);
          },
          lag,
        ),
      );
      const verified = held.vs;
      if (verified) verifiedSuites.push(verified);
      checks.push(
        verified
          ? await check(`index ${where}`, () => auditIndexes(fetcher, lock, source, suite, verified), lag)
          : { name: `index ${where}`, status: "unavailable", detail: "not checked: the release was not verified, so no signed hashes pin the indexes" },
      );
    }
  }
  for (const arch of Object.keys(lock.architectures).sort()) {
    const packages = lock.architectures[arch]!.packages;
    fetcher.progress.phase(`verifying the ${arch} .debs`, count(packages.length, "package"));
    for (const pkg of packages) {
      const source = lock.sources.find((s) => s.name === pkg.source);
      checks.push(
        await check(`package ${arch}/${pkg.name}`, async () => {
          // A cached copy that no longer matches its hash is a finding in itself (disk or tampering),
          // even though the cache would quietly discard it and download again.
          const corrupt = await corruptCacheEntry(opts.cache, pkg.sha256);
          try {
            await fetcher.fetchPinned({ urls: packageUrls(lock.sources, mirrors, pkg), sha256: pkg.sha256, size: pkg.size, label: pkg.url });
          } catch (e) {
            if (corrupt) return { status: "fail" as const, detail: `${corrupt}; and no good copy could be fetched: ${(e as Error).message}` };
            throw e;
          }
          if (corrupt) return { status: "fail" as const, detail: `${corrupt}; a fresh download verified and replaced it` };
          return `${pkg.version}: size ${pkg.size} and sha256 ${pkg.sha256.slice(0, 16)}… verified`;
        }, source && lagOf(mirrors, source, pkg.suite)),
      );
    }
    const paths = lock.architectures[arch]!.paths;
    if (paths) checks.push(await auditPaths(fetcher, lock, arch, paths, manifest, verifiedSuites));
    fetcher.progress.phase(`rebuilding the ${arch} layer`, count(packages.length, "package"));
    checks.push(await check(`layer ${arch}`, () => auditLayer(fetcher, opts, mirrors, lock, arch)));
  }
  return summarise(checks);
}

/** The suite as `lock` would verify it: the manifest's keyring and allowExpired, the lock's URL and suite. */
async function suiteRef(mirrors: MirrorPlan, source: LockedSource, suite: LockedSuite, ms: Manifest["sources"][number], dir: string): Promise<SuiteRef> {
  const keyring = await readKeyring(keyringPath(dir, ms));
  // audit keeps no verdicts: it checks every signature, so a bad keyring fails here as before.
  await keyring.parse();
  return { source: source.name, url: source.url, suite: suite.suite, bases: mirrors.basesFor(source.name, suite.suite), keyring, allowExpired: ms.allowExpired };
}

/** What the lock says about a release, compared with the release as verified (fetched by the lock's hashes). */
function compareRelease(vs: VerifiedSuite, suite: LockedSuite, lag: string | undefined) {
  const problems: string[] = [];
  const got = vs.locked;
  if (got.release.sha256 !== suite.release.sha256 || got.release.size !== suite.release.size) problems.push(`${vs.label} read as sha256 ${got.release.sha256} (${got.release.size} bytes), the lock says ${suite.release.sha256} (${suite.release.size} bytes)`);
  if (got.signedBy !== suite.signedBy) problems.push(`signed by ${got.signedBy}, the lock says ${suite.signedBy}`);
  if (got.date !== suite.date) problems.push(`Date ${got.date}, the lock says ${suite.date}`);
  if (got.validUntil !== suite.validUntil) problems.push(`Valid-Until ${got.validUntil ?? "absent"}, the lock says ${suite.validUntil ?? "absent"}`);
  const unlisted = [...suite.indexes, ...(suite.contents ?? [])].filter((i) => {
    const e = vs.release.files.get(i.path);
    return !e || e.sha256 !== i.sha256 || e.size !== i.size;
  });
  for (const i of unlisted) problems.push(`the signed release does not list ${suiteUrl(vs.ref.url, vs.ref.suite, i.path)} with sha256 ${i.sha256} (${i.size} bytes) as the lock records it`);
  if (problems.length > 0) return { status: "fail" as const, detail: problems.join("; "), ...(lag ? { hint: lag } : {}) };
  return `sha256 and signature by ${got.signedBy} verified; lists the ${suite.indexes.length} recorded indexes`;
}

/**
 * The recorded path origins of an architecture, looked up again in the Contents indexes the
 * verified releases list (never reusing the lock's answer: a lock cannot vouch for itself).
 */
async function auditPaths(fetcher: Fetcher, lock: Lockfile, arch: string, paths: LockedPathOrigin[], manifest: Manifest | undefined, verified: VerifiedSuite[]): Promise<AuditCheck> {
  const name = `paths ${arch}`;
  const suites = lock.sources.reduce((n, s) => n + s.suites.length, 0);
  if (!manifest || verified.length < suites) return { name, status: "unavailable", detail: "not checked: not every release was verified, so no signed hashes pin the Contents indexes" };
  return check(name, async () => {
    const { contentsChoices, findPathOrigins } = await import("../lock/contents-paths.js");
    const asked = paths.map((o) => ({ set: o.set, path: o.path }));
    const now = await findPathOrigins(fetcher, { manifest, arch, suites: verified, asked, choices: contentsChoices(manifest, verified, arch) });
    const differ = paths.filter((o, i) => o.listed !== now[i]!.listed || o.package !== now[i]!.package);
    if (differ.length === 0) return `${count(paths.length, "path")} of path-only sets, each shipped by its recorded package as the signed Contents indexes say`;
    return { status: "fail" as const, detail: differ.map((o) => `${o.path} (file set ${o.set}): the lock says ${o.package}, the Contents indexes say ${now[paths.indexOf(o)]!.package}`).join("; ") };
  });
}

/** The locked packages of a suite, checked against its indexes as the verified release pins them. */
async function auditIndexes(fetcher: Fetcher, lock: Lockfile, source: LockedSource, suite: LockedSuite, vs: VerifiedSuite) {
  const wanted = new Map<string, { sha256: string; size: number; url: string; arch: string }>();
  for (const [arch, a] of Object.entries(lock.architectures)) {
    for (const p of a.packages) {
      if (p.source === source.name && p.suite === suite.suite) wanted.set(`${p.name} ${p.version} ${p.architecture}`, { sha256: p.sha256, size: p.size, url: p.url, arch });
    }
  }
  const found = new Set<string>();
  const problems: string[] = [];
  for (const index of suite.indexes) {
    // Hashes from the signed release, not from the lock: a lock cannot vouch for itself.
    for await (const r of readIndex(fetcher, vs, indexChoice(vs, index.component, index.architecture, index.path))) {
      const key = `${r.name} ${r.version} ${r.architecture}`;
      const w = wanted.get(key);
      if (!w || found.has(key)) continue;
      found.add(key);
      if (r.sha256 !== w.sha256 || r.size !== w.size || `${source.url}/${r.filename}` !== w.url) problems.push(`${key}: the index says ${r.filename} size ${r.size} sha256 ${r.sha256}`);
    }
  }
  for (const key of wanted.keys()) if (!found.has(key)) problems.push(`${key}: not in the recorded indexes`);
  if (problems.length > 0) return { status: "fail" as const, detail: problems.join("; ") };
  return `${suite.indexes.length} indexes verified by the signed release's sha256; the ${wanted.size} locked packages from this suite are in them as recorded`;
}

async function auditLayer(fetcher: Fetcher, opts: AuditOptions, mirrors: MirrorPlan, lock: Lockfile, arch: string) {
  const locked = lock.architectures[arch]!;
  // No decoded-member cache, deliberately: an audit is the independent re-derivation from the
  // verified .debs (whose decoded members the build checks against the lock's digests).
  const { built, problems: differences } = await verifiedLayer(lock, arch, {
    fetcher,
    mirrors,
    compressions: LOCKED_COMPRESSIONS.filter((kind) => locked.layer.compressed[kind]),
  });
  if (differences.length === 0) return `rebuilt: diff_id ${built.diffId}, provenance, ${locked.derivations.length} derivations and ${LOCKED_COMPRESSIONS.join("/")} digests as recorded`;

  let paths: ReturnType<typeof diffProvenance> | undefined;
  let unlisted = "; the recorded provenance manifest is not in the cache (pass --provenance FILE, e.g. the .provenance.jsonl written beside the layer) to list the differing paths";
  try {
    const recorded = await recordedProvenance(opts.cache, opts.provenance, arch, locked.layer.provenance.sha256);
    if (recorded) paths = diffProvenance(recorded, parseProvenance(new TextDecoder().decode(built.provenance.bytes()), `the rebuilt provenance manifest of layer ${arch}`));
  } catch (e) {
    // An unreadable recorded manifest (another format version, damaged) only costs the path list.
    if (!(e instanceof ProvenanceError)) throw e;
    unlisted = `; the differing paths cannot be listed: ${e.message}${e.hint ? ` (${e.hint})` : ""}`;
  }
  return {
    status: "fail" as const,
    detail: differences.join("; ") + (paths ? `; ${paths.length} paths differ` : unlisted),
    ...(paths ? { paths } : {}),
  };
}

/** A description of the cache entry for sha256 when it exists but does not hash to its name. */
async function corruptCacheEntry(cache: ContentCache, sha256: string): Promise<string | undefined> {
  const path = cache.pathFor(sha256);
  const bytes = await readFile(path).catch(() => undefined);
  if (bytes === undefined) return undefined;
  const actual = createHash("sha256").update(bytes).digest("hex");
  return actual === sha256 ? undefined : `the cached copy ${path} is corrupt (its sha256 is ${actual})`;
}
