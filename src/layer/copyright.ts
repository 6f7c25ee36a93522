/**
 * The check that every package whose copyright rule is in the lock (model/lock COPYRIGHT_SET)
 * reaches a regular copyright file in the layer. Debian lets a package's doc directory, or its
 * copyright file, be a link to a sibling package's from the same source (libgcc-s1 →
 * gcc-12-base); the sibling's own rule takes the file when the lock has it, so what is left to
 * catch is a link into a package the lock lacks: reported, as distroless keeps only links
 * whose target it ships.
 */
import { COPYRIGHT_SET, type LockedPackage } from "../model/lock.js";
import type { LayerNode } from "../model/layer.js";
import { resolveFile } from "../derive/node.js";
import { MissingCopyrightError } from "./errors.js";

/** Where a Debian package keeps its copyright file (Debian Policy §12.5). */
export function copyrightPath(pkg: string): string {
  return `${docDir(pkg)}/copyright`;
}

/** The package's doc directory (or the link that stands for it). */
export function docDir(pkg: string): string {
  return `/usr/share/doc/${pkg}`;
}

/**
 * Refuses a layer in which a package that ships a copyright link (and has the copyright rule)
 * does not reach a regular file through it. A package with no copyright member at all has
 * nothing to carry and passes.
 */
export function checkCopyrights(nodes: ReadonlyMap<string, LayerNode>, packages: ReadonlyArray<{ pkg: LockedPackage; taken: readonly LayerNode[] }>, arch: string): void {
  for (const { pkg, taken } of packages) {
    if (!pkg.select.some((r) => r.set === COPYRIGHT_SET)) continue;
    const link = taken.find((n) => n.type === "symlink" && (n.path === docDir(pkg.name) || n.path === copyrightPath(pkg.name)));
    if (!link) continue;
    const r = resolveFile(nodes, copyrightPath(pkg.name));
    if (r.ok) continue;
    throw new MissingCopyrightError(
      `${pkg.name} ${pkg.version} (${arch}): its copyright file ${copyrightPath(pkg.name)} is reached through the link ${link.path} → ${link.target}, but ${r.reason}: the package that ships it is not in the lock`,
      { hint: `add the package that owns ${link.target} to "packages" in the manifest (dpkg -S or its Depends name it), or set "copyright": false (see README, Licences)` },
    );
  }
}
