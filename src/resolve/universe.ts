/**
 * The installable world for one target architecture: every package record whose Architecture
 * is the target or "all", indexed by package name and by the virtual names it Provides.
 *
 * We build one layer per architecture, so records of other architectures are ignored here
 * (even Multi-Arch: foreign ones; a FROM-scratch layer holds no foreign-arch packages).
 *
 * Ordering of candidates for one name, most preferred first:
 *   1. version, highest first (dpkg order, across every suite and source);
 *   2. the target architecture before "all" for the same version (rare; deterministic);
 *   3. for an identical (name, version, architecture) only the FIRST record seen is kept — the
 *      caller passes records in manifest order (sources, then suites), which is how apt treats
 *      the same version offered by several suites. This is the one place where input order
 *      matters; everything else is independent of it.
 */

import { ResolveError } from "../model/errors.js";
import type { PackageRecord } from "../model/package.js";
import { parseRelations, type Relation } from "../debian/relations.js";
import { compareVersions, isValidVersion } from "../debian/version.js";

/** One package offering a virtual name, with the version of a versioned `Provides: name (= v)`. */
export interface Provider {
  record: PackageRecord;
  /** Set only for a versioned Provides; an unversioned one satisfies only unversioned dependencies. */
  version?: string;
}

function describe(r: PackageRecord): string {
  return `${r.name} ${r.version} (${r.architecture}) from ${r.origin.source} ${r.origin.suite}/${r.origin.component}`;
}

export class Universe {
  readonly arch: string;
  private readonly byName = new Map<string, PackageRecord[]>();
  private readonly byProvides = new Map<string, Provider[]>();

  constructor(arch: string, records: Iterable<PackageRecord>) {
    this.arch = arch;
    const seen = new Map<string, Array<{ r: PackageRecord; i: number }>>();
    let i = 0;
    for (const r of records) {
      if (r.architecture !== arch && r.architecture !== "all") continue;
      if (!isValidVersion(r.version)) {
        throw new ResolveError(`package ${describe(r)} has an invalid Version ${JSON.stringify(r.version)}`, {
          hint: "the archive index is malformed; report it to the archive's maintainers or drop that source",
        });
      }
      let list = seen.get(r.name);
      if (!list) seen.set(r.name, (list = []));
      list.push({ r, i: i++ });
    }

    for (const [name, list] of seen) {
      list.sort((a, b) => {
        const v = compareVersions(b.r.version, a.r.version);
        if (v !== 0) return v;
        const archRank = (x: PackageRecord): number => (x.architecture === arch ? 0 : 1);
        const ar = archRank(a.r) - archRank(b.r);
        if (ar !== 0) return ar;
        return a.i - b.i; // first seen wins (documented above)
      });
      // Most names have one record: a one-element literal is a third of the size of an array
      // grown by push (V8 gives those room for 17), which over ~65k names is megabytes.
      const kept: PackageRecord[] = [list[0]!.r];
      for (const { r } of list) {
        const prev = kept[kept.length - 1]!;
        if (prev.architecture === r.architecture && compareVersions(prev.version, r.version) === 0) continue;
        kept.push(r);
      }
      this.byName.set(name, kept);
    }

    // Provides, from the kept records only, so a shadowed duplicate cannot provide anything.
    for (const name of [...this.byName.keys()].sort()) {
      for (const r of this.byName.get(name)!) {
        for (const p of providedBy(r)) {
          const provider: Provider = p.version !== undefined ? { record: r, version: p.version } : { record: r };
          const list = this.byProvides.get(p.name);
          // A one-element literal, as for byName: most virtual names have one provider.
          if (list) list.push(provider);
          else this.byProvides.set(p.name, [provider]);
        }
      }
    }
    // Already in (provider name, provider version desc) order because names were visited sorted.
  }

  /** Real packages called `name`, most preferred first (see the module comment). */
  candidates(name: string): readonly PackageRecord[] {
    return this.byName.get(name) ?? [];
  }

  /** Packages providing the virtual name `name`, sorted by provider name then version, highest first. */
  providers(name: string): readonly Provider[] {
    return this.byProvides.get(name) ?? [];
  }

  /** Whether anything, real or virtual, answers to `name` on this architecture. */
  knows(name: string): boolean {
    return this.byName.has(name) || this.byProvides.has(name);
  }

  /** Names of the real packages, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }
}

/** A record's relationship field, parsed; a malformed one is a ResolveError naming the package and the field. */
export function recordRelations(r: PackageRecord, field: string, text: string): Relation[][] {
  try {
    return parseRelations(text);
  } catch (e) {
    throw new ResolveError(`package ${describe(r)}: ${field}: ${(e as Error).message}`, {
      hint: "the archive index is malformed; report it to the archive's maintainers or drop that source",
      cause: e,
    });
  }
}

/** The (name, version?) pairs a record's Provides field declares. */
export function providedBy(r: PackageRecord): Array<{ name: string; version?: string }> {
  if (r.provides.trim() === "") return [];
  const groups = recordRelations(r, "Provides", r.provides);
  const out: Array<{ name: string; version?: string }> = [];
  for (const group of groups) {
    for (const rel of group) {
      // Policy only allows "(= v)" in Provides; any other operator is treated as unversioned.
      out.push(rel.op === "=" && rel.version !== undefined ? { name: rel.name, version: rel.version } : { name: rel.name });
    }
  }
  return out;
}
