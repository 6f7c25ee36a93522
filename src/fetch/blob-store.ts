/**
 * Small derived blobs kept in the content-addressed cache by their sha256 (the provenance
 * manifests of built layers), so that an audit can later say which paths of a layer differ
 * from the one the lock recorded. Read back re-verified like every cache entry.
 */
import { readFile, writeFile } from "node:fs/promises";
import type { ContentCache } from "./cache.js";
import { sha256Hex } from "../util/hash.js";

export async function storeBlob(cache: ContentCache, bytes: Uint8Array | string): Promise<string> {
  const sha = sha256Hex(bytes);
  try {
    if (await cache.get(sha)) return sha;
    const tmp = await cache.tempPath();
    await writeFile(tmp, bytes);
    await cache.put(tmp, sha);
  } catch {
    // Only an audit's detail depends on it: never fail a build for it.
  }
  return sha;
}

export async function loadBlob(cache: ContentCache, sha256: string): Promise<Buffer | undefined> {
  const path = await cache.get(sha256);
  return path ? readFile(path) : undefined;
}
