/**
 * The provenance manifest a lock records for a layer, found by the sha256 the lock gives: in the
 * cache (`lock` keeps it there) or among files the user names (the .provenance.jsonl `layer`
 * writes beside a layer). What audit and why say about a path rests on it, so it is validated.
 */
import { readFile } from "node:fs/promises";
import type { ContentCache } from "../fetch/cache.js";
import { loadBlob } from "../fetch/blob-store.js";
import { digestBytes } from "../layer/digest.js";
import { parseProvenance } from "../layer/provenance-read.js";
import type { Provenance } from "../model/provenance.js";

/** undefined when neither the cache nor any of `files` holds those bytes. */
export async function recordedProvenance(cache: ContentCache, files: readonly string[], arch: string, sha256: string): Promise<Provenance | undefined> {
  const cached = await loadBlob(cache, sha256);
  if (cached) return parseProvenance(cached.toString("utf8"), `the recorded provenance manifest of layer ${arch} (in the cache)`);
  for (const file of files) {
    const bytes = await readFile(file).catch(() => undefined);
    if (bytes && digestBytes(bytes).digest === `sha256:${sha256}`) return parseProvenance(bytes.toString("utf8"), file);
  }
  return undefined;
}
