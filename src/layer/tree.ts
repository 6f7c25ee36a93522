/**
 * The layer's file tree while it is being assembled. It enforces the safety rules that need to
 * see every package at once: no path is written through a symlink (a package cannot plant
 * `/etc → /tmp/evil` and then write `/etc/passwd` through it), parents are explicit
 * directories, and two sources never silently disagree about a path.
 */
import { originMember, type LayerNode, type NodeOrigin } from "../model/layer.js";
import { blockingParent } from "../deb/member-rules.js";
import { LayerConflictError, LayerSafetyError } from "./errors.js";
import { fileSha256, fileSize } from "../util/file-extent.js";

const IMPLICIT: NodeOrigin = { kind: "implicit", reason: "parent directory" };

function describe(n: LayerNode): string {
  const o = n.origin;
  switch (o.kind) {
    case "package":
      return `${o.package} ${o.version} (${originMember(o, n)})`;
    case "derivation":
      return `derivation ${o.recipe}`;
    default:
      return o.reason;
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function sameContent(a: LayerNode, b: LayerNode): boolean {
  if (a.type !== b.type || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (a.type === "symlink" || a.type === "hardlink") return a.target === b.target;
  // Package files are compared by the digests taken as they were read, not by reading them again.
  if (a.type === "file") return fileSize(a) === fileSize(b) && fileSha256(a) === fileSha256(b);
  return true;
}

export class LayerTree {
  private readonly map = new Map<string, LayerNode>();

  constructor() {
    this.map.set("/", { path: "/", type: "dir", mode: 0o755, uid: 0, gid: 0, origin: IMPLICIT });
  }

  get nodes(): ReadonlyMap<string, LayerNode> {
    return this.map;
  }

  get(path: string): LayerNode | undefined {
    return this.map.get(path);
  }

  /**
   * Add a node. Missing parents become 0755 root directories (replaced if a package later
   * supplies the directory itself). Directories merge (the first explicit mode wins, as with
   * dpkg); anything else at an existing path must be identical. A node identical to the one at
   * its path (a directory too) is recorded in that node's `alsoFrom`.
   */
  add(node: LayerNode): void {
    if (!node.path.startsWith("/") || node.path.split("/").some((s, i) => i > 0 && (s === "" || s === "." || s === "..")) || node.path.includes("\0")) {
      throw new LayerSafetyError(`${describe(node)}: path ${JSON.stringify(node.path)} is not a normal absolute path inside the layer`);
    }
    if (node.path === "/") {
      if (node.type !== "dir") throw new LayerSafetyError(`${describe(node)}: the root of the layer must be a directory`);
      return;
    }
    this.ensureParents(node);
    const prev = this.map.get(node.path);
    if (!prev) {
      this.map.set(node.path, node);
      return;
    }
    if (prev.type === "dir" && node.type === "dir" && prev.origin.kind === "implicit") {
      this.map.set(node.path, node);
      return;
    }
    // An identical duplicate is another provider of the path: the provenance lists them all.
    // Added to the node in place: a copy of the node and its list per provider was quadratic
    // garbage for the directories every package ships (/usr/share/doc: ~2,000 providers).
    if (sameContent(prev, node)) {
      if (node.origin.kind !== "implicit") (prev.alsoFrom ??= []).push(node.origin);
      return;
    }
    if (prev.type === "dir" && node.type === "dir") return;
    throw new LayerConflictError(
      `${node.path} is provided by ${describe(prev)} and, differently, by ${describe(node)}`,
      { hint: "exclude the path from one of the file sets (\"exclude\") or drop one of the packages" },
    );
  }

  private ensureParents(node: LayerNode): void {
    // The rule a tar's members obey, across packages and derivations: a parent must be a directory.
    const through = blockingParent(node.path, (p) => this.map.get(p));
    if (through) {
      throw new LayerSafetyError(
        `${describe(node)}: ${node.path} would be written through ${through.path}, which is a ${through.node.type} from ${describe(through.node)}`,
        { hint: "a package that writes through a link could overwrite files outside its own paths; this package is refused" },
      );
    }
    const missing: string[] = [];
    for (let p = parentOf(node.path); !this.map.has(p); p = parentOf(p)) missing.push(p);
    for (const p of missing.reverse()) this.map.set(p, { path: p, type: "dir", mode: 0o755, uid: 0, gid: 0, origin: IMPLICIT });
  }

  /** All nodes but the root, in no particular order (the tar writer sorts by bytes). */
  list(): LayerNode[] {
    return [...this.map.values()].filter((n) => n.path !== "/");
  }
}
