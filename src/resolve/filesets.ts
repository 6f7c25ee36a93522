/**
 * File sets as the resolver plans them: the built-in ones from their table
 * (model/builtin-file-sets), user-defined ones from the manifest.
 */

import { builtinFileSetSpec, DEFAULT_EXCLUDE } from "../model/builtin-file-sets.js";

export { DEFAULT_EXCLUDE };

export interface FileSetPackage {
  name: string;
  include: string[];
  exclude: string[];
  /** Optional packages may be absent on some architectures without failing the lock. */
  optional?: boolean;
}

export interface FileSetPlan {
  name: string;
  builtin: boolean;
  packages: FileSetPackage[];
  /** Whether the dependencies of these packages are resolved by the manifest's policy. */
  followDependencies: boolean;
}

/** The whole of a package, as taken for dependencies and for `packages` entries. */
export const WHOLE_PACKAGE = ["/**"];

export function builtinFileSet(name: string): FileSetPlan | undefined {
  const spec = builtinFileSetSpec(name);
  if (!spec) return undefined;
  return {
    name,
    builtin: true,
    followDependencies: spec.followDependencies,
    packages: spec.packages.map((p) => ({ name: p.name, include: [...p.include], exclude: [...p.exclude] })),
  };
}

export function userFileSet(name: string, packages: string[], paths: string[], exclude: string[]): FileSetPlan {
  return {
    name,
    builtin: false,
    followDependencies: true,
    packages: packages.map((p) => ({ name: p, include: [...paths], exclude: [...exclude] })),
  };
}
