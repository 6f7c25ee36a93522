/**
 * Which members of a package a layer takes: a member is taken when some selection rule's
 * include globs match its path and that rule's excludes do not. Directories come along when
 * they are taken themselves or lead to a taken member; hard links whose target is not taken
 * become regular files with the target's content.
 */
import picomatch from "picomatch";
import type { SelectionRule } from "../model/lock.js";
import { storedMember, type DebMember, type LayerNode, type NodeType, type MemberOrigin } from "../model/layer.js";
import type { FileSetPlan } from "../resolve/filesets.js";
import { EmptySelectionError } from "./errors.js";

export type PathPredicate = (path: string) => boolean;

export function selector(rules: readonly SelectionRule[]): PathPredicate {
  const compiled = rules.map((r) => ({ include: globMatcher(r.include), exclude: r.exclude.length > 0 ? globMatcher(r.exclude) : () => false }));
  return (path) => compiled.some((r) => r.include(path) && !r.exclude(path));
}

/**
 * One compiled matcher per list of globs: the packages of a file set share its rules, and each
 * picomatch matcher keeps its parse state (a 412-package layer compiled ~3,700 of them).
 */
const matchers = new Map<string, PathPredicate>();
function globMatcher(globs: readonly string[]): PathPredicate {
  const key = JSON.stringify(globs);
  let m = matchers.get(key);
  if (!m) matchers.set(key, (m = picomatch([...globs], { dot: true })));
  return m;
}

export interface PackageIdentity {
  name: string;
  version: string;
  architecture: string;
}

/** Add `path`'s ancestors to `dirs`, deepest first, stopping at one already there (its own are then there too). */
function addAncestors(path: string, dirs: Set<string>): void {
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const dir = path.slice(0, i);
    if (dirs.has(dir)) return;
    dirs.add(dir);
  }
}

/** The layer nodes a package contributes, in member order. */
export function selectMembers(members: readonly DebMember[], take: PathPredicate, pkg: PackageIdentity): LayerNode[] {
  const taken = new Set<string>();
  for (const m of members) if (m.type !== "dir" && m.path !== "/" && take(m.path)) taken.add(m.path);
  const neededDirs = new Set<string>();
  for (const p of taken) addAncestors(p, neededDirs);
  // Only hard links look members up by path.
  const byPath = new Map<string, DebMember>();
  if (members.some((m) => m.type === "hardlink")) for (const m of members) byPath.set(m.path, m);

  // Every node is an object literal of one fixed key order per kind: spreads made each node's
  // hidden class its own (V8), ~300 bytes more per path of a large layer. Its nodes share one
  // origin, which names a member only where the node's path does not give its name.
  const shared: MemberOrigin = { kind: "package", package: pkg.name, version: pkg.version, architecture: pkg.architecture };
  const originOf = (m: DebMember, type: NodeType): MemberOrigin =>
    m.member === storedMember(m.path, type) ? shared : { kind: "package", package: pkg.name, version: pkg.version, architecture: pkg.architecture, member: m.member };
  const out: LayerNode[] = [];
  for (const m of members) {
    const mode = m.mode & 0o7777;
    if (m.type === "dir") {
      if (m.path !== "/" && (neededDirs.has(m.path) || take(m.path))) out.push({ path: m.path, type: "dir", mode, uid: m.uid, gid: m.gid, origin: originOf(m, "dir") });
      continue;
    }
    if (!taken.has(m.path)) continue;
    if (m.type === "file") out.push(fileNode(m.path, mode, m.uid, m.gid, originOf(m, "file"), m));
    else if (m.type === "symlink") out.push({ path: m.path, type: "symlink", mode, uid: m.uid, gid: m.gid, origin: originOf(m, "symlink"), target: m.target! });
    else {
      // A hard link is its file's inode: it shows the file's mode and owner (its own header's
      // mean nothing), as the tar writer writes and the provenance records. When the file is
      // not in the layer, the link becomes the file.
      const t = linkedFile(m, byPath);
      const [lmode, uid, gid] = [(t?.mode ?? m.mode) & 0o7777, t?.uid ?? m.uid, t?.gid ?? m.gid];
      if (taken.has(m.target!)) out.push({ path: m.path, type: "hardlink", mode: lmode, uid, gid, origin: originOf(m, "hardlink"), target: m.target! });
      else out.push(fileNode(m.path, lmode, uid, gid, originOf(m, "file"), t));
    }
  }
  return out;
}

/** A taken file, its bytes where the reader found them (its extent; empty when it read none). */
function fileNode(path: string, mode: number, uid: number, gid: number, origin: MemberOrigin, m: DebMember | undefined): LayerNode {
  return m?.extent ? { path, type: "file", mode, uid, gid, origin, extent: m.extent } : { path, type: "file", mode, uid, gid, origin, content: new Uint8Array() };
}

/**
 * The check that every include glob of a set (one whose `everyGlobMustMatch` is set) takes some
 * member of the set's own packages in this layer: matched, not excluded, as selectMembers takes
 * them. Fed each package's members as the build reads them (in lock order), so that no member
 * list outlives its package; `check` then refuses the first failing set, naming every such glob
 * and the packages searched.
 */
export class EveryGlobTakes {
  /** For each set, each of its package rules: the packages of this layer it searched ("name version"). */
  private readonly searched: string[][][];
  /** For each set, the include globs that took something. */
  private readonly took: Array<Set<string>>;
  /** The rules naming each package: only these packages are looked at. */
  private readonly byName = new Map<string, Array<{ set: number; rule: number }>>();

  constructor(private readonly sets: ReadonlyArray<Pick<FileSetPlan, "name" | "packages">>, private readonly arch: string) {
    this.searched = sets.map((s) => s.packages.map(() => []));
    this.took = sets.map(() => new Set());
    sets.forEach((s, set) => s.packages.forEach((p, rule) => {
      const named = this.byName.get(p.name) ?? [];
      named.push({ set, rule });
      this.byName.set(p.name, named);
    }));
  }

  /** One package's members as read; packages no set names are ignored. */
  feed(pkg: PackageIdentity, members: readonly DebMember[]): void {
    for (const { set, rule } of this.byName.get(pkg.name) ?? []) {
      this.searched[set]![rule]!.push(`${pkg.name} ${pkg.version}`);
      const { include, exclude } = this.sets[set]!.packages[rule]!;
      const took = this.took[set]!;
      const excluded = exclude.length > 0 ? globMatcher(exclude) : () => false;
      for (const glob of include) {
        if (took.has(glob)) continue;
        const match = globMatcher([glob]);
        if (members.some((m) => m.path !== "/" && match(m.path) && !excluded(m.path))) took.add(glob);
      }
    }
  }

  /** Throws EmptySelectionError for the first set, in the given order, with a glob that took nothing. */
  check(): void {
    for (const [i, set] of this.sets.entries()) {
      const rules = set.packages.filter((_, rule) => this.searched[i]![rule]!.length > 0);
      if (rules.length === 0) continue; // none of its packages is in this layer: nothing was asked of it here
      const empty = [...new Set(rules.flatMap((r) => r.include))].filter((glob) => !this.took[i]!.has(glob));
      if (empty.length === 0) continue;
      const packages = this.searched[i]!.flat().join(", ");
      const what = empty.length === 1 ? `glob ${JSON.stringify(empty[0])} takes` : `globs ${empty.map((g) => JSON.stringify(g)).join(", ")} take`;
      throw new EmptySelectionError(`file set ${JSON.stringify(set.name)}: on ${this.arch}, paths ${what} nothing from ${packages}`, {
        hint: `fix fileSets.${set.name}.paths (or its exclude) in the manifest, or name the package that ships these files; \`dpkg-deb -c\` on the .deb lists its paths`,
      });
    }
  }
}

/** The regular file a hard link shares, through links to links (which the deb reader accepts). */
function linkedFile(m: DebMember, byPath: ReadonlyMap<string, DebMember>): DebMember | undefined {
  let cur: DebMember | undefined = m;
  for (let hops = 0; cur?.type === "hardlink" && hops <= byPath.size; hops++) cur = byPath.get(cur.target!);
  return cur?.type === "file" ? cur : undefined;
}
