export type { Derivation, DerivationInput } from "./types.js";
export { DerivationError, UnknownTimezoneError } from "./errors.js";
export { caCertificates, type CaCertificatesOptions } from "./ca-certificates.js";
export { baseFiles } from "./base-files.js";
export { timezone, type TimezoneOptions } from "./timezone.js";
export { dpkgStatus, type DpkgStatusPackage } from "./dpkg-status.js";
export { usrMergeLinks, type UsrMergeOptions } from "./usr-merge.js";
