/**
 * The order in which apt (2.6 and 3.0, classic solver) tries the packages that can satisfy one
 * alternative of a dependency, most preferred first. Our record of apt's rules, for an empty
 * dpkg status and one architecture:
 *
 *   1. a package the lock already pins (our stand-in for apt's "installed");
 *   2. the real package of the dependency's name before any package that only Provides it;
 *   3. Essential: yes;
 *   4. Important: yes (or Protected: yes);
 *   5. Priority: required, important, standard, optional, extra (an unknown word ranks as
 *      extra; a missing field, as apt reads it, before required);
 *   6. tie-break: package name in byte order. apt's own last rule is the order in which it met
 *      the names while reading the indexes, which would make the result depend on index order;
 *      the name is the documented, order-free stand-in.
 */
import type { PackageRecord } from "../model/package.js";

const PRIORITY_RANK: Readonly<Record<string, number>> = {
  "": 0,
  required: 1,
  important: 2,
  standard: 3,
  optional: 4,
  extra: 5,
};

export function priorityRank(priority: string): number {
  return PRIORITY_RANK[priority.toLowerCase()] ?? PRIORITY_RANK["extra"]!;
}

/** apt forces these Essential and Important whatever their stanza says (pkgCacheGen::ForceEssential). */
const FORCED_ESSENTIAL = new Set(["apt"]);

function essential(r: PackageRecord): boolean {
  return r.essential || FORCED_ESSENTIAL.has(r.name);
}

function important(r: PackageRecord): boolean {
  return r.important || FORCED_ESSENTIAL.has(r.name);
}

/**
 * A comparator for candidates satisfying a dependency on `target`: negative when `a` is tried
 * before `b`. `pinned` says whether the lock pins a package at the version offered.
 */
export function compareProviders(target: string, pinned: (r: PackageRecord) => boolean) {
  const key = (r: PackageRecord): number[] => [
    pinned(r) ? 0 : 1,
    r.name === target ? 0 : 1,
    essential(r) ? 0 : 1,
    important(r) ? 0 : 1,
    priorityRank(r.priority),
  ];
  return (a: PackageRecord, b: PackageRecord): number => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  };
}
