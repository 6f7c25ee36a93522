/**
 * The derivation steps a layer runs, by recipe name: the lock records each step's recipe and
 * options, and `layer` runs exactly those, in that order.
 */
import type { Derivation, DerivationInput } from "../derive/types.js";
import { usrMergeLinks, USR_MERGE_RECIPE } from "../derive/usr-merge.js";
import { baseFiles, BASE_FILES_RECIPE } from "../derive/base-files.js";
import { caCertificates, CA_CERTIFICATES_RECIPE } from "../derive/ca-certificates.js";
import { timezone, TIMEZONE_RECIPE } from "../derive/timezone.js";
import { opensslPaths, OPENSSL_PATHS_RECIPE } from "../derive/openssl-paths.js";
import { dpkgStatus, DPKG_STATUS_RECIPE, type DpkgStatusPackage } from "../derive/dpkg-status.js";
import { LockfileError } from "../model/errors.js";
import { BUILTIN_FILE_SETS, builtinFileSetSpec } from "../model/builtin-file-sets.js";

export interface DerivationStep {
  recipe: string;
  options: Record<string, string | number | boolean>;
}

export type PackageFiles = DpkgStatusPackage;

export function runDerivation(step: DerivationStep, input: DerivationInput, packages: readonly PackageFiles[]): Derivation {
  const o = step.options;
  switch (step.recipe) {
    case USR_MERGE_RECIPE:
      return usrMergeLinks(input, { arch: String(o.arch) });
    case BASE_FILES_RECIPE:
      return baseFiles(input, {});
    case CA_CERTIFICATES_RECIPE:
      return caCertificates(input, { links: o.links !== false });
    case OPENSSL_PATHS_RECIPE:
      return opensslPaths(input, {});
    case TIMEZONE_RECIPE:
      return timezone(input, { timezone: String(o.timezone ?? "UTC") });
    case DPKG_STATUS_RECIPE:
      return dpkgStatus(packages);
    default:
      throw new LockfileError(`unknown derivation recipe "${step.recipe}" in the lock`, { hint: "the lock was made by another version of scratch-pkgs: upgrade, or run scratch-pkgs lock" });
  }
}

/** The steps a manifest asks for on one architecture, in their fixed order. */
export function derivationSteps(opts: { arch: string; fileSets: ReadonlyArray<{ name: string; timezone?: string }>; dpkgStatus: boolean }): DerivationStep[] {
  const steps: DerivationStep[] = [{ recipe: USR_MERGE_RECIPE, options: { arch: opts.arch } }];
  // The built-in sets' own derivations, in the table's (sorted) order.
  for (const name of BUILTIN_FILE_SETS) {
    const set = opts.fileSets.find((s) => s.name === name);
    if (set) for (const d of builtinFileSetSpec(name)!.derivations) steps.push({ recipe: d.recipe, options: d.options(set) });
  }
  if (opts.dpkgStatus) steps.push({ recipe: DPKG_STATUS_RECIPE, options: {} });
  return steps;
}
