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
import { streamLayerBlobs } from "./blobs.js";
import { openBlobKeeper } from "./layer-cache.js";

export async function lockedLayer(built: BuiltLayer, cache?: ContentCache): Promise<LockedLayer> {
  // The tar streams again only to be kept: its digest is known already.
  const kinds: LayerCompression[] = cache ? ["none", ...LOCKED_COMPRESSIONS] : [...LOCKED_COMPRESSIONS];
  const keeper = cache && (await openBlobKeeper(cache, kinds));
  try {
    // Every compression in one pass over the tar, which is never held whole.
    const made = await streamLayerBlobs(built, kinds, (kind) => keeper?.into(kind, undefined));
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
  }
}
