/**
 * A built layer's blobs, in one streaming pass: the tar goes from the writer through every
 * requested compressor at once, each output through its own sha256 and on to where the caller
 * wants it (a staged output file, a temp file) or nowhere (a lock only records digests). No
 * tar and no compressed blob is ever held whole.
 */
import { createLayerCompressor, NO_COMPRESSION, type ChunkSink, type LayerCompression, type LayerCompressor } from "../codec/compress.js";
import type { CompressorSettings } from "../model/lock.js";
import type { BuiltLayer, TarPassOptions } from "./build.js";
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
  tar: TarPassOptions = {},
): Promise<Map<LayerCompression, LayerBlob>> {
  const wanted = [...new Set(kinds)];
  // The tar itself ("none") is hashed by writeTar: it goes straight to where it is wanted.
  const plain = wanted.includes("none") ? into("none") : undefined;
  const streams: Array<{ kind: LayerCompression; digest: ReturnType<typeof createDigestSink>; compressor: LayerCompressor }> = [];
  let ended = 0;
  try {
    for (const kind of wanted) {
      if (kind === "none") continue;
      const digest = createDigestSink(into(kind));
      // Created before the pass, which then runs synchronously from the first byte to the last.
      streams.push({ kind, digest, compressor: await createLayerCompressor(kind, digest.sink) });
    }
    const written = built.writeTar((chunk) => {
      plain?.(chunk);
      for (const s of streams) s.compressor.push(chunk);
    }, tar);
    const out = new Map<LayerCompression, LayerBlob>();
    for (const kind of wanted) {
      const s = streams.find((x) => x.kind === kind);
      if (!s) {
        out.set(kind, { ...written, settings: NO_COMPRESSION });
        continue;
      }
      s.compressor.end();
      ended++;
      out.set(kind, { ...s.digest.result(), settings: s.compressor.settings });
    }
    return out;
  } catch (e) {
    // A failed pass leaves no compressor running (gzip's is a thread).
    for (const s of streams.slice(ended)) s.compressor.abort();
    throw e;
  }
}
