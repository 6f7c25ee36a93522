/**
 * Shared helpers of the recipes: node constructors with the normalised modes, byte-order path
 * sorting (util/byte-order), path resolution inside the layer (symlinks and hard links), and the final assembly
 * of a Derivation with its LockedDerivation record.
 */
import type { LayerNode } from "../model/layer.js";
import type { LockedDerivation } from "../model/lock.js";
import { sha256Hex } from "../util/hash.js";
import type { Derivation } from "./types.js";
import { comparePaths } from "../util/byte-order.js";
import { followPath, hasPathBelow, type PathView } from "../util/layer-path.js";
import { fileBytes, fileSha256 } from "../util/file-extent.js";

const encoder = new TextEncoder();

/**
 * Output node without its origin: the recipe's result before `finish` stamps provenance.
 * `reads`: the inputs (paths of the recipe's InputSet) this output is made from, when that is
 * fewer than all of them: its origin names only those. Without it, every input. (The
 * provenance manifest lists a derivation's inputs once, whichever.)
 */
export type OutputNode = Omit<LayerNode, "origin"> & { reads?: readonly string[] };

export function fileNode(path: string, content: Uint8Array | string, mode = 0o644, uid = 0, gid = 0): OutputNode {
  return { path, type: "file", mode, uid, gid, content: typeof content === "string" ? encoder.encode(content) : content };
}

export function dirNode(path: string, mode = 0o755, uid = 0, gid = 0): OutputNode {
  return { path, type: "dir", mode, uid, gid };
}

export function symlinkNode(path: string, target: string): OutputNode {
  return { path, type: "symlink", mode: 0o777, uid: 0, gid: 0, target };
}

function octalMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

/** Input record: what a recipe read, keyed by layer path (later reads of the same path agree). */
export class InputSet {
  private readonly map = new Map<string, string>();
  add(path: string, data: Uint8Array | string): void {
    this.map.set(path, sha256Hex(data));
  }
  /** A regular file node read as a whole, by its digest (a package file's was taken when it was read). */
  addFile(path: string, node: Pick<LayerNode, "content" | "extent">): void {
    this.map.set(path, fileSha256(node));
  }
  list(): Array<{ path: string; sha256: string }> {
    return [...this.map].map(([path, sha256]) => ({ path, sha256 })).sort((a, b) => comparePaths(a.path, b.path));
  }
}

/** Assemble the Derivation: outputs sorted by path bytes, origins and record filled in. */
export function finish(
  recipe: string,
  version: string,
  options: Record<string, string | number | boolean>,
  inputs: InputSet,
  outputs: OutputNode[],
): Derivation {
  const seen = new Set<string>();
  for (const o of outputs) {
    if (seen.has(o.path)) throw new Error(`derivation ${recipe}: output ${o.path} produced twice`);
    seen.add(o.path);
  }
  const inputList = inputs.list();
  const byPath = new Map(inputList.map((i) => [i.path, i]));
  // Every output naming every input made a layer tree's memory grow with outputs × inputs
  // (dpkg-status has two of each per package: 680,000 records for 412 packages).
  const originInputs = (output: string, reads: readonly string[] | undefined) =>
    reads === undefined
      ? inputList.map((i) => ({ ...i }))
      : [...new Set(reads)].sort(comparePaths).map((path) => {
          const input = byPath.get(path);
          if (!input) throw new Error(`derivation ${recipe}: output ${output} reads ${path}, which is not one of its inputs`);
          return { ...input };
        });
  const sorted = [...outputs].sort((a, b) => comparePaths(a.path, b.path));
  const nodes: LayerNode[] = sorted.map(({ reads, ...o }) => ({
    ...o,
    origin: { kind: "derivation", recipe, version, inputs: originInputs(o.path, reads) },
  }));
  const record: LockedDerivation = {
    recipe,
    version,
    options: { ...options },
    inputs: inputList,
    outputs: sorted.map((o) => ({
      path: o.path,
      type: o.type === "hardlink" ? "file" : o.type,
      mode: octalMode(o.mode),
      uid: o.uid,
      gid: o.gid,
      // Files: content; symlinks: target text; directories: the empty string.
      sha256: sha256Hex(o.type === "file" ? (o.content ?? new Uint8Array()) : o.type === "symlink" ? (o.target ?? "") : ""),
    })),
  };
  return { recipe, version, options: { ...options }, nodes, record };
}

export type Resolved =
  | { ok: true; path: string; node: LayerNode; content: Uint8Array; via: Array<{ path: string; data: Uint8Array | string }> }
  | { ok: false; reason: string; via: Array<{ path: string; data: Uint8Array | string }> };

/** Where `path` leads, without reading the file: `file` is the regular file node it resolves to. */
export type Located =
  | { ok: true; path: string; node: LayerNode; file: LayerNode; via: Array<{ path: string; data: Uint8Array | string }> }
  | { ok: false; reason: string; via: Array<{ path: string; data: Uint8Array | string }> };

/**
 * Resolve `path` inside the layer to a regular file, following symlinks (util/layer-path) and
 * hard links. `via` lists the links crossed (with their target text), for the input record.
 */
export function locateFile(nodes: ReadonlyMap<string, LayerNode>, path: string): Located {
  const r = followPath(layerView(nodes), path);
  const via: Array<{ path: string; data: Uint8Array | string }> = r.links.map((l) => ({ path: l.path, data: l.target }));
  if (!r.ok) return { ok: false, reason: r.reason, via };
  if (r.path === "/") return { ok: false, reason: `${path} names the root directory`, via };
  const node = r.node;
  if (node === undefined || node.type === "dir") return { ok: false, reason: `${r.path} is a directory`, via };
  let file: LayerNode | undefined = node;
  if (node.type === "hardlink") {
    file = node.target !== undefined ? nodes.get(node.target) : undefined;
    if (file === undefined || file.type !== "file") {
      return { ok: false, reason: `${r.path} is a hard link to ${node.target ?? "nothing"}, which is not a regular file in the layer`, via };
    }
  }
  return { ok: true, path: r.path, node, file, via };
}

/** locateFile, and the file read: `via` also lists the file read, for the input record. */
export function resolveFile(nodes: ReadonlyMap<string, LayerNode>, path: string): Resolved {
  const r = locateFile(nodes, path);
  if (!r.ok) return r;
  // A package's file is read from its extent here: only the small inputs a recipe names are.
  const content = fileBytes(r.file);
  return { ok: true, path: r.path, node: r.node, content, via: [...r.via, { path: r.path, data: content }] };
}

/** The layer's nodes as path lookup sees them; a directory needs no node when nodes lie below it. */
function layerView(nodes: ReadonlyMap<string, LayerNode>): PathView<LayerNode> {
  return {
    get: (p) => nodes.get(p),
    kind: (n) => n.type,
    linkTarget: (n) => n.target ?? "",
    isImplicitDir: (p) => hasPathBelow(nodes.keys(), p),
  };
}
