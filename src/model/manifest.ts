/**
 * The manifest (scratch.json) after validation: every optional field defaulted, URLs without a
 * trailing slash, file sets as a list sorted by name. Its canonical JSON is what the lock's
 * manifest sha256 covers, so only the meaning of the file matters, not its layout.
 */
import type { BUILTIN_FILE_SET_TABLE } from "./builtin-file-sets.js";

export type DependencyPolicy = "none" | "closure";

export interface ManifestSource {
  /** Unique, /^[a-z0-9][a-z0-9._-]*$/. */
  name: string;
  /** http(s) base URL, no trailing slash, no query or fragment. */
  url: string;
  /** At least one, unique, in manifest order. */
  suites: string[];
  /** Default ["main"]. */
  components: string[];
  /**
   * Keyring path as written, relative to the manifest's directory (normalised, "/" separators).
   * Use keyringPath(dir, source) from load.ts for the file to open.
   */
  keyring: string;
  /** Accept an expired Valid-Until (snapshot archives). Default false. */
  allowExpired: boolean;
}

/** A built-in set without options (the table, model/builtin-file-sets, has them all). */
export interface BuiltinFileSet {
  kind: Exclude<keyof typeof BUILTIN_FILE_SET_TABLE, "tzdata">;
  name: Exclude<keyof typeof BUILTIN_FILE_SET_TABLE, "tzdata">;
}

export interface TzdataFileSet {
  kind: "tzdata";
  name: "tzdata";
  /** "UTC" (default) or "Area/City": target of /etc/localtime and content of /etc/timezone. */
  timezone: string;
}

export interface UserFileSet {
  kind: "user";
  /** /^[a-z0-9][a-z0-9-]*$/, not a built-in name, not "packages" and not "copyright". */
  name: string;
  /**
   * Its packages, at least one: plain names, or names with a scope (see SetPackage). Absent: a
   * path-only set, whose `paths` are exact paths and whose packages `lock` finds per
   * architecture through the archive's signed Contents index.
   */
  packages?: SetPackage[];
  /** Absolute path globs (picomatch) to take from those packages, at least one; exact paths in a path-only set. */
  paths: string[];
  /** Absolute path globs to leave out. Default []. */
  exclude: string[];
  /**
   * A path-only set's architectures (as written; absent: every one): its exact paths, which often
   * name an architecture's triplet, are looked up there only. A set with packages scopes those instead.
   */
  architectures?: string[];
}

export type FileSet = BuiltinFileSet | TzdataFileSet | UserFileSet;

/** A user set that names only paths: its packages are found through Contents. */
export function isPathOnlySet(set: FileSet): set is UserFileSet & { packages: undefined } {
  return set.kind === "user" && set.packages === undefined;
}

/**
 * Where a request applies. Both fields are absent for a plain entry, so that a manifest without
 * scoped requests keeps its canonical form (and the sha256 its lock records).
 */
export interface RequestScope {
  /** Only on these of the manifest's architectures (as written); absent: on every one. */
  architectures?: string[];
  /** Missing on one of its architectures is not an error there: the lock records it as skipped. Only `true` is kept. */
  optional?: true;
}

export interface PackageSpec extends RequestScope {
  name: string;
  /** Exact version from "name=version"; absent for "name". */
  version?: string;
}

/** A user file set's package: a plain name, or a scoped one (an entry with no scope stays a plain name). */
export type SetPackage = string | ({ name: string } & RequestScope);

export function setPackageName(p: SetPackage): string {
  return typeof p === "string" ? p : p.name;
}

/** The scope of a set's package ({} for a plain name). */
export function setPackageScope(p: SetPackage): RequestScope {
  if (typeof p === "string") return {};
  return { ...(p.architectures ? { architectures: p.architectures } : {}), ...(p.optional ? { optional: true as const } : {}) };
}

/** Whether a request with this scope is made on `arch`. */
export function appliesOn(scope: RequestScope, arch: string): boolean {
  return scope.architectures === undefined || scope.architectures.includes(arch);
}

export interface Manifest {
  sources: ManifestSource[];
  /** Debian architecture names, at least one, unique, never "all". Manifest order. */
  architectures: string[];
  /** Default "none". */
  policy: DependencyPolicy;
  /** Sorted by name. */
  fileSets: FileSet[];
  /** Whole packages, in manifest order (reasons refer to them as packages[i]). Default []. */
  packages: PackageSpec[];
  /** Write /var/lib/dpkg/status.d entries. Default true. */
  dpkgStatus: boolean;
  /** Ship every locked package's /usr/share/doc/<pkg>/copyright (its licence notice). Default true. */
  copyright: boolean;
}

export interface LoadedManifest {
  manifest: Manifest;
  /** sha256 (hex) of canonicalJson(manifest). */
  sha256: string;
  /** Absolute directory of the manifest file (keyrings are relative to it). */
  dir: string;
  /** The manifest path as given. */
  file: string;
}
