/**
 * Layer compression with pinned compressors (README, "Layers", step 5).
 *
 * node:zlib is deliberately not used: Node 20, 22 and 24 bundle different zlib builds, so the
 * same input could compress to different bytes on another Node major (and Chromium's zlib, which
 * they bundle, is not canonical zlib's output). Canonical zlib and libzstd, both compiled to
 * WebAssembly (zlib-streams; @hpcc-js/wasm-zstd, single-threaded), compute the same bytes on
 * every Node release and machine; the exact package versions (and the zlib .wasm's sha256) are
 * pinned and recorded, with every option that changes bytes, in the lock's settings. (pako, a
 * pure-JS port of zlib with the same output, took ~1.45x as long.)
 *
 * Levels, measured by hand on a 33 MB tar of tzdata + libc + perl modules (2-core machine):
 * - gzip 6: ~1.5–3.5 s, 8.05 MB (zlib hash). Level 9 took ~9.4 s and saved <1%: too slow for a
 *   layer build. 6 is also zlib's and gzip's default.
 * - zstd 3: ~0.7 s, 6.81 MB. Level 9 took ~1.3–3 s for 6.10 MB. 3 is libzstd's default and what
 *   containerd/buildkit use for zstd layers.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { Zstd } from "@hpcc-js/wasm-zstd";
import { openGzipThread } from "./gzip-thread.js";
import { openWasmGzipStream } from "./wasm-gzip-stream.js";
import { openWasmZstdStream, type WasmZstdStream } from "./wasm-zstd-stream.js";
import { checkZstdRoundTrip } from "./zstd-round-trip.js";
import type { CompressorSettings } from "../model/lock.js";
import {
  compressorSettings,
  GZIP_LEVEL,
  LAYER_COMPRESSIONS,
  LIBZSTD_VERSION,
  NO_COMPRESSION,
  STREAM_CHUNK,
  WASM_ZSTD_VERSION,
  ZLIB_STREAMS_VERSION,
  ZSTD_LEVEL,
  type LayerCompression,
} from "./compressor-settings.js";

export { LAYER_COMPRESSIONS, GZIP_LEVEL, ZSTD_LEVEL, STREAM_CHUNK, NO_COMPRESSION, type LayerCompression } from "./compressor-settings.js";

export interface CompressedLayer {
  bytes: Uint8Array;
  settings: CompressorSettings;
}

/**
 * Receives compressed bytes in order. A chunk is a view of the compressor's reused buffer, valid
 * only during the call: a receiver that keeps it copies it. (A fresh buffer per chunk was a
 * layer's size in garbage, which V8 let pile up for the length of the synchronous pass.)
 */
export type ChunkSink = (chunk: Uint8Array) => void;

/** A layer compressor fed chunk by chunk: memory stays bounded whatever the layer's size. */
export interface LayerCompressor {
  push(chunk: Uint8Array): void;
  /** Compress what is left and end the stream. Throws a plain Error if the output is damaged. */
  end(): void;
  /** Drop the stream unended (the pass failed elsewhere): frees its buffers, stops its thread. */
  abort(): void;
  readonly settings: CompressorSettings;
}

export interface LayerCompressorOptions {
  /**
   * gzip only: deflate on the calling thread instead of a worker thread (gzip-thread.ts). The
   * same driver and chunks either way, so the same bytes; the tests compare the two.
   */
  inThread?: boolean;
}

/**
 * A streaming compressor for "gzip" or "zstd" whose output goes to `out`. The whole stream must
 * be pushed and ended (or aborted) synchronously after this resolves (zstd's streaming state is
 * one per process); gzip deflates in a thread of its own unless `inThread`, so a stream that is
 * not ended must be aborted, or its thread waits (unref'd) for more input. Throws a plain Error if the compressor reports a failure (a bug or out of memory).
 * A zstd blob whose digest is to be recorded is first decoded back (checkZstdRoundTrip): that
 * check runs after the pass, on the blob as written, not inside it.
 */
export async function createLayerCompressor(kind: LayerCompression, out: ChunkSink, opts: LayerCompressorOptions = {}): Promise<LayerCompressor> {
  switch (kind) {
    case "gzip": {
      expectInstalled("zlib-streams", ZLIB_STREAMS_VERSION);
      if (opts.inThread) return rechunked(gzipStream(out), compressorSettings(kind));
      // Beside the tar pass and zstd; its ring takes any size and deflates full STREAM_CHUNK slots.
      const thread = await openGzipThread(GZIP_LEVEL, out);
      return { push: thread.push, end: thread.end, abort: thread.abort, settings: compressorSettings(kind) };
    }
    case "zstd":
      return rechunked(zstdStream(await loadZstd(), out), compressorSettings(kind));
    default:
      throw new Error(`no streaming compressor for ${JSON.stringify(kind)}; use gzip or zstd`);
  }
}

/**
 * Compress a whole in-memory blob (an --add layer, a test). "none" returns the input itself (not
 * a copy) and settings { compressor: "none", level: 0 }. The same streaming compressors as a
 * layer's, so both give the same bytes; a zstd blob is decoded back before it is returned.
 */
export async function compressLayer(data: Uint8Array, kind: LayerCompression, opts: LayerCompressorOptions = {}): Promise<CompressedLayer> {
  if (kind === "none") return { bytes: data, settings: NO_COMPRESSION };
  if (!LAYER_COMPRESSIONS.includes(kind)) throw new Error(`unknown layer compression ${JSON.stringify(kind)}; use one of ${LAYER_COMPRESSIONS.join(", ")}`);
  const chunks: Uint8Array[] = [];
  const c = await createLayerCompressor(kind, (chunk) => chunks.push(chunk.slice()), opts);
  c.push(data);
  c.end();
  const bytes = Buffer.concat(chunks);
  if (kind === "zstd") await checkZstdRoundTrip([bytes], { digest: `sha256:${createHash("sha256").update(data).digest("hex")}`, size: data.length });
  return { bytes, settings: c.settings };
}

interface RawStream {
  push(chunk: Uint8Array): void;
  end(): void;
  abort?(): void;
}

/** Feeds `inner` fixed STREAM_CHUNK-sized chunks (see STREAM_CHUNK). */
function rechunked(inner: RawStream, settings: CompressorSettings): LayerCompressor {
  const buf = new Uint8Array(STREAM_CHUNK);
  let used = 0;
  let ended = false;
  return {
    settings,
    push(chunk) {
      if (ended) throw new Error("layer compressor: push after end");
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(STREAM_CHUNK - used, chunk.length - at);
        buf.set(chunk.subarray(at, at + n), used);
        used += n;
        at += n;
        if (used === STREAM_CHUNK) {
          inner.push(buf);
          used = 0;
        }
      }
    },
    end() {
      if (ended) throw new Error("layer compressor: end called twice");
      ended = true;
      if (used > 0) inner.push(buf.subarray(0, used));
      inner.end();
    },
    abort() {
      ended = true;
      inner.abort?.();
    },
  };
}

/** Size of gzip's output buffer, reused for the whole stream. */
const GZIP_OUT = 1 << 16;

function gzipStream(out: ChunkSink): RawStream {
  // Every option that shapes the stream is fixed in openWasmGzipStream (level, method 8,
  // windowBits 15 + 16 with zlib's fixed gzip header, memLevel 8, the default strategy): the
  // bytes are canonical zlib's, so anyone can re-create the blob with a stock zlib. Output space
  // does not shape a deflate stream, and pushed without flushes it is the one-shot `gzip()` of
  // the same bytes.
  return openWasmGzipStream(GZIP_LEVEL, STREAM_CHUNK, GZIP_OUT, out);
}

let zstdModule: Promise<Zstd> | undefined;
function loadZstd(): Promise<Zstd> {
  zstdModule ??= Zstd.load().then((zstd) => {
    expectInstalled("@hpcc-js/wasm-zstd", WASM_ZSTD_VERSION);
    if (zstd.version() !== LIBZSTD_VERSION) throw new Error(`@hpcc-js/wasm-zstd runs libzstd ${zstd.version()}, not the ${LIBZSTD_VERSION} that codec/compressor-settings.ts records; reinstall the dependencies (npm ci)`);
    return zstd;
  });
  return zstdModule;
}

/** The stream libzstd's one streaming state belongs to; starting another abandons it. */
let zstdOwner: WasmZstdStream | undefined;

function zstdStream(zstd: Zstd, out: ChunkSink): RawStream {
  // libzstd's streaming API (ZSTD_compressStream2): one frame, no checksum, no dictionary, no
  // threads, and — the size being unknown up front — no content size in the header.
  zstdOwner?.free(); // an abandoned stream's buffers
  zstd.reset();
  zstd.setCompressionLevel(ZSTD_LEVEL);
  const stream = openWasmZstdStream(zstd, STREAM_CHUNK);
  zstdOwner = stream;
  const own = () => {
    if (zstdOwner !== stream) throw new Error("zstd: another layer stream was started before this one ended");
  };
  const emit = (c: Uint8Array) => {
    if (c.length > 0) out(c);
  };
  return {
    push(chunk) {
      own();
      emit(stream.push(chunk));
    },
    end() {
      own();
      zstdOwner = undefined;
      emit(stream.end());
    },
    abort() {
      if (zstdOwner === stream) zstdOwner = undefined;
      stream.free();
    },
  };
}

/** The settings record `version` for `name`: compress with nothing else (a lock would lie). */
function expectInstalled(name: string, version: string): void {
  const installed = installedVersion(name);
  if (installed !== version) throw new Error(`${name} ${installed} is installed, not the ${version} that codec/compressor-settings.ts records; reinstall the dependencies (npm ci)`);
}

const versions = new Map<string, string>();
/**
 * The version of an installed package, from its own package.json (found by walking up from the
 * resolved entry point, since not every package exports "./package.json").
 */
export function installedVersion(name: string): string {
  const cached = versions.get(name);
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  let dir = path.dirname(resolveEntry(require, name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === name && typeof pkg.version === "string") {
        versions.set(name, pkg.version);
        return pkg.version;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the package.json of ${name}; reinstall the dependencies (npm ci)`);
    dir = up;
  }
}

/** A package's main entry point, or its package.json for one that exports no "." (zlib-streams). */
function resolveEntry(require: NodeJS.Require, name: string): string {
  try {
    return require.resolve(name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw err;
    return require.resolve(`${name}/package.json`);
  }
}
