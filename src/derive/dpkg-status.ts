/**
 * /var/lib/dpkg/status.d/<name> and <name>.md5sums, the per-package dpkg database that
 * distroless images carry so that scanners (trivy, syft, grype) see what is inside.
 *
 * Like distroless, <name> is the package's control file as shipped, with no Status field
 * added: trivy treats a stanza without Status as installed (only "deinstall"/"purge" exclude
 * it) and syft reads status.d stanzas as they are. <name>.md5sums keeps, in the package's
 * order, only the lines of files that are actually in the layer; it is left out when none
 * remain or the package has no md5sums. One architecture per layer, so Multi-Arch: same
 * packages are named <name> too.
 */
import { DerivationError } from "./errors.js";
import { InputSet, fileNode, finish, type OutputNode } from "./node.js";
import type { Derivation } from "./types.js";
import { comparePaths } from "../util/byte-order.js";
import { isPackageName } from "../debian/package-name.js";

export const DPKG_STATUS_RECIPE = "dpkg-status";
const DPKG_STATUS_VERSION = "1";
const STATUS_DIR = "/var/lib/dpkg/status.d";

export interface DpkgStatusPackage {
  name: string;
  /** The control file from control.tar, verbatim. */
  control: string;
  /** The md5sums file from control.tar, verbatim, if the package has one. */
  md5sums: string | undefined;
  /** Absolute layer paths taken from this package. */
  files: string[];
}

const MD5_LINE = /^[0-9a-fA-F]{32} [ *]?(.+)$/;

/** The md5sums lines whose file is in `files`, in the original order. */
export function filterMd5sums(md5sums: string, files: ReadonlySet<string>): string {
  const kept: string[] = [];
  for (const line of md5sums.split("\n")) {
    const m = MD5_LINE.exec(line);
    if (m === null) continue;
    const rel = m[1]!.replace(/^\.?\//, "");
    if (files.has("/" + rel)) kept.push(line);
  }
  return kept.map((l) => l + "\n").join("");
}

/**
 * Inputs are not layer paths here: they are recorded as "<name>/control" and
 * "<name>/md5sums" (the control.tar members, whose .deb the lock pins by sha256).
 */
export function dpkgStatus(packages: ReadonlyArray<DpkgStatusPackage>): Derivation {
  const inputs = new InputSet();
  const outputs: OutputNode[] = [];
  const seen = new Set<string>();
  for (const pkg of [...packages].sort((a, b) => comparePaths(a.name, b.name))) {
    if (!isPackageName(pkg.name)) {
      throw new DerivationError(`dpkg status: "${pkg.name}" is not a valid Debian package name`, { hint: "check the lock's package names" });
    }
    if (seen.has(pkg.name)) {
      throw new DerivationError(`dpkg status: package ${pkg.name} is listed twice for one layer`, { hint: "a layer holds one architecture: lock each package once per architecture" });
    }
    seen.add(pkg.name);
    // Each output is made from its own package's control.tar member alone (the md5sums
    // filtered by the package's files in the layer, which the lock records).
    inputs.add(`${pkg.name}/control`, pkg.control);
    outputs.push({ ...fileNode(`${STATUS_DIR}/${pkg.name}`, pkg.control), reads: [`${pkg.name}/control`] });
    if (pkg.md5sums !== undefined) {
      inputs.add(`${pkg.name}/md5sums`, pkg.md5sums);
      const kept = filterMd5sums(pkg.md5sums, new Set(pkg.files));
      if (kept !== "") outputs.push({ ...fileNode(`${STATUS_DIR}/${pkg.name}.md5sums`, kept), reads: [`${pkg.name}/md5sums`] });
    }
  }
  return finish(DPKG_STATUS_RECIPE, DPKG_STATUS_VERSION, {}, inputs, outputs);
}
