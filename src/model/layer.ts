/**
 * The in-memory file tree of a layer, shared by the deb reader (which produces entries), the
 * selection and derivation steps (which add nodes) and the tar writer (which serialises them).
 * Paths are absolute and normalised: "/usr/lib/x", no trailing slash, "/" is the root.
 */

export type NodeType = "file" | "dir" | "symlink" | "hardlink";

/**
 * The largest numbers a layer holds: what the tar writer encodes in its ustar octal fields
 * (uid, gid and mode in 7 digits, size in 11, i.e. just under 8 GiB). The deb reader refuses a
 * member beyond them where it enters, naming the package, rather than the writer failing later.
 */
export const LAYER_LIMITS = { uid: 0o7777777, gid: 0o7777777, mode: 0o7777777, size: 0o77777777777 } as const;

/**
 * A regular file's bytes kept on disk: `size` bytes at `offset` of the open file `fd` (a decoded
 * data.tar), whose sha256 was taken as they were first read; every later read re-checks it.
 */
export interface FileExtent {
  readonly fd: number;
  readonly offset: number;
  readonly size: number;
  readonly sha256: string;
  /** Names the bytes in an error, e.g. "libc6_2.36-9_amd64.deb ./usr/lib/x" (a package member's is made only when asked: memberExtent). */
  readonly label: string;
}

export interface LayerNode {
  path: string;
  type: NodeType;
  /** Permission bits incl. setuid/setgid/sticky (0o7777 mask). */
  mode: number;
  uid: number;
  gid: number;
  /** Regular files only: the bytes in memory (a derivation's output)... */
  content?: Uint8Array;
  /** ...or where they are on disk (a package's member), read when the tar is written. */
  extent?: FileExtent;
  /** Symlinks: the target as written (relative or absolute). Hard links: the absolute layer path of the file it links to. */
  target?: string;
  /** Where it came from: a package member or a derivation. */
  origin: NodeOrigin;
  /** Other sources that supplied this path exactly as it is (the layer tree accepts identical duplicates), in the order they were added. */
  alsoFrom?: NodeOrigin[];
}

/**
 * A package member's origin. `member` is its name inside data.tar ("./usr/lib/x", "./usr/lib/"
 * for a directory). Where that is the name the node's own path and type give (storedMember),
 * it is left out: one origin object then serves every node of the package (a large layer has
 * ~140,000 nodes), and originMember derives the name when it is needed.
 */
export interface MemberOrigin {
  kind: "package";
  package: string;
  version: string;
  architecture: string;
  member?: string;
}

export type NodeOrigin =
  | MemberOrigin
  | { kind: "derivation"; recipe: string; version: string; inputs: Array<{ path: string; sha256: string }> }
  | { kind: "implicit"; reason: string /* e.g. "parent directory" */ };

/** One entry of a .deb's data.tar (or control.tar) as the deb reader yields it. */
export interface DebMember {
  /** Normalised absolute path ("./usr/bin/x" → "/usr/bin/x"; "./" → "/"). */
  path: string;
  /** The name exactly as stored in the tar, for provenance. */
  member: string;
  type: NodeType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Wanted regular files: where the bytes are in the decoded tar, never held in memory. */
  extent?: FileExtent;
  /** Symlink target as written; hard link: normalised absolute path of the link target. */
  target?: string;
}

/** The name a tar member stored at `path` usually has: "./usr/lib/x", a directory "./usr/lib/". */
export function storedMember(path: string, type: NodeType): string {
  return type === "dir" ? `.${path}/` : `.${path}`;
}

/** The data.tar member a package origin of `node` names: its own, else the one the node's path gives. */
export function originMember(origin: MemberOrigin, node: Pick<LayerNode, "path" | "type">): string {
  return origin.member ?? storedMember(node.path, node.type);
}
