import { EXIT, ScratchError } from "../model/errors.js";

/** A recipe cannot run on the layer it was given (bad option, missing or unusable input). Exit 2. */
export class DerivationError extends ScratchError {
  readonly exitCode: number = EXIT.usage;
  readonly kind: string = "derivation";
}

/** The requested time zone has no zone file in the layer's tzdata. Exit 2. */
export class UnknownTimezoneError extends DerivationError {
  override readonly kind = "timezone";
  constructor(
    readonly zone: string,
    /** "tzdata <version>" when the layer has tzdata's zoneinfo, else a note that it has none. */
    readonly packageVersion: string,
    detail: string,
  ) {
    super(`time zone "${zone}" is not available in ${packageVersion}: ${detail}`, {
      hint: `set the time zone option to a zone under /usr/share/zoneinfo (e.g. "Etc/UTC" or "Europe/Paris") and make sure the tzdata file set is in the layer`,
    });
  }
}
