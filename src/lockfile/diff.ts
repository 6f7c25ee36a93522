import type { Lockfile, LockedRequest } from "../model/lock.js";
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
  for (const arch of arches) {
    const a = old.architectures[arch];
    const b = cur.architectures[arch];
    if (a && b && a.layer?.diffId !== b.layer?.diffId) out.push(`${arch}: layer ${a.layer?.diffId ?? "(none)"} → ${b.layer?.diffId}`);
    if (a && b && canonicalJson(a.derivations ?? []) !== canonicalJson(b.derivations ?? [])) {
      const changed = (b.derivations ?? []).filter((d) => canonicalJson(d) !== canonicalJson((a.derivations ?? []).find((x) => x.recipe === d.recipe) ?? {}));
      out.push(`${arch}: derivations changed: ${changed.map((d) => d.recipe).join(", ") || "removed"}`);
    }
  }
  if (out.length === 0) out.push("formatting or field order differs from canonical form");
  return out;
}

/** Requests (per-architecture or optional) added, removed, or applying elsewhere, by reason and name. */
function describeRequestChanges(old: readonly LockedRequest[], cur: readonly LockedRequest[]): string[] {
  const key = (r: LockedRequest) => `${r.reason} ${r.name}`;
  const scope = (r: LockedRequest) => `${r.architectures ? r.architectures.join(", ") : "every architecture"}${r.optional ? ", optional" : ""}`;
  const a = new Map(old.map((r) => [key(r), r]));
  const b = new Map(cur.map((r) => [key(r), r]));
  const out: string[] = [];
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(k);
    const y = b.get(k);
    if (x && !y) out.push(`request ${x.reason} (${x.name}): removed (was ${scope(x)})`);
    else if (!x && y) out.push(`request ${y.reason} (${y.name}): new (${scope(y)})`);
    else if (x && y && scope(x) !== scope(y)) out.push(`request ${y.reason} (${y.name}): ${scope(x)} → ${scope(y)}`);
  }
  return out;
}
