/** One binary package stanza from a Packages index, reduced to what resolution and locking need. */
export interface PackageRecord {
  name: string;
  version: string;
  architecture: string; // "amd64", "arm64", "all", …
  multiArch: "no" | "same" | "foreign" | "allowed";
  essential: boolean;
  /** "Important: yes" (or its newer spelling "Protected: yes"): apt ranks such providers high. */
  important: boolean;
  /** The Priority field as written ("required", "important", "standard", "optional", "extra"), "" when absent. */
  priority: string;
  /** Raw relationship fields ("" when absent); parse with parseRelations(). */
  depends: string;
  preDepends: string;
  provides: string;
  /** Conflicts and Breaks: apt installs no two packages that one of them names. */
  conflicts: string;
  breaks: string;
  /** Source package name (the Source field without its "(version)", or the package name). */
  sourcePackage: string;
  /** Path relative to the archive root, e.g. "pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb". */
  filename: string;
  size: number;
  sha256: string;
  /** Where the stanza came from. */
  origin: PackageOrigin;
}

export interface PackageOrigin {
  /** The manifest source's name. */
  source: string;
  suite: string;
  component: string;
}
