/**
 * A built layer's blobs, in one streaming pass: the tar goes from the writer through every
 * requested compressor at once, each output through its own sha256 and on to where the caller
 * wants it (a staged output file, a temp file) or nowhere (a lock only records digests). No
 * tar and no compressed blob is ever held whole.
 */
import { createLayerCompressor, NO_COMPRESSION, type ChunkSink, type LayerCompression, type LayerCompressor } from "../codec/compress.js";
import type { CompressorSettings } from "../model/lock.js";
import type { BuiltLayer } from "./build.js";
import { createDigestSink, type BlobDigest } from "./digest.js";

/** One blob of a layer: its digest, size and the compressor settings that made it. */
export interface LayerBlob extends BlobDigest {
  settings: CompressorSettings;
}

/**
 * Stream the layer once into every compression of `kinds` ("none": the tar itself), sending
 * each blob's bytes to `into(kind)` when that gives a sink. Chunks a sink receives are only
 * valid during the call: a sink that keeps them copies them.
 */
export async function streamLayerBlobs(
  built: Pick<BuiltLayer, "writeTar">,
  kinds: readonly LayerCompression[],
  into: (kind: LayerCompression) => ChunkSink | undefined = () => undefined,
): Promise<Map<LayerCompression, LayerBlob>> {
  const wanted = [...new Set(kinds)];
  const streams: Array<{ kind: LayerCompression; digest: ReturnType<typeof createDigestSink>; compressor?: LayerCompressor }> = [];
  for (const kind of wanted) {
    const digest = createDigestSink(into(kind));
    // Created before the pass, which then runs synchronously from the first byte to the last.
    const compressor = kind === "none" ? undefined : await createLayerCompressor(kind, digest.sink);
    streams.push({ kind, digest, ...(compressor ? { compressor } : {}) });
  }
  built.writeTar((chunk) => {
    for (const s of streams) (s.compressor ? s.compressor.push(chunk) : s.digest.sink(chunk));
  });
  const out = new Map<LayerCompression, LayerBlob>();
  for (const s of streams) {
    s.compressor?.end();
    out.set(s.kind, { ...s.digest.result(), settings: s.compressor?.settings ?? NO_COMPRESSION });
  }
  return out;
}
