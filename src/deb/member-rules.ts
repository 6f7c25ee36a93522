/**
 * The one set of rules for a tar whose members land in an image: a .deb's control.tar and
 * data.tar, and an `image --add` tar. Checked member by member, in archive order, as an OCI
 * applier (or dpkg) would extract them:
 * - names are normalised ("./x", "x", "x/" → "/x"; "./" → "/"); an empty name, NUL, a name
 *   that is not UTF-8, an absolute name or a ".." component is refused;
 * - the root "./" is a directory (a symlink or file root would replace the image's root);
 * - device nodes and fifos are refused unless the caller allows them (`image --allow-devices`);
 * - owner, mode and size fit the layer's ustar fields (LAYER_LIMITS);
 * - a hard link names an earlier regular file of the same tar;
 * - nothing is written through a non-directory: no parent of a member (or of a hard link's
 *   target) is a symlink or file, whether an earlier member made it or a layer below
 *   (`below`): an applier would follow the link and write elsewhere than the name says;
 * - no member turns a directory into something else or the reverse: an applier deletes the old
 *   node first, a whole tree (/etc) or a link the image relies on (/lib → usr/lib).
 * A refusal is built by the caller's `refuse`, which names the archive in its own typed error.
 */

import { LAYER_LIMITS } from "../model/layer.js";
import type { TarEntry, TarEntryType } from "./tar-reader.js";

export type MemberType = Exclude<TarEntryType, "unknown">;

/** One member, checked: what the tar says, with its name normalised. */
export interface CheckedMember {
  /** Normalised absolute path ("./usr/bin/x" → "/usr/bin/x"; "./" → "/"). */
  path: string;
  /** The name exactly as stored. */
  member: string;
  type: MemberType;
  /** The whole mode field (callers mask it). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Symlink: the target as written. Hard link: the normalised absolute path it links to. */
  target?: string;
}

/** What a tree holds at a path, as far as these rules care; `where` says whose it is, for messages. */
export interface NodeView {
  type: string;
  target?: string | undefined;
  where?: string;
}

export type LookUp = (path: string) => NodeView | undefined;

/** Builds the caller's error for a refused member (`member` as stored); `hint` when the rule has a better one than the caller's. */
export type Refuse = (member: string, detail: string, hint?: string) => Error;

export interface TarRulesOptions {
  refuse: Refuse;
  /** Allow character and block devices and fifos (only an added tar may; never a .deb). */
  allowDevices?: boolean;
  /** The layers this tar is applied on: what they hold at a path. */
  below?: LookUp;
  /** How messages name this tar's own earlier members (default "an earlier member of the archive"). */
  ownWhere?: string;
}

const REFUSED_TYPES: Partial<Record<TarEntryType, string>> = {
  chardev: "character device",
  blockdev: "block device",
  fifo: "fifo",
};

const DEVICE_HINT = "a layer holds only files, directories and links";
const NUMERIC_FIELDS = ["uid", "gid", "mode", "size"] as const;
// dpkg and tar accept a uid of 3000000, so such a member is not malformed, only unrecordable.
const NUMBERS_HINT = "The member is valid for dpkg and tar but cannot be put in a deterministic ustar layer: leave its package (or file) out, or ask for a build without such members.";

/**
 * "./a/b" → "/a/b", "./" → "/", "a//b/" → "/a/b", "./a/./b" → "/a/b"; or why the name is
 * refused: empty, NUL, absolute or with a ".." segment, any of which could land outside the layer.
 */
export function normaliseName(name: string): { path: string } | { refused: string } {
  if (name === "") return { refused: "a tar member has an empty name" };
  if (name.includes("\0")) return { refused: "a tar member name contains a NUL byte" };
  if (name.startsWith("/")) return { refused: "absolute member path refused: members must be relative (./usr/…)" };
  const segments = name.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return { refused: 'member path with a ".." segment refused: it could escape the layer' };
  return { path: "/" + segments.join("/") };
}

/**
 * The highest parent of `path` that is not a directory in `at` ("/a" for "/a/b/c" when /a is
 * a symlink), or undefined: what writing `path` would go through.
 */
export function blockingParent<N extends NodeView>(path: string, at: (path: string) => N | undefined): { path: string; node: N } | undefined {
  for (let i = path.indexOf("/", 1); i > 0; i = path.indexOf("/", i + 1)) {
    const parent = path.slice(0, i);
    const node = at(parent);
    if (node !== undefined && node.type !== "dir") return { path: parent, node };
  }
  return undefined;
}

/** "/a, a symlink to /etc (an earlier member)": a node for messages. */
export function describeNode(path: string, node: NodeView): string {
  const what = node.type === "symlink" ? `a symlink to ${node.target ?? "?"}` : node.type === "dir" ? "a directory" : `a ${node.type === "hardlink" ? "file" : node.type}`;
  return `${path}, ${what}${node.where ? ` (${node.where})` : ""}`;
}

/**
 * The member an entry stands for, checked on its own (name, type, numbers, link text); the
 * rules that need the members before it are TarRules'.
 */
export function checkEntry(e: TarEntry, opts: Pick<TarRulesOptions, "refuse" | "allowDevices">): CheckedMember {
  const refuse = (detail: string, hint?: string): Error => opts.refuse(e.name, detail, hint);
  if (e.name.includes("\uFFFD")) throw refuse("member name is not valid UTF-8");
  const name = normaliseName(e.name);
  if ("refused" in name) throw refuse(name.refused);
  const base = name.path.slice(name.path.lastIndexOf("/") + 1);
  if (base.startsWith(".wh.")) {
    const what = base === ".wh..wh..opq" ? "everything the layers below have in its directory" : `${name.path.slice(0, name.path.lastIndexOf("/") + 1)}${base.slice(4)} of the layers below`;
    throw refuse(`a name beginning with ".wh." is an OCI whiteout: in an image layer it deletes ${what} instead of adding a file`, "rename the file: no layer may carry a .wh. name as content");
  }
  if (e.type === "unknown") throw refuse(`entry of an unsupported tar type (sparse file, volume label, …) refused: ${DEVICE_HINT}`);
  const device = REFUSED_TYPES[e.type];
  if (device !== undefined && !opts.allowDevices) throw refuse(`${device} refused: ${DEVICE_HINT}`);
  for (const field of NUMERIC_FIELDS) {
    const value = e[field];
    const max = LAYER_LIMITS[field];
    if (!Number.isSafeInteger(value) || value < 0 || value > max) throw refuse(`${field} ${value} is beyond what a layer can record (${field} 0 to ${max}, ustar's limit)`, NUMBERS_HINT);
  }
  const member: CheckedMember = { path: name.path, member: e.name, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.type === "file" ? e.size : 0 };
  if (e.type === "symlink") {
    const target = e.linkname ?? "";
    if (target === "" || target.includes("\0") || target.includes("\uFFFD")) throw refuse(`symlink with an empty or unreadable target ${JSON.stringify(target)}`);
    member.target = target;
  } else if (e.type === "hardlink") {
    if (e.linkname === undefined || e.linkname === "" || e.linkname.includes("\uFFFD")) throw refuse("hard link with an empty or unreadable target");
    const target = normaliseName(e.linkname);
    if ("refused" in target) throw refuse(`hard link target ${JSON.stringify(e.linkname)} refused: it is absolute or leaves the archive`);
    member.target = target.path;
  }
  return member;
}

/** What a placed member shares: for a hard link, the index (in archive order) of the regular file it is. */
export interface Placed {
  index: number;
  shares: number | undefined;
}

/** The rules over a whole tar: feed it every entry (or checked member) in archive order. */
export class TarRules {
  /** The newest member at each path, by path. */
  private readonly latest = new Map<string, { node: NodeView; index: number; shares: number | undefined }>();
  private count = 0;

  constructor(private readonly opts: TarRulesOptions) {}

  /** Checks one entry on its own and in its place after the ones before it. */
  check(e: TarEntry): { member: CheckedMember; placed: Placed } {
    const member = checkEntry(e, this.opts);
    return { member, placed: this.place(member) };
  }

  /** What the tree holds at `path` after the members so far: this tar's newest member there, else the layers below. */
  readonly at: LookUp = (path) => this.latest.get(path)?.node ?? this.opts.below?.(path);

  /** Places a member checked by checkEntry (again, e.g. over other layers): the rules that need the members before it. */
  place(m: CheckedMember): Placed {
    const refuse = (detail: string): Error => this.opts.refuse(m.member, detail);
    const index = this.count++;
    if (m.path === "/") {
      if (m.type !== "dir") throw refuse(`the archive's root is a ${m.type === "hardlink" ? "hard link" : m.type}: the root of a layer must be a directory (an applier would replace the image's root with it)`);
      return { index, shares: undefined };
    }
    const through = blockingParent(m.path, this.at);
    if (through) throw refuse(`would be written through ${describeNode(through.path, through.node)}: an extractor follows it and writes elsewhere than the name says`);
    const prev = this.at(m.path);
    if (prev !== undefined && (prev.type === "dir") !== (m.type === "dir")) {
      throw refuse(`would replace ${describeNode(m.path, prev)} with a ${m.type === "dir" ? "directory" : m.type}: an extractor deletes the old node first${prev.type === "dir" ? ", with everything in it" : ""}`);
    }
    let shares: number | undefined;
    if (m.type === "hardlink") {
      const target = this.latest.get(m.target!);
      shares = target === undefined ? undefined : target.node.type === "file" ? target.index : target.shares;
      if (shares === undefined) throw refuse(`hard link to ${m.target}, which is not an earlier regular file of the archive`);
      const linkThrough = blockingParent(m.target!, this.at);
      if (linkThrough) throw refuse(`hard link to ${m.target}, which is reached through ${describeNode(linkThrough.path, linkThrough.node)}`);
    }
    this.latest.set(m.path, { node: { type: m.type, target: m.target, where: this.opts.ownWhere ?? "an earlier member of the archive" }, index, shares });
    return { index, shares };
  }
}
