/**
 * Shared helpers of the recipes: node constructors with the normalised modes, byte-order path
 * sorting, path resolution inside the layer (symlinks and hard links), and the final assembly
 * of a Derivation with its LockedDerivation record.
 */
import type { LayerNode } from "../model/layer.js";
import type { LockedDerivation } from "../model/lock.js";
import { sha256Hex } from "../util/hash.js";
import type { Derivation } from "./types.js";

const encoder = new TextEncoder();

/** Output node without its origin: the recipe's result before `finish` stamps provenance. */
export type OutputNode = Omit<LayerNode, "origin">;

export function fileNode(path: string, content: Uint8Array | string, mode = 0o644, uid = 0, gid = 0): OutputNode {
  return { path, type: "file", mode, uid, gid, content: typeof content === "string" ? encoder.encode(content) : content };
}

export function dirNode(path: string, mode = 0o755, uid = 0, gid = 0): OutputNode {
  return { path, type: "dir", mode, uid, gid };
}

export function symlinkNode(path: string, target: string): OutputNode {
  return { path, type: "symlink", mode: 0o777, uid: 0, gid: 0, target };
}

/** strcmp order of the UTF-8 bytes (what LC_ALL=C sort, tar writers and OpenSSL use). */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
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
  list(): Array<{ path: string; sha256: string }> {
    return [...this.map].map(([path, sha256]) => ({ path, sha256 })).sort((a, b) => compareBytes(a.path, b.path));
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
  const sorted = [...outputs].sort((a, b) => compareBytes(a.path, b.path));
  const nodes: LayerNode[] = sorted.map((o) => ({
    ...o,
    origin: { kind: "derivation", recipe, version, inputs: inputList.map((i) => ({ ...i })) },
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

const MAX_SYMLINKS = 40; // Linux's limit

/**
 * Resolve `path` inside the layer to a regular file, following symlinks (relative or absolute,
 * in any component, resolved against the layer root, never the host) and hard links. A missing
 * intermediate directory node counts as an implicit directory. `via` lists the links crossed
 * (with their target text) and the file read, for the input record.
 */
export function resolveFile(nodes: ReadonlyMap<string, LayerNode>, path: string): Resolved {
  const via: Array<{ path: string; data: Uint8Array | string }> = [];
  let pending = path.split("/").filter((c) => c !== "");
  const current: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const comp = pending.shift()!;
    if (comp === ".") continue;
    if (comp === "..") {
      current.pop();
      continue;
    }
    const candidate = "/" + [...current, comp].join("/");
    const node = nodes.get(candidate);
    if (node === undefined) {
      if (pending.length === 0) return { ok: false, reason: `${candidate} is not in the layer`, via };
      current.push(comp); // implicit parent directory
      continue;
    }
    if (node.type === "symlink") {
      if (++links > MAX_SYMLINKS) return { ok: false, reason: `too many levels of symbolic links at ${candidate}`, via };
      const target = node.target ?? "";
      via.push({ path: candidate, data: target });
      if (target.startsWith("/")) current.length = 0;
      pending = [...target.split("/").filter((c) => c !== ""), ...pending];
      continue;
    }
    if (node.type === "dir") {
      if (pending.length === 0) return { ok: false, reason: `${candidate} is a directory`, via };
      current.push(comp);
      continue;
    }
    // file or hard link: must be the last component
    if (pending.length > 0) return { ok: false, reason: `${candidate} is not a directory`, via };
    let file: LayerNode | undefined = node;
    if (node.type === "hardlink") {
      file = node.target !== undefined ? nodes.get(node.target) : undefined;
      if (file === undefined || file.type !== "file") {
        return { ok: false, reason: `${candidate} is a hard link to ${node.target ?? "nothing"}, which is not a regular file in the layer`, via };
      }
    }
    const content = file.content ?? new Uint8Array();
    via.push({ path: candidate, data: content });
    return { ok: true, path: candidate, node, content, via };
  }
  return { ok: false, reason: `${path} names the root directory`, via };
}
