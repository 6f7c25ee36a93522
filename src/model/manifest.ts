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
  /** Package names, at least one. */
  packages: string[];
  /** Absolute path globs (picomatch) to take from those packages, at least one. */
  paths: string[];
  /** Absolute path globs to leave out. Default []. */
  exclude: string[];
}

export type FileSet = BuiltinFileSet | TzdataFileSet | UserFileSet;

export interface PackageSpec {
  name: string;
  /** Exact version from "name=version"; absent for "name". */
  version?: string;
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
