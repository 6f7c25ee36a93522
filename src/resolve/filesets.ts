/**
 * File sets as the resolver plans them: the built-in ones from their table
 * (model/builtin-file-sets), user-defined ones from the manifest.
 */

import { builtinFileSetSpec, DEFAULT_EXCLUDE } from "../model/builtin-file-sets.js";
import { setPackageName, setPackageScope, type RequestScope, type SetPackage } from "../model/manifest.js";
import type { LockedPathOrigin } from "../model/lock.js";

export { DEFAULT_EXCLUDE };

/** A set's package; its scope says on which architectures it is requested and whether it may be missing there. */
export interface FileSetPackage extends RequestScope {
  name: string;
  include: string[];
  exclude: string[];
}

export interface FileSetPlan {
  name: string;
  builtin: boolean;
  packages: FileSetPackage[];
  /** Whether the dependencies of these packages are resolved by the manifest's policy. */
  followDependencies: boolean;
  /**
   * Whether `lock` fails when one of the include globs takes nothing from the set's packages on
   * some architecture (as chisel refuses "no content at …"). True for user sets: such a glob is
   * a typo or names the wrong package, and the layer would silently lack what was asked for.
   * False for built-in sets: their globs are written once for every architecture's layout
   * (libc's /lib64/** has the loader on amd64 and nothing on arm64), so an empty match there is
   * expected; what each built-in set takes is checked by its own tests instead.
   */
  everyGlobMustMatch: boolean;
}

/** The whole of a package, as taken for dependencies and for `packages` entries. */
export const WHOLE_PACKAGE = ["/**"];

export function builtinFileSet(name: string): FileSetPlan | undefined {
  const spec = builtinFileSetSpec(name);
  if (!spec) return undefined;
  return {
    name,
    builtin: true,
    everyGlobMustMatch: false,
    followDependencies: spec.followDependencies,
    packages: spec.packages.map((p) => ({ name: p.name, include: [...p.include], exclude: [...p.exclude] })),
  };
}

export function userFileSet(name: string, packages: readonly SetPackage[], paths: string[], exclude: string[]): FileSetPlan {
  return {
    name,
    builtin: false,
    everyGlobMustMatch: true,
    followDependencies: true,
    packages: packages.map((p) => ({ name: setPackageName(p), include: [...paths], exclude: [...exclude], ...setPackageScope(p) })),
  };
}

/**
 * A path-only set on one architecture: each package the Contents index named takes exactly the
 * paths it ships there, spelt as it ships them (the merged-/usr twin where the index lists that).
 */
export function pathOnlyFileSet(name: string, origins: readonly LockedPathOrigin[]): FileSetPlan {
  const byPackage = new Map<string, Set<string>>();
  for (const o of origins) {
    if (o.set !== name) continue;
    (byPackage.get(o.package) ?? byPackage.set(o.package, new Set()).get(o.package)!).add(o.listed);
  }
  return {
    name,
    builtin: false,
    everyGlobMustMatch: true,
    followDependencies: true,
    packages: [...byPackage.keys()].sort().map((p) => ({ name: p, include: [...byPackage.get(p)!].sort(), exclude: [] })),
  };
}
