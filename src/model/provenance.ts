/**
 * The records of a layer's provenance manifest (JSON lines: a format line, then one line per
 * derivation, then one per layer path sorted by path bytes). Written by src/layer/provenance.ts,
 * read and validated by src/layer/provenance-read.ts; the lock records the file's sha256.
 */
import type { NodeOrigin, NodeType, MemberOrigin } from "./layer.js";
import type { LockedDerivation } from "./lock.js";

/** The first line of every manifest. A reader refuses any other format or version. */
export const PROVENANCE_FORMAT = { format: "scratch-pkgs-provenance", version: 1 } as const;

/** Where a path came from, as the manifest says it: a derivation names its recipe only (its inputs are in its `derivation` line). */
export type ProvenanceOrigin =
  | Required<MemberOrigin>
  | Extract<NodeOrigin, { kind: "implicit" }>
  | { kind: "derivation"; recipe: string; version: string };

export interface ProvenanceEntry {
  path: string;
  type: NodeType;
  /** Octal, four digits ("0644", "1777"). */
  mode: string;
  uid: number;
  gid: number;
  /** Regular files only. */
  size?: number;
  sha256?: string;
  /** Symlinks and hard links only. */
  target?: string;
  /** The first provider in provider order (compareOrigins in src/layer/provenance.ts). */
  origin: ProvenanceOrigin;
  /** The other packages or recipes that supply this path exactly as recorded, in provider order; absent when there are none. */
  alsoFrom?: ProvenanceOrigin[];
}

export interface Provenance {
  derivations: LockedDerivation[];
  entries: ProvenanceEntry[];
}
