/**
 * Library entry point (package.json "main"): the commands as functions, and everything a caller
 * needs to call them. The CLI (src/cli/) is a thin layer over exactly these: it parses flags,
 * opens a fetch session, calls one function and prints its result.
 */

// The records (lock, layer, manifest, package) and the typed errors, with their exit codes.
export * from "./model/errors.js";
export * from "./model/lock.js";
export * from "./model/layer.js";
export * from "./model/manifest.js";
export * from "./model/package.js";

// Fetching: one session (HTTP client, content cache, progress) shared by the commands.
export { openFetchSession, type FetchSession, type FetchSessionOptions } from "./fetch/session.js";
export { clearStatusLines, createProgress, silentProgress, type Progress, type ProgressTask } from "./fetch/progress.js";
export { defaultCacheDir, type ContentCache } from "./fetch/cache.js";
export type { Fetcher } from "./fetch/fetcher.js";
export type { HttpOptions } from "./fetch/http.js";
export { ResolutionMemo } from "./lock/memo.js";

// The commands.
export { runLock, type LockOptions, type LockResult } from "./commands/lock.js";
export { runLayer, type LayerOptions, type LayerResult } from "./commands/layer.js";
export type { LayerCompression } from "./codec/compress.js";
export { runImage, type ImageOptions, type ImageResult, type ImageArchResult, type OutputFormat } from "./commands/image.js";
export { runAudit, type AuditOptions } from "./commands/audit.js";
export { formatReport, type AuditReport, type AuditCheck, type CheckStatus } from "./audit/report.js";
export { runAdd, type AddOptions, type AddResult } from "./commands/add.js";
export type { FindBinaryNeeds, NeedsContext } from "./commands/binary-needs-source.js";
export { addBinaryNeeds, type AddNeedsOptions, type AddNeedsResult, type ManifestAddition } from "./manifest/add-binary-needs.js";
export type { BinaryNeeds, NeededFile, UnresolvedNeed } from "./model/binary-needs.js";
export { runDoctor, formatDoctor, type DoctorOptions, type DoctorReport, type DoctorNeed, type NeedStatus } from "./commands/doctor.js";
export { findBinaryNeeds, type FindBinaryNeedsOptions } from "./commands/binary-needs.js";
export { why, formatWhy, type WhyAnswer, type WhyMatch, type WhyDerivation } from "./commands/why.js";

// The files and the Debian formats they are made from.
export { readLockfile, parseLockfile } from "./lockfile/read.js";
export { loadManifest } from "./manifest/load.js";
export { compareVersions, parseVersion, type DebVersion } from "./debian/version.js";
export { parseRelations } from "./debian/relations.js";
export { parseDeb822 } from "./debian/deb822.js";

// Which packages ship given paths, from a suite's signed Contents indexes (what `doctor` and
// findBinaryNeeds use): verify the suite's release, then look the paths up.
export { fetchVerifiedSuite, type SuiteRef, type VerifiedSuite } from "./sources/archive.js";
export { readKeyring, type PinnedKeyring } from "./sources/keyring.js";
export { lookupContents, chooseContents, type ContentsRequest } from "./sources/contents.js";
export type { ContentsHit } from "./debian/contents-lookup.js";
