/**
 * OCI-style digests ("sha256:<hex>") of layer blobs, computed as the bytes stream past, so the
 * tar writer can hash a layer while it writes it without holding a second copy.
 */

import { createHash } from "node:crypto";
import type { TarSink } from "./tar-writer.js";

export interface BlobDigest {
  /** "sha256:" + 64 lowercase hex digits. */
  digest: string;
  size: number;
}

export interface DigestSink {
  /** Feed this to streamLayerTar; it forwards each chunk to `next` (if given) after hashing it. */
  sink: TarSink;
  /** The digest of everything seen so far; call once, at the end. */
  result(): BlobDigest;
}

export function createDigestSink(next?: TarSink): DigestSink {
  const hash = createHash("sha256");
  let size = 0;
  let done = false;
  return {
    sink(chunk) {
      if (done) throw new Error("digest sink: write after result()");
      hash.update(chunk);
      size += chunk.length;
      next?.(chunk);
    },
    result() {
      if (done) throw new Error("digest sink: result() called twice");
      done = true;
      return { digest: `sha256:${hash.digest("hex")}`, size };
    },
  };
}

export function digestBytes(bytes: Uint8Array): BlobDigest {
  return { digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, size: bytes.length };
}
