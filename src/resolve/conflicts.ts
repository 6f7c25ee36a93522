/**
 * Conflicts and Breaks between the packages of one architecture's result: apt installs no two
 * packages one of which names the other there (by name and version, or through a virtual name
 * the other provides; a package never conflicts with itself, which is how "only one provider of
 * a virtual name" is written). Debian's closures avoid them; a manifest asking for two
 * conflicting packages (libcurl4-gnutls-dev and libcurl4-openssl-dev) would make a layer no apt
 * would, with one package's files silently over the other's, so it is refused.
 */
import { satisfiesVersion, archRestrictionMatches, formatRelation, type Relation } from "../debian/relations.js";
import type { PackageRecord } from "../model/package.js";
import { providedBy, recordRelations } from "./universe.js";

export interface PackageConflict {
  /** The package whose field names the other. */
  by: PackageRecord;
  field: "Conflicts" | "Breaks";
  relation: string;
  /** The package it names (or that provides the name). */
  other: PackageRecord;
}

/** The first conflict among `records` (in name order), or undefined. Pure. */
export function findConflict(records: readonly PackageRecord[], arch: string): PackageConflict | undefined {
  const sorted = [...records].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const byName = new Map(sorted.map((r) => [r.name, r]));
  const providers = new Map<string, Array<{ record: PackageRecord; version?: string }>>();
  for (const r of sorted) {
    for (const p of providedBy(r)) {
      const list = providers.get(p.name) ?? [];
      list.push({ record: r, ...(p.version !== undefined ? { version: p.version } : {}) });
      providers.set(p.name, list);
    }
  }
  const hits = (rel: Relation, self: PackageRecord): PackageRecord | undefined => {
    const real = byName.get(rel.name);
    if (real !== undefined && real !== self && (rel.op === undefined || satisfiesVersion(real.version, rel.op, rel.version!))) return real;
    for (const p of providers.get(rel.name) ?? []) {
      if (p.record === self) continue;
      // An unversioned relation hits every provider; a versioned one only a versioned Provides that fits.
      if (rel.op === undefined || (p.version !== undefined && satisfiesVersion(p.version, rel.op, rel.version!))) return p.record;
    }
    return undefined;
  };
  for (const r of sorted) {
    for (const field of ["Conflicts", "Breaks"] as const) {
      const text = field === "Conflicts" ? r.conflicts : r.breaks;
      if (text.trim() === "") continue;
      for (const group of recordRelations(r, field, text)) {
        for (const rel of group) {
          if (!archRestrictionMatches(rel.archRestriction, arch)) continue;
          const other = hits(rel, r);
          if (other !== undefined) return { by: r, field, relation: formatRelation(rel), other };
        }
      }
    }
  }
  return undefined;
}

