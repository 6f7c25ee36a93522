/**
 * Path lookup inside a layer, as the kernel does it in a container whose root is the layer:
 * symlinks are followed in every component (relative targets against the link's directory,
 * absolute ones against the layer root, never the host), ".." stops at the root, and more than
 * 40 links in one lookup fail as ELOOP does on Linux. Pure: the caller says what is at a path.
 */

/** Linux's MAXSYMLINKS. */
export const MAX_SYMLINKS = 40;

/** What lookup needs to know of the node at a path. */
export interface PathView<N> {
  /** The node at an absolute, normalised path ("/a/b"); the root may be absent. */
  get(path: string): N | undefined;
  /** Its kind: only "dir" and "symlink" matter here. */
  kind(node: N): string;
  /** A symlink's target text. */
  linkTarget(node: N): string;
  /** Whether a path without a node is a directory anyway (it has nodes below it). */
  isImplicitDir(path: string): boolean;
}

export type Followed<N> =
  /** `node` is undefined for the root and for an implicit directory. */
  | { ok: true; path: string; node: N | undefined; links: Array<{ path: string; target: string }> }
  | { ok: false; reason: string; links: Array<{ path: string; target: string }> };

/** Resolve `path` (absolute or relative to the root) to the node it names, every symlink followed. */
export function followPath<N>(view: PathView<N>, path: string): Followed<N> {
  const links: Array<{ path: string; target: string }> = [];
  let pending = components(path);
  const current: string[] = [];
  let node: N | undefined;
  while (pending.length > 0) {
    const comp = pending.shift()!;
    // Something below, or "..", needs a directory here (ENOTDIR).
    if (node !== undefined && view.kind(node) !== "dir") return { ok: false, reason: `/${current.join("/")} is not a directory`, links };
    if (comp === "..") {
      current.pop(); // at the root, ".." is the root
      node = undefined;
      continue;
    }
    const candidate = "/" + [...current, comp].join("/");
    const next = view.get(candidate);
    if (next === undefined) {
      if (!view.isImplicitDir(candidate)) return { ok: false, reason: `${candidate} is not in the layer`, links };
      current.push(comp);
      node = undefined;
      continue;
    }
    if (view.kind(next) === "symlink") {
      if (links.length >= MAX_SYMLINKS) return { ok: false, reason: `too many levels of symbolic links at ${candidate}`, links };
      const target = view.linkTarget(next);
      links.push({ path: candidate, target });
      if (target.startsWith("/")) current.length = 0;
      pending = [...components(target), ...pending];
      node = undefined;
      continue;
    }
    current.push(comp);
    node = next;
  }
  return { ok: true, path: "/" + current.join("/"), node, links };
}

/** Whether any of `paths` lies below `dir`: what makes a directory without a node of its own. */
export function hasPathBelow(paths: Iterable<string>, dir: string): boolean {
  const prefix = dir + "/";
  for (const p of paths) if (p.startsWith(prefix)) return true;
  return false;
}

function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
}
