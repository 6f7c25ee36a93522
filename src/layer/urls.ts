import type { LockedPackage } from "../model/lock.js";
import type { MirrorPlan, MirrorSource } from "../sources/mirrors.js";
import { LockfileError } from "../model/errors.js";
import { packagePath } from "../lockfile/package-url.js";

/** The URLs to fetch a locked package from: its path under each fetch base (mirrors first). */
export function packageUrls(sources: readonly MirrorSource[], mirrors: MirrorPlan | undefined, pkg: Pick<LockedPackage, "name" | "source" | "suite" | "url">): string[] {
  // readLockfile refuses such a lock already; this guards a Lockfile built in code.
  const refuse = (problem: string) => new LockfileError(`package ${pkg.name}: ${problem}`, { hint: "run scratch-pkgs lock to make a consistent lock" });
  const source = sources.find((s) => s.name === pkg.source);
  if (!source) throw refuse(`source ${pkg.source} is not in the lock`);
  const under = packagePath(source.url, pkg.url);
  if ("problem" in under) throw refuse(under.problem);
  const bases = mirrors ? mirrors.basesFor(source.name, pkg.suite) : [source.url];
  return bases.map((b) => `${b}/${under.path}`);
}
