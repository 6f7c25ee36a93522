/**
 * Derived blobs kept in the content-addressed cache by their sha256 (the provenance manifests of
 * built layers), so that an audit can later say which paths of a layer differ from the one the
 * lock recorded. Read back re-verified like every cache entry.
 */
import type { ContentCache } from "./cache.js";
import { openEntryWriter } from "./entry-writer.js";
import type { StreamedData } from "../util/atomic-write.js";

/**
 * Keep `data`, whose sha256 the caller knows, unless the cache holds it: streamed into a temp of
 * the cache (a 140,000-path layer's manifest is ~55 MB, never read whole for this). Best-effort:
 * a full or read-only cache only costs an audit its detail, never the build. An error of `data`
 * itself (its bytes changed on disk since they were hashed) is the caller's and is thrown.
 */
export async function storeBlob(cache: ContentCache, sha256: string, data: StreamedData): Promise<void> {
  if (await cache.has(sha256).catch(() => false)) return;
  const writer = await openEntryWriter(cache);
  if (!writer) return;
  try {
    await data((chunk) => writer.write(chunk));
  } catch (e) {
    await writer.drop();
    throw e;
  }
  await writer.keep(sha256);
}

export function loadBlob(cache: ContentCache, sha256: string): Promise<Buffer | undefined> {
  return cache.read(sha256);
}
