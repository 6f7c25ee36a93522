import { ScratchError, EXIT } from "../model/errors.js";

/**
 * A path that would escape the layer or be written through a link: refused, never a warning.
 * Exit 1, like every security failure.
 */
export class LayerSafetyError extends ScratchError {
  readonly exitCode = EXIT.checkFailed;
  readonly kind = "layer-safety";
}

/**
 * A file set's glob takes nothing from the set's own packages (on one architecture): a typo or
 * the wrong package, which would leave the layer without what was asked for. Exit 2: fix the set.
 */
export class EmptySelectionError extends ScratchError {
  readonly exitCode = EXIT.usage;
  readonly kind = "empty-selection";
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

/**
 * A package's copyright file is a link into a package the layer does not have, so the layer
 * would carry the package without its licence notice. Exit 2: add that package or turn the
 * manifest's "copyright" off.
 */
export class MissingCopyrightError extends ScratchError {
  readonly exitCode = EXIT.usage;
  readonly kind = "missing-copyright";
}
