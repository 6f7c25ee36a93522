import type { Lockfile, LockedLayer, LockedPathOrigin, LockedRequest } from "../model/lock.js";
import { canonicalJson } from "../util/canonical-json.js";

/** Human lines saying what differs between two locks: packages added, removed, changed; releases moved; requests. */
export function describeLockChanges(old: Lockfile | undefined, cur: Lockfile): string[] {
  if (!old) return [];
  const out: string[] = [];
  if (old.lockfileVersion !== cur.lockfileVersion) out.push(`lockfile format ${old.lockfileVersion} → ${cur.lockfileVersion}`);
  if (old.manifest.sha256 !== cur.manifest.sha256) out.push(`manifest ${old.manifest.file} changed`);
  for (const s of cur.sources) {
    const os = old.sources.find((x) => x.name === s.name);
    for (const suite of s.suites) {
      const prev = os?.suites.find((x) => x.suite === suite.suite);
      if (!prev) out.push(`source ${s.name} ${suite.suite}: new`);
      else if (prev.release.sha256 !== suite.release.sha256) out.push(`source ${s.name} ${suite.suite}: release ${prev.date} → ${suite.date}`);
    }
  }
  out.push(...describeRequestChanges(old.requests ?? [], cur.requests ?? []));
  const arches = [...new Set([...Object.keys(old.architectures), ...Object.keys(cur.architectures)])].sort();
  for (const arch of arches) {
    const a = new Map((old.architectures[arch]?.packages ?? []).map((p) => [p.name, p]));
    const b = new Map((cur.architectures[arch]?.packages ?? []).map((p) => [p.name, p]));
    for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
      const x = a.get(name);
      const y = b.get(name);
      // Canonical forms: a lock read from disk has its keys in another order than a fresh one.
      if (x && !y) out.push(`${arch}: - ${name} ${x.version}`);
      else if (!x && y) out.push(`${arch}: + ${name} ${y.version}`);
      else if (x && y && (x.version !== y.version || x.sha256 !== y.sha256)) out.push(`${arch}: ${name} ${x.version} → ${y.version}`);
      else if (x && y && canonicalJson({ ...x, decoded: undefined }) !== canonicalJson({ ...y, decoded: undefined })) out.push(`${arch}: ${name}: reasons or selection changed`);
      else if (x && y && canonicalJson(x) !== canonicalJson(y)) out.push(`${arch}: ${name}: decoded member digests ${x.decoded ? "changed" : "recorded"}`);
    }
  }
  for (const arch of arches) out.push(...describePathChanges(arch, old.architectures[arch]?.paths ?? [], cur.architectures[arch]?.paths ?? []));
  for (const arch of arches) {
    const a = old.architectures[arch];
    const b = cur.architectures[arch];
    if (a && b && a.layer?.diffId !== b.layer?.diffId) out.push(`${arch}: layer ${a.layer?.diffId ?? "(none)"} → ${b.layer?.diffId}`);
    if (a?.layer && b?.layer) out.push(...describeBlobChanges(arch, a.layer.compressed, b.layer.compressed));
    if (a && b && canonicalJson(a.derivations ?? []) !== canonicalJson(b.derivations ?? [])) {
      const changed = (b.derivations ?? []).filter((d) => canonicalJson(d) !== canonicalJson((a.derivations ?? []).find((x) => x.recipe === d.recipe) ?? {}));
      out.push(`${arch}: derivations changed: ${changed.map((d) => d.recipe).join(", ") || "removed"}`);
    }
  }
  if (out.length === 0) out.push("formatting or field order differs from canonical form");
  return out;
}

/** Compressed blobs whose digest changed, or only the compressor that made them (an upgrade that writes the same bytes). */
function describeBlobChanges(arch: string, old: LockedLayer["compressed"], cur: LockedLayer["compressed"]): string[] {
  const out: string[] = [];
  for (const kind of [...new Set([...Object.keys(old), ...Object.keys(cur)])].sort()) {
    const x = old[kind];
    const y = cur[kind];
    if (x?.digest !== y?.digest) out.push(`${arch}: ${kind} blob ${x?.digest ?? "(none)"} → ${y?.digest ?? "(none)"}`);
    else if (x && y && canonicalJson(x.settings) !== canonicalJson(y.settings)) {
      out.push(`${arch}: ${kind} made by ${x.settings.compressor}${x.settings.compressor === y.settings.compressor ? " with other settings" : ` → ${y.settings.compressor}`} (the same bytes)`);
    }
  }
  return out;
}

/**
 * Entries of two keyed lists that were added, removed, or whose `value` (what the line shows)
 * differs, in key order; `line` words each one.
 */
function keyedChanges<T>(old: readonly T[], cur: readonly T[], key: (t: T) => string, value: (t: T) => string, line: (was: T | undefined, now: T | undefined) => string): string[] {
  const a = new Map(old.map((t) => [key(t), t]));
  const b = new Map(cur.map((t) => [key(t), t]));
  return [...new Set([...a.keys(), ...b.keys()])]
    .sort()
    .filter((k) => !a.has(k) || !b.has(k) || value(a.get(k)!) !== value(b.get(k)!))
    .map((k) => line(a.get(k), b.get(k)));
}

/** Requests (per-architecture or optional) added, removed, or applying elsewhere, by reason and name. */
function describeRequestChanges(old: readonly LockedRequest[], cur: readonly LockedRequest[]): string[] {
  const scope = (r: LockedRequest) => `${r.architectures ? r.architectures.join(", ") : "every architecture"}${r.optional ? ", optional" : ""}`;
  return keyedChanges(old, cur, (r) => `${r.reason} ${r.name}`, scope, (x, y) => {
    if (!y) return `request ${x!.reason} (${x!.name}): removed (was ${scope(x!)})`;
    if (!x) return `request ${y.reason} (${y.name}): new (${scope(y)})`;
    return `request ${y.reason} (${y.name}): ${scope(x)} → ${scope(y)}`;
  });
}

/** Paths of path-only sets whose package (as Contents names it) is new, gone or another, by set and path. */
function describePathChanges(arch: string, old: readonly LockedPathOrigin[], cur: readonly LockedPathOrigin[]): string[] {
  const from = (o: LockedPathOrigin) => `${o.package}${o.listed !== o.path ? ` (listed as ${o.listed})` : ""}`;
  return keyedChanges(old, cur, (o) => `${o.set}\0${o.path}`, from, (x, y) => {
    if (!y) return `${arch}: - path ${x!.path} (file set ${x!.set}) from ${from(x!)}`;
    if (!x) return `${arch}: + path ${y.path} (file set ${y.set}) from ${from(y)}`;
    return `${arch}: path ${y.path} (file set ${y.set}): from ${from(x)} → ${from(y)}`;
  });
}
