/**
 * Deterministic tar serialisation of a layer's file tree (README, "Layers", step 5).
 *
 * The 512-byte ustar header is encoded here by hand rather than with tar-stream's pack: tar-stream
 * switches any non-ASCII name to PAX even when it fits ustar, silently saturates numeric fields
 * that overflow (a uid of 2^21 becomes 07777777), defaults a missing mtime to the current time and
 * is an asynchronous stream. A layer needs every byte decided here, so the encoder is ours.
 *
 * Format decisions (all fixed, none depend on the machine, time, locale or umask):
 * - Entries sorted by the UTF-8 bytes of their absolute path; "/" itself is not written.
 * - Member names are relative: "etc/", "etc/passwd"; directories end in "/".
 * - POSIX ustar headers (magic "ustar\0", version "00"), numeric fields as GNU tar writes them in
 *   --format=ustar: zero-padded octal ending in NUL, checksum as 6 digits, NUL, space;
 *   devmajor/devminor "0000000"; uname/gname empty; mtime = opts.mtime for every entry.
 * - Names longer than 100 bytes use the ustar prefix/name split (the longest prefix that works,
 *   as GNU tar chooses); only when no split fits, a PAX 'x' header carries `path` (and `linkpath`
 *   for link targets over 100 bytes) and nothing else. The PAX header's own name is
 *   "PaxHeaders/<basename>" (no pid, unlike GNU tar), mode 0644, uid/gid 0, same mtime.
 * - Hard links: all paths that share a file's content form one group; the path that sorts first
 *   carries the content (type '0') and the others are type '1' links to it, so an extractor always
 *   meets the target before the link. All members of a group carry the file node's mode/uid/gid.
 * - The archive ends with two 512-byte zero blocks and is NOT padded to a 10240-byte record: OCI
 *   layers do not need it and Go's archive/tar (used by most OCI tooling) does not pad either.
 */

import { LAYER_LIMITS, type FileExtent, type LayerNode } from "../model/layer.js";
import { copyExtent, fileSize } from "../util/file-extent.js";
import { ChunkedOutput } from "../util/chunked-output.js";
import { comparePaths } from "../util/byte-order.js";

export interface TarWriteOptions {
  /** Seconds since the epoch (SOURCE_DATE_EPOCH), written as every entry's mtime. */
  mtime: number;
  /**
   * The caller compares the whole tar's digest with one recorded before (the lock's diff_id),
   * which covers every member's bytes: the decoded files they are read from, verified when they
   * were decoded or taken from the cache, are then not hashed again member by member.
   */
  wholeTarChecked?: boolean;
  /**
   * The nodes by path, where the caller holds them so (the layer tree's map): used instead of
   * a map made for the pass (~7 MB for 140,000 paths, and its copies as it grew). Every node
   * must be the one this map holds at its path.
   */
  byPath?: ReadonlyMap<string, LayerNode>;
}

/** Receives the archive in order. Chunks are read-only views; copy them if kept after the call. */
export type TarSink = (chunk: Uint8Array) => void;

export interface TarWriteResult {
  /** Total bytes passed to the sink. */
  size: number;
  /** Tar members written, not counting PAX extended headers. */
  entries: number;
}

const BLOCK = 512;
const ZERO_BLOCK = new Uint8Array(BLOCK);
const END_OF_ARCHIVE = new Uint8Array(2 * BLOCK);
/** Largest value of a 12-byte octal field (11 digits + NUL): mtime (uid, gid, size: LAYER_LIMITS). */
const MAX_OCTAL_11 = 0o77777777777;

const TYPE_FILE = 0x30; // '0'
const TYPE_HARDLINK = 0x31; // '1'
const TYPE_SYMLINK = 0x32; // '2'
const TYPE_DIR = 0x35; // '5'
const TYPE_PAX = 0x78; // 'x'

const utf8 = new TextEncoder();
const USTAR_MAGIC_VERSION = utf8.encode("ustar\u000000");
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A member with no bytes of its own. */
const NO_BYTES = { content: undefined, extent: undefined };

/** One member, decided and validated, before encoding. */
interface Entry {
  /** Absolute path: the sort key (by its UTF-8 bytes). The member name is encoded from it only as it is written: 40,000 entries' names held at once were tens of MB. */
  path: string;
  typeflag: number;
  mode: number;
  uid: number;
  gid: number;
  /** A regular file's bytes: in memory, or an extent of an open file read as it is written. */
  content: Uint8Array | undefined;
  extent: FileExtent | undefined;
  linkname: Uint8Array | undefined;
}

/** Serialise the nodes into one in-memory tar archive. */
export function writeLayerTar(nodes: readonly LayerNode[], opts: TarWriteOptions): Uint8Array {
  const chunks: Uint8Array[] = [];
  // The chunks are views of the writer's reused buffer: each is copied.
  const { size } = streamLayerTar(nodes, opts, (c) => chunks.push(c.slice()));
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/**
 * Serialise the nodes into the sink (e.g. a hashing sink and a file writer), in chunks of
 * OUTPUT_CHUNK bytes but the last. Everything is validated before the first byte is emitted,
 * so a bad tree never yields a partial archive.
 */
export function streamLayerTar(nodes: readonly LayerNode[], opts: TarWriteOptions, sink: TarSink): TarWriteResult {
  checkInteger("mtime", opts.mtime, MAX_OCTAL_11, "the tar writer options");
  const plan = planEntries(nodes, opts.byPath);
  const out = new ChunkedOutput(sink);
  const checkExtents = opts.wholeTarChecked !== true;
  for (const node of plan.order) {
    const e = entryOf(node, plan)!;
    for (const block of encodeEntryHeaders(e, memberName(e), opts.mtime)) out.write(block);
    if (e.content !== undefined) {
      out.write(e.content);
      out.zeros(paddingSize(e.content.length));
    } else if (e.extent !== undefined) {
      copyExtent(e.extent, out, checkExtents);
      out.zeros(paddingSize(e.extent.size));
    }
  }
  out.write(END_OF_ARCHIVE);
  out.flush();
  return { size: out.size, entries: plan.order.length };
}

/**
 * The tree, validated, and what its entries are made from: the nodes in path byte order (the
 * root left out) and the hard-link groups. Each entry is made as it is written (entryOf), not
 * held: a large layer's ~140,000 entries held at once were tens of MB beside the tree itself.
 */
interface EntryPlan {
  order: LayerNode[];
  byPath: ReadonlyMap<string, LayerNode>;
  /** A hard link's regular file. */
  fileOf: ReadonlyMap<string, LayerNode>;
  /** For each member of a hard-link group, the member that carries the content. */
  carrierOf: ReadonlyMap<string, string>;
}

/** Validate the tree and plan its sorted tar entries. Throws a plain Error on a bad tree. */
function planEntries(nodes: readonly LayerNode[], given: ReadonlyMap<string, LayerNode> | undefined): EntryPlan {
  const made = given ? undefined : new Map<string, LayerNode>();
  for (const node of nodes) {
    checkPath(node.path, "path");
    if (made) {
      if (made.has(node.path)) throw new Error(`layer tar: duplicate path ${JSON.stringify(node.path)}`);
      made.set(node.path, node);
    } else if (given!.get(node.path) !== node) throw new Error(`layer tar: node ${JSON.stringify(node.path)} is not the one the given map holds at its path`);
  }
  const byPath = made ?? given!;

  // Hard-link groups, keyed by the path of the regular file whose content they share.
  const groups = new Map<string, string[]>();
  const fileOf = new Map<string, LayerNode>();
  for (const node of nodes) {
    if (node.type === "hardlink") {
      const file = resolveHardlink(node, byPath);
      fileOf.set(node.path, file);
      const members = groups.get(file.path);
      if (members) members.push(node.path);
      else groups.set(file.path, [file.path, node.path]);
    }
  }
  // The member that sorts first carries the content; the rest link to it.
  const carrierOf = new Map<string, string>();
  for (const members of groups.values()) {
    const carrier = [...members].sort(comparePaths)[0]!;
    for (const m of members) carrierOf.set(m, carrier);
  }

  const plan: EntryPlan = { order: [], byPath, fileOf, carrierOf };
  // Every entry is made once here, so that a bad node throws before the first byte is written.
  for (const node of nodes) if (entryOf(node, plan) !== undefined) plan.order.push(node);
  plan.order.sort((a, b) => comparePaths(a.path, b.path));
  // With a given map, a node listed twice is found here, next to itself once sorted.
  for (let i = 1; i < plan.order.length; i++) if (plan.order[i]!.path === plan.order[i - 1]!.path) throw new Error(`layer tar: duplicate path ${JSON.stringify(plan.order[i]!.path)}`);
  return plan;
}

/** The tar entry of one node (undefined for the root, which every extractor implies). Throws a plain Error on a bad node. */
function entryOf(node: LayerNode, plan: EntryPlan): Entry | undefined {
  const where = `node ${JSON.stringify(node.path)}`;
  if (node.path === "/") {
    if (node.type !== "dir") throw new Error(`layer tar: ${where} must be a directory, not a ${node.type}`);
    return undefined;
  }
  const parent = node.path.slice(0, node.path.lastIndexOf("/")) || "/";
  if (parent !== "/") {
    const p = plan.byPath.get(parent);
    if (!p) throw new Error(`layer tar: ${where} has no parent directory node ${JSON.stringify(parent)}`);
    if (p.type !== "dir") throw new Error(`layer tar: parent ${JSON.stringify(parent)} of ${where} is a ${p.type}, not a directory`);
  }

  // Hard-link members take the shared file's metadata: they are one inode.
  const meta = plan.fileOf.get(node.path) ?? node;
  checkInteger("mode", meta.mode, LAYER_LIMITS.mode, where);
  checkInteger("uid", meta.uid, LAYER_LIMITS.uid, where);
  checkInteger("gid", meta.gid, LAYER_LIMITS.gid, where);
  // One object literal, all keys in one order: an entry made by spreads was one V8 tenured
  // (allocated in the old generation), so every entry of the pass stayed there as garbage
  // until a full collection, ~1 KB a path of a large layer.
  const entry = (typeflag: number, bytes: Pick<Entry, "content" | "extent">, linkname: Uint8Array | undefined): Entry => ({
    path: node.path, typeflag, mode: meta.mode & 0o7777, uid: meta.uid, gid: meta.gid, content: bytes.content, extent: bytes.extent, linkname,
  });

  switch (node.type) {
    case "dir":
      return entry(TYPE_DIR, NO_BYTES, undefined);
    case "symlink": {
      if (typeof node.target !== "string" || node.target === "") throw new Error(`layer tar: symlink ${where} has no target`);
      checkText(node.target, `target of symlink ${where}`);
      return entry(TYPE_SYMLINK, NO_BYTES, utf8.encode(node.target));
    }
    case "file":
    case "hardlink": {
      if (!(meta.content instanceof Uint8Array) && !meta.extent) throw new Error(`layer tar: regular file ${JSON.stringify(meta.path)} has no content`);
      const bytes = meta.content instanceof Uint8Array ? { content: meta.content, extent: undefined } : { content: undefined, extent: meta.extent };
      if (fileSize(bytes) > LAYER_LIMITS.size) throw new Error(`layer tar: ${where} is larger than 8 GiB, which ustar cannot record`);
      const carrier = plan.carrierOf.get(node.path);
      if (carrier === undefined || carrier === node.path) return entry(TYPE_FILE, bytes, undefined);
      return entry(TYPE_HARDLINK, NO_BYTES, utf8.encode(carrier.slice(1)));
    }
    default:
      throw new Error(`layer tar: ${where} has unknown type ${JSON.stringify((node as LayerNode).type)}`);
  }
}

/** Follow a hard link (through other hard links) to the regular file it shares. */
function resolveHardlink(node: LayerNode, byPath: ReadonlyMap<string, LayerNode>): LayerNode {
  const seen = new Set<string>([node.path]);
  let cur = node;
  for (;;) {
    const target = cur.target;
    if (typeof target !== "string") throw new Error(`layer tar: hard link ${JSON.stringify(cur.path)} has no target`);
    checkPath(target, `hard-link target of ${JSON.stringify(cur.path)}`);
    const next = byPath.get(target);
    if (!next) throw new Error(`layer tar: hard link ${JSON.stringify(cur.path)} points to ${JSON.stringify(target)}, which is not in the layer`);
    if (next.type === "file") return next;
    if (next.type !== "hardlink") throw new Error(`layer tar: hard link ${JSON.stringify(cur.path)} points to ${JSON.stringify(target)}, a ${next.type}; hard links must point to regular files`);
    if (seen.has(next.path)) throw new Error(`layer tar: hard links form a cycle through ${JSON.stringify(next.path)}`);
    seen.add(next.path);
    cur = next;
  }
}

/** An entry's member name bytes: relative, with a trailing "/" for a directory. */
function memberName(e: Entry): Uint8Array {
  return utf8.encode(e.typeflag === TYPE_DIR ? `${e.path.slice(1)}/` : e.path.slice(1));
}

/** The header block(s) of one entry named `name`: an optional PAX header (with its records) and the ustar header. */
function encodeEntryHeaders(e: Entry, name: Uint8Array, mtime: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const split = splitUstarName(name);
  const linkFits = e.linkname === undefined || e.linkname.length <= 100;
  const records: Uint8Array[] = [];
  if (!split) records.push(paxRecord("path", name));
  if (!linkFits) records.push(paxRecord("linkpath", e.linkname!));
  if (records.length > 0) {
    const body = concat(...records);
    out.push(
      encodeHeader({
        name: paxHeaderName(name),
        prefix: undefined,
        typeflag: TYPE_PAX,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: body.length,
        mtime,
        linkname: undefined,
      }),
    );
    out.push(body, padding(body.length));
  }
  out.push(
    encodeHeader({
      name: split ? split.name : truncateUtf8(name, 100),
      prefix: split?.prefix,
      typeflag: e.typeflag,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      size: fileSize(e),
      mtime,
      linkname: e.linkname === undefined ? undefined : linkFits ? e.linkname : truncateUtf8(e.linkname, 100),
    }),
  );
  return out;
}

interface HeaderFields {
  name: Uint8Array;
  prefix: Uint8Array | undefined;
  typeflag: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: Uint8Array | undefined;
}

/** One POSIX ustar header block. Offsets from POSIX.1-1988 (pax) "ustar Interchange Format". */
function encodeHeader(h: HeaderFields): Uint8Array {
  const b = new Uint8Array(BLOCK);
  b.set(h.name, 0); // name[100]
  writeOctal(b, 100, 8, h.mode); // mode[8]
  writeOctal(b, 108, 8, h.uid); // uid[8]
  writeOctal(b, 116, 8, h.gid); // gid[8]
  writeOctal(b, 124, 12, h.size); // size[12]
  writeOctal(b, 136, 12, h.mtime); // mtime[12]
  b[156] = h.typeflag; // typeflag
  if (h.linkname) b.set(h.linkname, 157); // linkname[100]
  b.set(USTAR_MAGIC_VERSION, 257); // magic[6] "ustar\0", version[2] "00"
  // uname[32] at 265 and gname[32] at 297 stay empty.
  writeOctal(b, 329, 8, 0); // devmajor[8]
  writeOctal(b, 337, 8, 0); // devminor[8]
  if (h.prefix) b.set(h.prefix, 345); // prefix[155]
  // chksum[8]: sum of all bytes with the field itself read as spaces; 6 digits, NUL, space.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  writeOctal(b, 148, 7, sum);
  b[155] = 0x20;
  return b;
}

/** Zero-padded octal in width-1 digits followed by NUL. */
function writeOctal(b: Uint8Array, off: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, "0");
  if (digits.length > width - 1) throw new Error(`layer tar: value ${value} does not fit a ${width}-byte header field`);
  for (let i = 0; i < digits.length; i++) b[off + i] = digits.charCodeAt(i);
  b[off + width - 1] = 0;
}

/**
 * Split a long name into ustar prefix (≤155 bytes) and name (≤100 bytes, non-empty) at a "/".
 * Like GNU tar, take the longest prefix that fits (ignoring a directory's trailing slash), so our
 * headers equal GNU tar's --format=ustar ones. Null when no split fits.
 */
function splitUstarName(name: Uint8Array): { name: Uint8Array; prefix: Uint8Array | undefined } | null {
  if (name.length <= 100) return { name, prefix: undefined };
  if (name.length > 155 + 1 + 100) return null;
  let end = Math.min(name.length, 156);
  if (end === name.length && name[end - 1] === 0x2f) end--;
  let i = end - 1;
  while (i > 0 && name[i] !== 0x2f) i--;
  const rest = name.length - i - 1;
  if (i === 0 || rest > 100 || rest === 0) return null;
  return { prefix: name.subarray(0, i), name: name.subarray(i + 1) };
}

/** A PAX record "<len> <key>=<value>\n", where <len> counts the whole record including itself. */
function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const rest = utf8.encode(` ${key}=`);
  const base = rest.length + value.length + 1;
  let len = base + String(base).length;
  if (String(len).length !== String(base).length) len = base + String(len).length;
  return concat(utf8.encode(String(len)), rest, value, utf8.encode("\n"));
}

/** "PaxHeaders/<basename>", cut to the 100-byte name field: fixed, unlike GNU tar's pid-bearing name. */
function paxHeaderName(name: Uint8Array): Uint8Array {
  let end = name.length;
  if (name[end - 1] === 0x2f) end--; // a directory's trailing slash
  const start = name.lastIndexOf(0x2f, end - 1) + 1;
  return truncateUtf8(concat(utf8.encode("PaxHeaders/"), name.subarray(start, end)), 100);
}

/** At most max bytes, cut before a UTF-8 continuation byte so no character is split. */
function truncateUtf8(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function paddingSize(len: number): number {
  return (BLOCK - (len % BLOCK)) % BLOCK;
}

function padding(len: number): Uint8Array {
  return ZERO_BLOCK.subarray(0, paddingSize(len));
}

/** A normalised absolute layer path: "/", or "/a/b" with no empty, "." or ".." component. */
function checkPath(path: unknown, what: string): asserts path is string {
  if (typeof path !== "string" || !path.startsWith("/")) throw new Error(`layer tar: ${what} ${JSON.stringify(path)} is not an absolute path`);
  if (path === "/") return;
  for (const part of path.slice(1).split("/")) {
    if (part === "" || part === "." || part === "..") throw new Error(`layer tar: ${what} ${JSON.stringify(path)} is not a normalised path (empty, "." or ".." component)`);
  }
  checkText(path, `${what} ${JSON.stringify(path)}`);
}

/** Tar stores bytes: refuse NUL and strings that have no exact UTF-8 form. */
function checkText(s: string, what: string): void {
  if (s.includes("\0")) throw new Error(`layer tar: ${what} contains a NUL character`);
  if (LONE_SURROGATE.test(s)) throw new Error(`layer tar: ${what} is not valid Unicode (lone surrogate)`);
}

function checkInteger(field: string, value: unknown, max: number, where: string): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw new Error(`layer tar: ${field} of ${where} must be an integer from 0 to ${max}, got ${String(value)}`);
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
