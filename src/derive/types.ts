/**
 * Derivations: generated files that no Debian package contains because maintainer scripts
 * make them. Each recipe is a pure function from layer nodes (and options) to new nodes plus
 * the LockedDerivation record that `lock` stores and `audit` re-checks.
 */
import type { LayerNode } from "../model/layer.js";
import type { LockedDerivation } from "../model/lock.js";

export interface DerivationInput {
  /** The layer so far, by absolute path. Lookup only: iteration order never matters. */
  nodes: ReadonlyMap<string, LayerNode>;
}

export interface Derivation {
  recipe: string;
  version: string;
  options: Record<string, string | number | boolean>;
  /** Outputs, sorted by path bytes; origin {kind:"derivation", recipe, version, inputs}. */
  nodes: LayerNode[];
  record: LockedDerivation;
}
