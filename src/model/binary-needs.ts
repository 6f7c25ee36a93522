/**
 * What a binary needs from Debian to run in a FROM-scratch image, as `doctor` finds it through
 * the archive's Contents index and `add` writes it into scratch.json: the exact paths (each with
 * the package that ships it), the packages, the built-in file sets it probably reads at run time,
 * and what could not be found.
 */

export interface NeededFile {
  /** Absolute path as the package ships it (the spelling Contents lists; may be a symlink). */
  path: string;
  /** The binary package that ships it (architecture-qualified names are not used). */
  package: string;
  /** Why: the interpreter, the soname, or the symlink target that made this path needed. */
  reason: string;
}

export interface UnresolvedNeed {
  /** The interpreter's path or the soname. */
  name: string;
  /** The binary's path or the sonames of the libraries that list it. */
  neededBy: string[];
  /** Where it was looked for (the candidate paths). */
  searched: string[];
  /** Two or more packages ship it: the user picks one. Absent when none does. */
  candidates?: string[];
}

export interface BinaryNeeds {
  /** The binary as given. */
  binary: string;
  /** The binary's Debian architecture (amd64, arm64, …). */
  architecture: string;
  /** No interpreter and no DT_NEEDED: nothing from libc. */
  static: boolean;
  /** Every file the binary needs, sorted by path, unique. */
  files: NeededFile[];
  /** The packages of `files`, sorted, unique. */
  packages: string[];
  /** Built-in file sets it probably reads at run time ("ca-certs", "tzdata"), sorted. */
  fileSets: string[];
  /** Needs no package of the manifest's suites ships, or more than one does. */
  unresolved: UnresolvedNeed[];
  /**
   * The binary is itself a file of a package (the same bytes at /usr/bin/NAME, …): that package,
   * whose non-ELF files (an interpreter's library, data) the program may read. Absent otherwise.
   */
  shippedBy?: { package: string; path: string };
}
