/** Library entry point: the stages of the pipeline, for use from other tools and build rules. */
export * from "./model/errors.js";
export { runLock, type LockOptions, type LockResult } from "./commands/lock.js";
export { readLockfile, parseLockfile } from "./lockfile/read.js";
export type * from "./model/lock.js";
export { loadManifest } from "./manifest/load.js";
export { compareVersions, parseVersion } from "./debian/version.js";
export { parseRelations } from "./debian/relations.js";
export { parseDeb822 } from "./debian/deb822.js";
export { why } from "./commands/why.js";
