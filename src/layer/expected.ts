/**
 * From a built layer to what the lock records about it: the diff_id, the provenance digest and,
 * per compression, the compressed digest and the compressor's settings.
 */
import type { LockedLayer } from "../model/lock.js";
import type { BuiltLayer } from "./build.js";
import { LOCKED_COMPRESSIONS } from "../codec/compressor-settings.js";
import { streamLayerBlobs } from "./blobs.js";

export async function lockedLayer(built: BuiltLayer): Promise<LockedLayer> {
  const compressed: LockedLayer["compressed"] = {};
  // Both compressions in one pass over the tar, which is never held whole.
  for (const [kind, b] of await streamLayerBlobs(built, LOCKED_COMPRESSIONS)) compressed[kind] = { digest: b.digest, size: b.size, settings: b.settings };
  return {
    diffId: built.diffId,
    size: built.size,
    provenance: { path: built.provenance.path, sha256: built.provenance.sha256, entries: built.provenance.entries },
    compressed,
  };
}
