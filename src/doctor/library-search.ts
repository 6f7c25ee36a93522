/**
 * Where ld.so looks for what a binary needs: its RUNPATH (or else RPATH) directories, then the
 * architecture's multiarch and the default library directories. Pure: the candidate paths of
 * each need, in ld.so's order, for a layer lookup or a Contents query alike.
 */
import type { ElfInfo } from "./elf.js";
import { architecture } from "../debian/architectures.js";

/** Library directories ld.so searches, RUNPATH (or else RPATH) first; $ORIGIN entries skipped. */
export function searchDirs(elf: ElfInfo): string[] {
  const dirs: string[] = [];
  const extra = elf.runpath ?? elf.rpath;
  if (extra !== undefined) {
    for (const d of extra.split(":")) if (d.startsWith("/") && !d.includes("$")) dirs.push(d.replace(/\/+$/, "") || "/");
  }
  const triplet = elf.debianArch !== undefined ? architecture(elf.debianArch)?.triplet : undefined;
  if (triplet !== undefined) dirs.push(`/lib/${triplet}`, `/usr/lib/${triplet}`);
  dirs.push("/lib", "/usr/lib", "/lib64", "/usr/lib64");
  return [...new Set(dirs)];
}

/** The paths ld.so tries for a need, in order: an interpreter or a soname with a slash is used as is. */
export function candidatePaths(kind: "interpreter" | "library", name: string, dirs: readonly string[]): string[] {
  if (kind === "interpreter" || name.includes("/")) return [name];
  return dirs.map((d) => `${d === "/" ? "" : d}/${name}`);
}
