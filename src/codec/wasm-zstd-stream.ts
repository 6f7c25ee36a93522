/**
 * libzstd's streaming compressor (ZSTD_compressStream2 inside @hpcc-js/wasm-zstd) driven over
 * two buffers of the WASM heap allocated once per stream, so memory stays flat whatever the
 * layer's size. The package's own compressChunk() mallocs both buffers on every call and copies
 * each output through a JS array of numbers (`new Uint8Array([...view])`): for a layer of a few
 * hundred MB that was tens of MB of JS heap garbage a second, which V8 left to pile up in a
 * synchronous pass. The output is handed out as a view of the WASM heap, not a copy, for the
 * same reason. The calls into libzstd, their inputs and their output capacities are the
 * package's, so the bytes are the same; package.json pins the version whose internals these are.
 */
import type { Zstd } from "@hpcc-js/wasm-zstd";

/** The parts of the pinned package's Zstd instance this drives (private there, stable at the pinned version). */
interface ZstdInternals {
  _mainModule: { _module: { HEAPU8: Uint8Array; _malloc(size: number): number; _free(ptr: number): void } };
  _zstdClass: { compressBound(size: number): number; CStreamOutSize(): number; isError(code: number): boolean; getErrorName(code: number): string };
  _zstd: { compressChunk(out: number, outCap: number, src: number, srcSize: number): number; compressEnd(out: number, outCap: number): number };
}

export interface WasmZstdStream {
  /**
   * Compress `chunk` (at most `maxChunk` bytes); returns what libzstd emitted as a view of the
   * WASM heap, valid until the next call into the stream (a caller that keeps it copies it).
   */
  push(chunk: Uint8Array): Uint8Array;
  /** End the frame; returns its last bytes (a copy: the buffers are freed). */
  end(): Uint8Array;
  /** Free the buffers without ending (after a failure). */
  free(): void;
}

/** A stream over `zstd`'s one streaming state (reset and levelled by the caller) taking chunks of at most `maxChunk` bytes. */
export function openWasmZstdStream(zstd: Zstd, maxChunk: number): WasmZstdStream {
  const z = zstd as unknown as ZstdInternals;
  const module = z._mainModule?._module;
  if (typeof module?._malloc !== "function" || typeof z._zstd?.compressChunk !== "function" || typeof z._zstdClass?.compressBound !== "function") {
    throw new Error("@hpcc-js/wasm-zstd is not the version codec/compressor-settings.ts records (its streaming internals differ); reinstall the dependencies (npm ci)");
  }
  const outSize = z._zstdClass.CStreamOutSize();
  const outCap = z._zstdClass.compressBound(maxChunk) + outSize;
  const src = module._malloc(maxChunk);
  const out = module._malloc(outCap);
  if (src === 0 || out === 0) throw new Error("zstd: the WASM heap has no room for the stream's buffers");
  let freed = false;
  const free = () => {
    if (freed) return;
    freed = true;
    module._free(out);
    module._free(src);
  };
  // HEAPU8 is replaced when the WASM memory grows: read it after every call.
  const result = (size: number, what: string): Uint8Array => {
    if (z._zstdClass.isError(size)) {
      free();
      throw new Error(`zstd ${what} failed: ${z._zstdClass.getErrorName(size)}`);
    }
    return module.HEAPU8.subarray(out, out + size);
  };
  return {
    push(chunk) {
      if (freed) throw new Error("zstd: push after end");
      if (chunk.length > maxChunk) throw new Error(`zstd: a ${chunk.length}-byte chunk is over the stream's ${maxChunk}`);
      module.HEAPU8.set(chunk, src);
      // The package's capacity for a chunk of this size, so libzstd sees the very same call.
      return result(z._zstd.compressChunk(out, z._zstdClass.compressBound(chunk.length) + outSize, src, chunk.length), "compressChunk");
    },
    end() {
      if (freed) throw new Error("zstd: end called twice");
      const last = result(z._zstd.compressEnd(out, outSize), "compressEnd").slice();
      free();
      return last;
    },
    free,
  };
}
