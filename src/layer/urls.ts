import type { LockedPackage } from "../model/lock.js";
import type { MirrorPlan, MirrorSource } from "../sources/mirrors.js";
import { LockfileError } from "../model/errors.js";

/** The URLs to fetch a locked package from: its path under each fetch base (mirrors first). */
export function packageUrls(sources: readonly MirrorSource[], mirrors: MirrorPlan | undefined, pkg: Pick<LockedPackage, "name" | "source" | "suite" | "url">): string[] {
  const source = sources.find((s) => s.name === pkg.source);
  if (!source || !pkg.url.startsWith(source.url + "/")) {
    throw new LockfileError(`package ${pkg.name}: its URL ${pkg.url} is not under source ${pkg.source}'s URL`, { hint: "run scratch-pkgs lock to make a consistent lock" });
  }
  const rel = pkg.url.slice(source.url.length + 1);
  const bases = mirrors ? mirrors.basesFor(source.name, pkg.suite) : [source.url];
  return bases.map((b) => `${b}/${rel}`);
}
