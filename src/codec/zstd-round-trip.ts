/**
 * A zstd blob decoded back before its digest is recorded: libzstd runs in WebAssembly behind
 * our own glue (wasm-zstd-stream.ts), so the frame is read by the decoder that reads .debs (the
 * system `zstd`, else fzstd) and must give back the tar it was made from. Run after the
 * compression pass, on the blob as written: inside the synchronous pass, a decoder's per-block
 * buffers were the layer's size in garbage that V8 let pile up (hundreds of MB for a large layer).
 */
import { createHash } from "node:crypto";
import { unzstd } from "./zstd.js";

/** Throws a plain Error unless `blob` decodes to `tar` (its "sha256:…" digest and size). */
export async function checkZstdRoundTrip(blob: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, tar: { digest: string; size: number }): Promise<void> {
  const hash = createHash("sha256");
  let size = 0;
  try {
    for await (const chunk of unzstd(toAsync(blob))) {
      hash.update(chunk);
      size += chunk.length;
    }
  } catch (err) {
    throw new Error(`zstd compression of a ${tar.size}-byte layer produced an unreadable frame`, { cause: err });
  }
  if (size !== tar.size || `sha256:${hash.digest("hex")}` !== tar.digest) throw new Error(`zstd compression of a ${tar.size}-byte layer did not round-trip`);
}

async function* toAsync(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const c of chunks) yield c;
}
