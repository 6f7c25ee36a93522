/**
 * Streaming zstd decompression: the system `zstd` when present (codec/native-decoder.ts), else
 * fzstd (pure JS: Node 20's zlib has no zstd). fzstd does not verify the optional content
 * checksum, so the tool runs with --no-check and neither accepts what the other refuses; the
 * .deb as a whole is pinned by sha256, and a corrupt or truncated stream still fails on its
 * structure.
 */

import { Decompress } from "fzstd";
import { FormatError } from "../model/errors.js";
import { decodePreferringNative } from "./native-decoder.js";

export class ZstdDecompressError extends FormatError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super("zstd data", detail, undefined, `zstd decompression failed: ${detail}`, options);
  }
}

export function unzstd(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  return decodePreferringNative({ tool: "zstd", args: ["-dc", "--no-check"], input: nonEmpty(input), fallback: jsUnzstd, failure: nativeZstdError });
}

/** The input, refused when it holds no bytes at all (the decoders disagree on what to call that). */
async function* nonEmpty(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of input) {
    if (chunk.length === 0) continue;
    total += chunk.length;
    yield chunk;
  }
  if (total === 0) throw new ZstdDecompressError("input is empty");
}

function nativeZstdError(stderr: string, status: string): ZstdDecompressError {
  // "zstd: /*stdin*\: unexpected end of file" → "unexpected end of file"
  const line = stderr.split("\n", 1)[0]!.replace(/^(zstd: )?\/\*stdin\*\\ ?: /, "").trim();
  return new ZstdDecompressError(`${line || `the zstd tool failed (${status})`} (corrupt or truncated zstd data)`);
}

async function* jsUnzstd(input: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
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
  for (let r = await input.next(); !r.done; r = await input.next()) {
    push(r.value, false);
    while (out.length > 0) yield out.shift()!;
  }
  push(new Uint8Array(0), true);
  while (out.length > 0) yield out.shift()!;
}
