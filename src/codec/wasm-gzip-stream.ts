/**
 * Canonical zlib's deflate (deflateInit2 / deflate / deflateEnd), compiled to WebAssembly by the
 * zlib-streams package, driven straight through the C entry points its .wasm exports. The
 * package's own wrapper is a web TransformStream that copies every output chunk twice; a layer
 * is pushed synchronously chunk by chunk, so it goes through two buffers of the WASM heap
 * allocated once per stream instead. Each stream has its own instance of the module (a 16 MiB
 * heap, touched only as far as zlib uses it): streams interleaved across awaits (image --add)
 * cannot share state, and an abandoned stream is reclaimed with its instance, with nothing to free.
 *
 * The module is checked against the sha256 that compressor-settings.ts pins before it is
 * compiled: the settings a lock records name this build, so no other build may make its bytes.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { ZLIB_WASM_SHA256 } from "./compressor-settings.js";

/** The zlib-streams exports this drives (its src/wasm/*.c at the pinned version). */
interface ZlibExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  deflate_new(): number;
  deflate_init_gzip(stream: number, level: number): number;
  /** Returns the bytes produced (low 24 bits) and zlib's status (high 8 bits, signed). */
  deflate_process(stream: number, input: number, inputLength: number, output: number, outputLength: number, flush: number): number;
  deflate_last_consumed(stream: number): number;
  deflate_end(stream: number): number;
}

let compiled: WebAssembly.Module | undefined;
/** The pinned zlib build, compiled once per process (a worker thread is handed it compiled: gzip-thread.ts). */
export function zlibModule(): WebAssembly.Module {
  if (compiled) return compiled;
  const file = createRequire(import.meta.url).resolve("zlib-streams/zlib-streams.wasm");
  const bytes = readFileSync(file);
  const digest = createHash("sha256").update(bytes).digest("hex");
  if (digest !== ZLIB_WASM_SHA256) throw new Error(`${file} has sha256 ${digest}, not the zlib build (${ZLIB_WASM_SHA256}) that codec/compressor-settings.ts records; reinstall the dependencies (npm ci)`);
  compiled = new WebAssembly.Module(bytes);
  return compiled;
}

export interface WasmGzipStream {
  /** Compress `chunk` (at most `maxChunk` bytes), handing each output piece to `out` as a view valid during the call. */
  push(chunk: Uint8Array): void;
  /** End the stream, handing out its last bytes. */
  end(): void;
}

/**
 * A gzip stream: level `level`, method 8 (deflate), windowBits 15 with the gzip wrapper (16),
 * memLevel 8, the default strategy — zlib-streams' deflate_init_gzip, which passes exactly these
 * to deflateInit2 — and zlib's fixed header (no name, MTIME 0, OS 3). `out` receives views of
 * the WASM heap, valid only during the call. Throws a plain Error on a zlib failure.
 */
export function openWasmGzipStream(level: number, maxChunk: number, outSize: number, out: (chunk: Uint8Array) => void): WasmGzipStream {
  return deflateOver(new WebAssembly.Instance(zlibModule(), {}).exports, level, maxChunk, outSize, out);
}

/**
 * The deflate driver over an instance's exports. Self-contained (no name from outside its body,
 * its constants inside), because gzip-thread.ts runs this very function, by its source, in a
 * worker thread: one driver, so the bytes cannot depend on which thread made them.
 */
export function deflateOver(exports: WebAssembly.Exports, level: number, maxChunk: number, outSize: number, out: (chunk: Uint8Array) => void): WasmGzipStream {
  const Z_NO_FLUSH = 0;
  const Z_FINISH = 4;
  const Z_OK = 0;
  const Z_STREAM_END = 1;
  const Z_BUF_ERROR = -5;
  const z = exports as unknown as ZlibExports;
  const stream = z.deflate_new();
  const src = z.malloc(maxChunk);
  const dst = z.malloc(outSize);
  if (stream === 0 || src === 0 || dst === 0) throw new Error("gzip: the WASM heap has no room for the stream");
  const init = z.deflate_init_gzip(stream, level);
  if (init !== Z_OK) throw new Error(`gzip compression failed to start: zlib status ${init}`);
  let ended = false;
  // One call: what it produced goes out (the heap is viewed afresh, as it may have grown).
  const step = (input: number, length: number, flush: number): { status: number; consumed: number; produced: number } => {
    const r = z.deflate_process(stream, input, length, dst, outSize, flush);
    const produced = r & 0x00ffffff;
    const status = r >> 24;
    if (produced > 0) out(new Uint8Array(z.memory.buffer, dst, produced));
    return { status, consumed: z.deflate_last_consumed(stream), produced };
  };
  const fail = (status: number): never => {
    ended = true;
    throw new Error(`gzip compression failed: zlib status ${status}`);
  };
  return {
    push(chunk) {
      if (ended) throw new Error("gzip: the stream has ended");
      if (chunk.length > maxChunk) throw new Error(`gzip: a ${chunk.length}-byte chunk is over the stream's ${maxChunk}`);
      new Uint8Array(z.memory.buffer).set(chunk, src);
      let at = 0;
      // deflate takes all the input unless the output buffer fills; then drain and go on.
      for (;;) {
        const { status, consumed, produced } = step(src + at, chunk.length - at, Z_NO_FLUSH);
        at += consumed;
        // Z_BUF_ERROR with all input taken: nothing was pending (the buffer had filled exactly).
        if (at >= chunk.length && (produced < outSize || status === Z_BUF_ERROR)) return;
        if (status !== Z_OK) fail(status);
      }
    },
    end() {
      if (ended) throw new Error("gzip: the stream has ended");
      for (;;) {
        const { status } = step(0, 0, Z_FINISH);
        if (status === Z_STREAM_END) break;
        if (status !== Z_OK) fail(status);
      }
      ended = true;
      z.deflate_end(stream);
    },
  };
}
