/**
 * The layer's provenance manifest: one JSON line per path in the layer (sorted by path bytes),
 * saying what it is and where it came from — the package member, or the derivation and its
 * inputs. It is stored in the layer itself at PROVENANCE_PATH (like chisel's manifest.wall) and
 * written beside the output; the lock records its sha256, not the file list.
 * The manifest does not list itself (it cannot hold its own digest).
 *
 * Layout: first one `{"derivation": …}` line per derivation (its full record: recipe, version,
 * options, inputs and outputs with their sha256), then one line per path, whose derivation
 * origin names the recipe only — a CA bundle reads ~150 certificates, and repeating them on each
 * of its ~300 outputs would make the manifest megabytes long.
 */
import type { LayerNode } from "../model/layer.js";
import type { LockedDerivation } from "../model/lock.js";
import { sortKeys } from "../util/canonical-json.js";
import { sha256Hex } from "../util/hash.js";
import { comparePaths } from "../util/byte-order.js";

export const PROVENANCE_PATH = "/var/lib/scratch-pkgs/manifest.jsonl";

export interface ProvenanceEntry {
  path: string;
  type: LayerNode["type"];
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
  /** A derivation's origin names the recipe; its inputs are in the `derivation` line. */
  origin: Exclude<LayerNode["origin"], { kind: "derivation" }> | { kind: "derivation"; recipe: string; version: string };
}

export function provenanceEntry(n: LayerNode): ProvenanceEntry {
  const origin: ProvenanceEntry["origin"] = n.origin.kind === "derivation" ? { kind: "derivation", recipe: n.origin.recipe, version: n.origin.version } : n.origin;
  const e: ProvenanceEntry = { path: n.path, type: n.type, mode: (n.mode & 0o7777).toString(8).padStart(4, "0"), uid: n.uid, gid: n.gid, origin };
  if (n.type === "file") {
    e.size = n.content?.length ?? 0;
    e.sha256 = sha256Hex(n.content ?? new Uint8Array());
  } else if (n.target !== undefined) e.target = n.target;
  return e;
}

export function provenanceManifest(
  nodes: readonly LayerNode[],
  derivations: readonly LockedDerivation[],
): { node: LayerNode; text: string; sha256: string; entries: number } {
  const sorted = nodes.filter((n) => n.path !== PROVENANCE_PATH).sort((a, b) => comparePaths(a.path, b.path));
  const line = (x: unknown) => JSON.stringify(sortKeys(x)) + "\n";
  const text = derivations.map((d) => line({ derivation: d })).join("") + sorted.map((n) => line(provenanceEntry(n))).join("");
  const content = Buffer.from(text, "utf8");
  return {
    node: { path: PROVENANCE_PATH, type: "file", mode: 0o644, uid: 0, gid: 0, content, origin: { kind: "derivation", recipe: "provenance", version: "1", inputs: [] } },
    text,
    sha256: sha256Hex(content),
    entries: sorted.length,
  };
}

export function parseProvenance(text: string): { derivations: LockedDerivation[]; entries: ProvenanceEntry[] } {
  const derivations: LockedDerivation[] = [];
  const entries: ProvenanceEntry[] = [];
  for (const l of text.split("\n")) {
    if (l === "") continue;
    const x = JSON.parse(l) as ProvenanceEntry | { derivation: LockedDerivation };
    if ("derivation" in x) derivations.push(x.derivation);
    else entries.push(x);
  }
  return { derivations, entries };
}
