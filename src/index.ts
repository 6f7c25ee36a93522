/** Library entry point: the stages of the pipeline, for use from other tools and build rules. */
export * from "./errors.js";
export { runLock, type LockOptions, type LockResult } from "./lock/create.js";
export { readLockfile, parseLockfile } from "./lock/read.js";
export type * from "./lock/types.js";
export { loadManifest } from "./manifest/load.js";
export { compareVersions, parseVersion } from "./index/version.js";
export { parseRelations } from "./index/relations.js";
export { parseDeb822 } from "./index/deb822.js";
export { why } from "./lock/why.js";
