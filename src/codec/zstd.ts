/**
 * Streaming zstd decompression with fzstd (pure JS: Node 20's zlib has no zstd). fzstd does
 * not verify the optional content checksum; the .deb as a whole is pinned by sha256, and a
 * corrupt or truncated stream still fails on its structure.
 */

import { Decompress } from "fzstd";
import { FormatError } from "../model/errors.js";

export class ZstdDecompressError extends FormatError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super("zstd data", detail, undefined, `zstd decompression failed: ${detail}`, options);
  }
}

export async function* unzstd(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const decoder = new Decompress((chunk) => {
    if (chunk.length > 0) out.push(chunk);
  });
  const push = (chunk: Uint8Array, final: boolean): void => {
    try {
      decoder.push(chunk, final);
    } catch (e) {
      // fzstd's own errors carry a numeric code; anything else is a bug and passes unchanged.
      if (typeof (e as { code?: unknown }).code === "number") {
        throw new ZstdDecompressError(`${(e as Error).message} (corrupt or truncated zstd data)`, { cause: e });
      }
      throw e;
    }
  };
  let total = 0;
  for await (const chunk of input) {
    if (chunk.length === 0) continue;
    total += chunk.length;
    push(chunk, false);
    while (out.length > 0) yield out.shift()!;
  }
  if (total === 0) throw new ZstdDecompressError("input is empty");
  push(new Uint8Array(0), true);
  while (out.length > 0) yield out.shift()!;
}
