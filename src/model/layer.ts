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
  fd: number;
  offset: number;
  size: number;
  sha256: string;
  /** Names the bytes in an error, e.g. "libc6_2.36-9_amd64.deb ./usr/lib/x". */
  label: string;
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

export type NodeOrigin =
  | { kind: "package"; package: string; version: string; architecture: string; member: string /* path inside data.tar, e.g. "./usr/lib/x" */ }
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
