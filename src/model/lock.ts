/**
 * scratch.lock, format 1.x. Written as canonical JSON (src/util/canonical-json.ts).
 * Minor versions may add optional fields; a reader accepts any 1.x it knows the major of.
 */
export const LOCKFILE_VERSION = "1.3.0";
/** semver range of lockfile versions this build reads. */
export const LOCKFILE_SUPPORTED = "^1.0.0";

export interface Lockfile {
  lockfileVersion: string;
  /** sha256 of the manifest's canonical JSON (a stale lock is detected by comparing it). */
  manifest: { file: string; sha256: string };
  /** Seconds since the epoch: the InRelease Date of the newest suite. mtime of every layer entry. */
  sourceDateEpoch: number;
  policy: "none" | "closure";
  sources: LockedSource[];
  /** Keyed by Debian architecture name. */
  architectures: Record<string, LockedArchitecture>;
  /**
   * The manifest's requests that apply only on some architectures or may be missing (since
   * 1.2.0), sorted by reason then name; every other request applies on every architecture and
   * is not listed. Absent when there is none.
   */
  requests?: LockedRequest[];
}

/** A request with a scope: where it applies, and whether it may be missing there. */
export interface LockedRequest {
  /** What its reason chains start with: "packages[2]" or "file set tools". */
  reason: string;
  /** The package name as the manifest writes it. */
  name: string;
  /** Sorted; absent: every architecture of the lock. */
  architectures?: string[];
  optional?: true;
}

export interface LockedSource {
  name: string;
  /** The manifest's base URL (never a mirror's). */
  url: string;
  suites: LockedSuite[];
}

export interface LockedSuite {
  suite: string;
  /** "InRelease", or "Release" when the archive had no InRelease and Release.gpg was used. */
  release: { path: string; sha256: string; size: number; signature?: { path: string; sha256: string; size: number } };
  /** The Release `Date` and `Valid-Until` fields as written in the file (Valid-Until null when absent). */
  date: string;
  validUntil: string | null;
  /** Fingerprint (upper-case hex) of the primary key whose signature verified the release. */
  signedBy: string;
  /** The Packages indexes read, as the Release lists them (the form fetched: xz, gz or plain). */
  indexes: LockedIndex[];
  /**
   * The Contents indexes the packages of path-only file sets were found in (since 1.3.0), as
   * the Release lists them; absent when none was read. A re-lock whose release lists the same
   * ones (by sha256) reuses the recorded answers (LockedArchitecture.paths) instead of reading them.
   */
  contents?: LockedIndex[];
}

export interface LockedIndex {
  component: string;
  architecture: string;
  /** Path below dists/<suite>/, e.g. "main/binary-amd64/Packages.xz". */
  path: string;
  sha256: string;
  size: number;
}

export interface LockedArchitecture {
  /** Sorted by name. */
  packages: LockedPackage[];
  /** Optional requests with no candidate on this architecture. */
  skipped: Array<{ name: string; reason: string }>;
  /** The generated files, in the order they are made. */
  derivations: LockedDerivation[];
  /** What `layer` must produce for this architecture. */
  layer: LockedLayer;
  /**
   * Each path of a path-only file set and the package this architecture's Contents index says
   * ships it (since 1.3.0), sorted by set then path; absent when the manifest has no such set.
   */
  paths?: LockedPathOrigin[];
}

/** Where a path of a path-only file set came from: the one package the signed Contents index lists for it. */
export interface LockedPathOrigin {
  /** The file set's name. */
  set: string;
  /** The path as the manifest writes it. */
  path: string;
  /** The path as the Contents index (and so the package) spells it: the path itself or its merged-/usr twin. */
  listed: string;
  package: string;
}

export interface LockedPackage {
  name: string;
  version: string;
  architecture: string;
  source: string; // manifest source name
  suite: string;
  component: string;
  /** Full .deb URL under the manifest's base URL. */
  url: string;
  size: number;
  sha256: string;
  /** Why it is in the lock: chains such as "file set libc" or "packages[0] → libc6 → libgcc-s1". Sorted. */
  reasons: string[];
  /** Selection rules applied to this package's files, one per file set that takes from it. Sorted by set. */
  select: SelectionRule[];
  /**
   * sha256 and size of the .deb's decompressed control.tar and data.tar (since 1.1.0). `layer`
   * takes a decoded member from the cache only by this digest, and checks one decoded from the
   * .deb against it; a 1.0.0 lock has none, so its .debs are decoded every time.
   */
  decoded?: DecodedMembers;
}

/** The .deb members a lock records decoded: ar members control.tar.* and data.tar.*, decompressed. */
export type DecodedMemberName = "control.tar" | "data.tar";

export interface DecodedDigest {
  sha256: string;
  size: number;
}

export type DecodedMembers = Record<DecodedMemberName, DecodedDigest>;

/** The set name of the rule that takes a package's copyright file (the manifest's "copyright" switch). */
export const COPYRIGHT_SET = "copyright";

export interface SelectionRule {
  /** File set name ("libc", "ca-certs", a user-defined name, "packages" for whole packages, or COPYRIGHT_SET). */
  set: string;
  /** Absolute path globs (picomatch syntax) of package paths to take. */
  include: string[];
  exclude: string[];
}

/**
 * What `layer` must produce for one architecture (filled in by `lock`, which builds the layer
 * through the same code path). Digests are "sha256:<hex>" as OCI writes them.
 */
export interface LockedLayer {
  /** Digest of the uncompressed tar: the OCI diff_id and the reproducibility key. */
  diffId: string;
  size: number;
  /** The provenance manifest (JSON lines, one per layer path) stored in the layer at `path`. */
  provenance: { path: string; sha256: string; entries: number };
  /** Per compression: digest and size of the compressed blob and the pinned compressor settings. */
  compressed: Record<string, { digest: string; size: number; settings: CompressorSettings }>;
}

export interface CompressorSettings {
  /** Library and version that produced the bytes, e.g. "fflate@0.8.3". */
  compressor: string;
  level: number;
  [option: string]: string | number | boolean;
}

/** A generated file set: a named, versioned recipe from inputs to outputs, all by sha256. */
export interface LockedDerivation {
  recipe: string;
  version: string;
  /** Recipe options (e.g. { timezone: "UTC" }); {} when none. */
  options: Record<string, string | number | boolean>;
  /** Layer paths read, with the sha256 of their content (symlinks: of their target text). Sorted by path. */
  inputs: Array<{ path: string; sha256: string }>;
  /** Layer paths written. Sorted by path. */
  outputs: Array<{ path: string; type: "file" | "dir" | "symlink"; mode: string /* octal, e.g. "0644" */; uid: number; gid: number; sha256: string }>;
}
