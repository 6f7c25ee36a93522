/**
 * Small derived blobs kept in the content-addressed cache by their sha256 (the provenance
 * manifests of built layers), so that an audit can later say which paths of a layer differ
 * from the one the lock recorded. Read back re-verified like every cache entry.
 */
import type { ContentCache } from "./cache.js";
import { sha256Hex } from "../util/hash.js";

export async function storeBlob(cache: ContentCache, bytes: Uint8Array | string): Promise<string> {
  try {
    return await cache.write(bytes);
  } catch {
    // Only an audit's detail depends on it: never fail a build for it.
    return sha256Hex(bytes);
  }
}

export function loadBlob(cache: ContentCache, sha256: string): Promise<Buffer | undefined> {
  return cache.read(sha256);
}
