import type { LockedPackage, LockedSource } from "../model/lock.js";
import type { MirrorPlan } from "../sources/mirrors.js";
import { LockfileError } from "../model/errors.js";

/** The URLs to fetch a locked package from: its path under each fetch base (mirrors first). */
export function packageUrls(sources: readonly LockedSource[], mirrors: MirrorPlan | undefined, pkg: LockedPackage): string[] {
  const source = sources.find((s) => s.name === pkg.source);
  if (!source || !pkg.url.startsWith(source.url + "/")) {
    throw new LockfileError(`package ${pkg.name}: its URL ${pkg.url} is not under source ${pkg.source}'s URL`, { hint: "run scratch-pkgs lock to make a consistent lock" });
  }
  const rel = pkg.url.slice(source.url.length + 1);
  const bases = mirrors ? mirrors.basesFor(source.name, pkg.suite) : [source.url];
  return bases.map((b) => `${b}/${rel}`);
}

/** The manifest-like view of a lock's sources that planMirrors needs. */
export function sourcesForMirrors(sources: readonly LockedSource[]) {
  return sources.map((s) => ({ name: s.name, url: s.url, suites: s.suites.map((x) => x.suite), components: [], keyring: "", allowExpired: false }));
}
