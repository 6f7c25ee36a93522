import { ScratchError, EXIT } from "../model/errors.js";

/**
 * A path that would escape the layer or be written through a link: refused, never a warning.
 * Exit 1, like every security failure.
 */
export class LayerSafetyError extends ScratchError {
  readonly exitCode = EXIT.checkFailed;
  readonly kind = "layer-safety";
}

/** Two packages (or a package and a derivation) want different content at one path. Exit 2: fix the selection. */
export class LayerConflictError extends ScratchError {
  readonly exitCode = EXIT.usage;
  readonly kind = "layer-conflict";
}

/**
 * A provenance manifest (in a layer, beside it, or in the cache) is of an unknown format or
 * version, or malformed; the message names the file and the line ("FILE line N: …"). Exit 2, like a bad lock.
 */
export class ProvenanceError extends ScratchError {
  readonly exitCode = EXIT.usage;
  readonly kind = "provenance";
}
