/**
 * What each layer compressor records (README "Layers", step 5), known without loading it: a warm
 * `lock` keys its layer memo by these settings, and compiling zlib, fzstd and the WASM libzstd
 * just to read their versions was a third of its time. compress.ts checks the installed
 * packages and libzstd against these constants before it compresses anything, so a lock never
 * records a version that did not make its bytes; test/codec checks them too.
 */
import type { CompressorSettings } from "../model/lock.js";

export type LayerCompression = "none" | "gzip" | "zstd";

export const LAYER_COMPRESSIONS: readonly LayerCompression[] = ["none", "gzip", "zstd"];
/** The compressions whose digests the lock records (none is the diff_id itself). */
export const LOCKED_COMPRESSIONS: readonly LayerCompression[] = ["gzip", "zstd"];

/** The exact versions package.json pins; bumping one there means bumping it here. */
export const ZLIB_STREAMS_VERSION = "1.0.4";
/** The zlib inside ZLIB_STREAMS_VERSION's .wasm (its version string) and that file's sha256. */
export const ZLIB_VERSION = "1.3.1.1-motley";
export const ZLIB_WASM_SHA256 = "d5f896af3951ccf51c8ac79e2871eab92a55b891efeadc67d4057277cb87a154";
export const WASM_ZSTD_VERSION = "1.12.5";
/** The libzstd that WASM_ZSTD_VERSION is built from. */
export const LIBZSTD_VERSION = "1.5.7";

export const GZIP_LEVEL = 6;
export const ZSTD_LEVEL = 3;
/**
 * The gzip header zlib writes when given no header (deflateSetHeader is not called): FLG 0 (no
 * name, comment, extra or header CRC), MTIME 0, XFL 0 (level 6), OS 3 ("Unix") — what
 * `gzip -n -6` writes on Linux.
 */
export const GZIP_OS = 3;
/**
 * The compressors are fed in chunks of exactly this size (the last one shorter), whatever sizes
 * the tar writer emits, so the output is a function of the input bytes alone.
 */
export const STREAM_CHUNK = 1 << 20;

/** What "none" records: the tar itself. */
export const NO_COMPRESSION: CompressorSettings = Object.freeze({ compressor: "none", level: 0 });

const GZIP_SETTINGS: CompressorSettings = Object.freeze({
  compressor: `zlib-streams@${ZLIB_STREAMS_VERSION}`,
  zlib: ZLIB_VERSION,
  level: GZIP_LEVEL,
  windowBits: 15,
  memLevel: 8,
  strategy: "default",
  mtime: 0,
  os: GZIP_OS,
});

const ZSTD_SETTINGS: CompressorSettings = Object.freeze({
  compressor: `@hpcc-js/wasm-zstd@${WASM_ZSTD_VERSION}`,
  level: ZSTD_LEVEL,
  libzstd: LIBZSTD_VERSION,
  checksum: false,
  contentSize: false,
  streamChunk: STREAM_CHUNK,
});

/** The settings a compression records: everything that shapes its bytes (a copy, the caller's to keep). */
export function compressorSettings(kind: LayerCompression): CompressorSettings {
  return { ...(kind === "none" ? NO_COMPRESSION : kind === "gzip" ? GZIP_SETTINGS : ZSTD_SETTINGS) };
}
