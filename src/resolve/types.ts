import type { PackageRecord } from "../model/package.js";

export type DependencyPolicy = "none" | "closure";

/** One thing the manifest asks for, for one architecture. */
export interface PackageRequest {
  /** Package name, possibly with ":arch" is NOT allowed here; virtual names are. */
  name: string;
  /** Optional version constraint, e.g. { op: ">=", version: "2.36" } (from "name (>= 2.36)" or "name=2.36"). */
  constraint?: { op: "<<" | "<=" | "=" | ">=" | ">>"; version: string };
  /** Why it is requested, e.g. "file set libc" or "packages[2]". */
  reason: string;
  /** When true, an unavailable package on this architecture is not an error (reported as skipped). */
  optional?: boolean;
}

export interface ResolvedPackage {
  record: PackageRecord;
  /** Human-readable reasons, sorted, each a chain: "file set libc", "file set libc → libc6 → libgcc-s1". */
  reasons: string[];
}

export interface ResolveResult {
  architecture: string;
  /** Sorted by name, then architecture. */
  packages: ResolvedPackage[];
  /** Optional requests that did not exist on this architecture, with why. */
  skipped: Array<{ name: string; reason: string }>;
}
