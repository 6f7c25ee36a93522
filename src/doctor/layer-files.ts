/**
 * The file tree of a layer tar (plain, gzip or zstd), as far as path lookup needs it: which
 * paths are files, directories, symlinks (with targets) or hard links. Only the bodies of shared
 * libraries are kept, so that their own needs can be followed.
 * Lookup follows symlinks inside the layer, in every path component, like the kernel would
 * in a container whose root is the layer.
 */

import type { FileHandle } from "node:fs/promises";
import * as posix from "node:path/posix";
import { FormatError, IOError, UsageError } from "../model/errors.js";
import { decompressMember, type MemberCompression } from "../deb/decompress.js";
import { followPath, hasPathBelow, type PathView } from "../util/layer-path.js";
import { readEntryBody, readTar, type TarEntryType } from "../deb/tar-reader.js";
import { NotRegularFileError, openRegularFile } from "../util/regular-file.js";

export interface LayerNode {
  type: TarEntryType;
  linkname?: string;
  /** A shared library's bytes (a hard link's are its target's). */
  body?: Uint8Array;
}

/** Names ld.so loads: libfoo.so, libfoo.so.6, ld-linux-x86-64.so.2. */
function isSharedLibraryName(path: string): boolean {
  return /\.so(\.[0-9]+)*$/.test(path.slice(path.lastIndexOf("/") + 1));
}

/** Absolute, normalized path ("/a/b") → node. */
export type LayerTree = Map<string, LayerNode>;

/** Normalizes a tar member name or link target to "/a/b" ("./a/b/", "a//b" → "/a/b"). */
export function normalize(p: string): string {
  const n = posix.normalize("/" + p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

export async function readLayerTree(file: string): Promise<LayerTree> {
  const fh = await openLayer(file);
  const tree: LayerTree = new Map();
  try {
    const kind = await sniff(file, fh);
    await readTar(decompressMember(kind, fh.createReadStream({ start: 0, autoClose: false }) as AsyncIterable<Uint8Array>), async (e) => {
      const node: LayerNode = { type: e.type };
      if (e.linkname !== undefined && (e.type === "symlink" || e.type === "hardlink")) node.linkname = e.linkname;
      const name = normalize(e.name);
      if (e.type === "file" && isSharedLibraryName(name)) node.body = await readEntryBody(e.body, e.size);
      else if (e.type === "hardlink" && e.linkname !== undefined) {
        const target = tree.get(normalize(e.linkname))?.body;
        if (target !== undefined) node.body = target;
      }
      tree.set(name, node);
    });
  } catch (e) {
    if (e instanceof FormatError) throw e.asInputError(file, "argument", "pass a layer built by `scratch-pkgs layer` (.tar, .tar.gz or .tar.zst)");
    if (typeof (e as NodeJS.ErrnoException).code === "string") throw new IOError(`${file}: cannot read the layer: ${(e as Error).message}`, { cause: e });
    throw e;
  } finally {
    await fh.close();
  }
  return tree;
}

/** The layer file, open; a fifo, device or directory is refused before it is read (it would block or never end). */
async function openLayer(file: string): Promise<FileHandle> {
  const hint = "pass the path of a layer tar with --layer";
  try {
    return (await openRegularFile(file)).file;
  } catch (e) {
    if (e instanceof NotRegularFileError) throw new UsageError(`${file}: is ${e.kind}, not a layer tar`, { hint, cause: e });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UsageError(`${file}: no such layer file`, { hint, cause: e });
    throw new IOError(`${file}: cannot read the layer: ${(e as Error).message}`, { cause: e });
  }
}

/** Compression from the first bytes, not the name: gzip 1f 8b, zstd 28 b5 2f fd. */
async function sniff(file: string, fh: FileHandle): Promise<MemberCompression> {
  let head = Buffer.alloc(4);
  try {
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    head = head.subarray(0, bytesRead);
  } catch (e) {
    throw new IOError(`${file}: cannot read the layer: ${(e as Error).message}`, { cause: e });
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return "gz";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zst";
  return "none";
}

export interface Lookup {
  /** The path with every symlink resolved, when it names a file (regular or hard link). */
  resolved?: string;
  /** Why it was not found, when it was not. */
  problem?: string;
}

/** Looks `path` up in the layer, following symlinks in every component (util/layer-path). */
export function lookup(tree: LayerTree, path: string): Lookup {
  const r = followPath(treeView(tree), normalize(path));
  if (!r.ok) return { problem: r.reason };
  const node = r.node;
  if (node === undefined || node.type === "dir") return { problem: `${r.path === "/" ? path : r.path} is a directory in the layer` };
  if (node.type === "file" || node.type === "hardlink") return { resolved: r.path };
  return { problem: `${r.path} is a ${node.type}, not a file` };
}

function treeView(tree: LayerTree): PathView<LayerNode> {
  return {
    get: (p) => tree.get(p),
    kind: (n) => n.type,
    linkTarget: (n) => n.linkname ?? "",
    // A directory needs no entry of its own: having entries below it is enough.
    isImplicitDir: (dir) => hasPathBelow(tree.keys(), dir),
  };
}
