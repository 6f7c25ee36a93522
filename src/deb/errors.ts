import { VerificationError } from "../model/errors.js";

/**
 * A .deb that is not a well-formed Debian binary package, or that holds an entry this tool
 * refuses to place in a layer (path traversal, absolute path, device node, …). The .deb has
 * already passed its sha256 check when this is thrown, so the archive itself is bad: retrying
 * will not help: a verification failure, exit 1.
 */
export class DebFormatError extends VerificationError {
  override readonly kind = "deb";
  constructor(
    /** The .deb, e.g. "libc6_2.36-9_amd64.deb". */
    readonly deb: string,
    /** The ar member or tar entry involved, when there is one ("data.tar.xz", "./usr/../etc/x"). */
    readonly member: string | undefined,
    detail: string,
    options?: { hint?: string; cause?: unknown },
  ) {
    super(`${deb}: ${member !== undefined ? `${member}: ` : ""}${detail}`, {
      hint:
        options?.hint ??
        "The .deb matches the hash its archive signed, so the package itself is malformed or unsafe: leave it out of the manifest or report it to its maintainer.",
      cause: options?.cause,
    });
  }
}
