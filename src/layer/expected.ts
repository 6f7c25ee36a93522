/**
 * From a built layer to what the lock records about it: the diff_id, the provenance digest and,
 * per compression, the compressed digest and the compressor's settings. Given the layer cache,
 * the same pass keeps the tar and both blobs there, so the first `layer` after a `lock` is a
 * copy by the lock's digests, not a build.
 */
import type { LockedLayer } from "../model/lock.js";
import type { ContentCache } from "../fetch/cache.js";
import type { BuiltLayer } from "./build.js";
import { LOCKED_COMPRESSIONS, type LayerCompression } from "../codec/compressor-settings.js";
import { streamLayerBlobs, type LayerBlob } from "./blobs.js";
import { openBlobKeeper, type BlobKeeper } from "./layer-cache.js";
import { checkZstdRoundTrip } from "../codec/zstd-round-trip.js";
import { createSpoolFile, type SpoolFile } from "../util/spool-file.js";

export async function lockedLayer(built: BuiltLayer, cache?: ContentCache): Promise<LockedLayer> {
  // The tar streams again only to be kept: its digest is known already.
  const kinds: LayerCompression[] = cache ? ["none", ...LOCKED_COMPRESSIONS] : [...LOCKED_COMPRESSIONS];
  const keeper = cache && (await openBlobKeeper(cache, kinds));
  // The zstd blob is read back after the pass, to be decoded: from the cache's temp, else a spool.
  let spool: SpoolFile | undefined;
  try {
    spool = keeper?.written("zstd") ? undefined : await createSpoolFile();
    // Every compression in one pass over the tar, which is never held whole.
    const made = await streamLayerBlobs(built, kinds, (kind) => {
      const next = kind === "zstd" && spool ? (c: Uint8Array) => spool!.write(c) : undefined;
      return keeper ? keeper.into(kind, next) : next;
    });
    spool = await checkZstdBlob(built, made.get("zstd")!, spool, keeper);
    const compressed: LockedLayer["compressed"] = {};
    for (const kind of LOCKED_COMPRESSIONS) {
      const b = made.get(kind)!;
      compressed[kind] = { digest: b.digest, size: b.size, settings: b.settings };
    }
    const layer: LockedLayer = {
      diffId: built.diffId,
      size: built.size,
      provenance: { path: built.provenance.path, sha256: built.provenance.sha256, entries: built.provenance.entries },
      compressed,
    };
    // A tar that streamed differently the second time is not the diff_id's: the keeper drops it.
    await keeper?.keep(made, layer);
    return layer;
  } catch (e) {
    await keeper?.drop();
    throw e;
  } finally {
    spool?.remove();
  }
}

/**
 * Decode the zstd blob just made back to the tar (checkZstdRoundTrip) before its digest is
 * recorded: from the spool, else the cache's temp. If writing that temp failed during the pass,
 * the blob is made once more into a spool (which it returns, for the caller to remove).
 */
async function checkZstdBlob(built: BuiltLayer, blob: LayerBlob, spool: SpoolFile | undefined, keeper: BlobKeeper | undefined): Promise<SpoolFile | undefined> {
  const tar = { digest: built.diffId, size: built.size };
  const written = spool?.chunks() ?? keeper?.written("zstd");
  if (written) {
    await checkZstdRoundTrip(written, tar);
    return spool;
  }
  const again = await createSpoolFile();
  try {
    const remade = (await streamLayerBlobs(built, ["zstd"], () => (c) => again.write(c))).get("zstd")!;
    if (remade.digest !== blob.digest) throw new Error(`zstd compression of a ${tar.size}-byte layer gave ${remade.digest} the second time, ${blob.digest} the first`);
    await checkZstdRoundTrip(again.chunks(), tar);
  } catch (e) {
    again.remove();
    throw e;
  }
  return again;
}
