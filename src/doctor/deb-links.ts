/**
 * A path followed inside one package's data.tar, as ld.so would open it once the package is
 * installed: every symlink (and hard link) on the way is a path the file set must take too, and
 * a link may point at a path the package does not ship (then another package must). Pure.
 */
import * as posix from "node:path/posix";
import type { DebMember } from "../model/layer.js";
import { MAX_SYMLINKS } from "../util/layer-path.js";

export type DebFollow =
  /** A regular file: `links` are the link paths passed on the way (the asked one first, if a link). */
  | { kind: "file"; links: string[]; file: string; member: DebMember }
  /** The last link points at `next`, which this package does not ship. */
  | { kind: "leaves"; links: string[]; next: string }
  | { kind: "problem"; links: string[]; reason: string };

/** The members by path, for `followInDeb`. */
export function membersByPath(members: readonly DebMember[]): Map<string, DebMember> {
  return new Map(members.map((m) => [m.path, m]));
}

export function followInDeb(members: ReadonlyMap<string, DebMember>, path: string): DebFollow {
  const links: string[] = [];
  let at = path;
  for (;;) {
    const m = members.get(at);
    if (m === undefined) return links.length > 0 ? { kind: "leaves", links, next: at } : { kind: "problem", links, reason: `the package has no ${at}` };
    if (m.type === "file") return { kind: "file", links, file: at, member: m };
    if (m.type === "dir") return { kind: "problem", links, reason: `${at} is a directory in the package` };
    if (links.length >= MAX_SYMLINKS) return { kind: "problem", links, reason: `too many levels of links at ${at}` };
    links.push(at);
    const target = m.target ?? "";
    // A hard link's target is already absolute and normal; a symlink's is relative to its directory.
    at = posix.normalize(target.startsWith("/") ? target : posix.join(posix.dirname(at), target));
  }
}
