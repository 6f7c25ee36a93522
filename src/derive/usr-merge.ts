/**
 * The merged-/usr aliasing links for layers whose packages ship files under /usr only
 * (trixie and later). base-files 13 (trixie) ships relative links /bin → usr/bin,
 * /lib → usr/lib, /sbin → usr/sbin, plus the one multilib directory the architecture's
 * dynamic loader lives in (/lib64 → usr/lib64 on amd64, ppc64el, …); the other multilib
 * links come and go with triggers. We add the same links, but only for directories the
 * layer has content under and only where the layer has nothing at the alias path (a
 * bookworm layout, with real /lib and /lib64 directories, is left alone), so that the ELF
 * interpreter path (/lib64/ld-linux-x86-64.so.2, /lib/ld-linux-aarch64.so.1) resolves.
 */
import { InputSet, finish, symlinkNode, type OutputNode } from "./node.js";
import type { Derivation, DerivationInput } from "./types.js";
import { loaderMultilibDir } from "../debian/architectures.js";

export const USR_MERGE_RECIPE = "usr-merge";
const USR_MERGE_VERSION = "1";

export interface UsrMergeOptions {
  /** Debian architecture name of the layer. */
  arch: string;
}

/**
 * Inputs: none are read, the decision rests on which paths exist, and those follow from the
 * lock's packages and selection rules.
 */
export function usrMergeLinks(input: DerivationInput, opts: UsrMergeOptions): Derivation {
  const dirs = ["bin", "lib", "sbin"];
  const multilib = loaderMultilibDir(opts.arch);
  if (multilib !== undefined) dirs.push(multilib);
  const outputs: OutputNode[] = [];
  for (const d of dirs) {
    if (input.nodes.has(`/${d}`)) continue;
    if (hasContentUnder(input, `/usr/${d}/`) && !hasContentUnder(input, `/${d}/`)) {
      outputs.push(symlinkNode(`/${d}`, `usr/${d}`));
    }
  }
  return finish(USR_MERGE_RECIPE, USR_MERGE_VERSION, { arch: opts.arch }, new InputSet(), outputs);
}

function hasContentUnder(input: DerivationInput, prefix: string): boolean {
  for (const p of input.nodes.keys()) if (p.startsWith(prefix)) return true;
  return false;
}
