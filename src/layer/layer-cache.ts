/**
 * Built layers in the content-addressed cache, by the digests the lock records: the tar by its
 * diff_id, each compressed blob by its digest, the provenance manifest by its sha256. A blob is
 * served only after the cache re-hashed it to the lock's digest, and re-hashed again as it is
 * copied out (a file changed in between fails the run, naming it), so what is served is the
 * very blob the lock pins: as safe as a rebuild, whoever put it there. A build that proves to be
 * the lock's keeps its blobs for the next run. `audit` and `layer --check` never come here.
 */
import { createHash } from "node:crypto";
import type { ContentCache } from "../fetch/cache.js";
import { loadBlob, storeBlob } from "../fetch/blob-store.js";
import { openEntryWriter, type EntryWriter } from "../fetch/entry-writer.js";
// Types only: a layer served from the cache loads neither the compressors nor the builder.
import type { ChunkSink, LayerCompression } from "../codec/compress.js";
import type { LockedLayer } from "../model/lock.js";
import { VerificationError } from "../model/errors.js";
import type { BlobDigest } from "./digest.js";
import type { LayerBlob } from "./blobs.js";
import type { StreamedData } from "../util/atomic-write.js";

const OCI_SHA256 = /^sha256:([0-9a-f]{64})$/;
const COPY_CHUNK = 1 << 20;

/** What the lock records for one blob of a layer ("none": the tar, named by its diff_id); undefined when it records none. */
export function lockedBlob(layer: LockedLayer, kind: LayerCompression): BlobDigest | undefined {
  if (kind === "none") return { digest: layer.diffId, size: layer.size };
  const c = layer.compressed[kind];
  return c && { digest: c.digest, size: c.size };
}

/** A cached blob already re-hashed to its digest, open for copying. */
export interface CachedBlob {
  /**
   * Stream the blob into `sink` (each chunk valid only during the call), re-hashing it on the
   * way: bytes that changed since the check are a VerificationError naming the entry, after
   * `sink` saw them, so the caller's output must be one that such an error discards.
   */
  copyTo(sink: ChunkSink): Promise<void>;
  close(): Promise<void>;
}

/** The cache's copy of `blob`, verified by the cache against its digest and size; undefined when it has none that is right. */
export async function openCachedBlob(cache: ContentCache, blob: BlobDigest): Promise<CachedBlob | undefined> {
  const hex = OCI_SHA256.exec(blob.digest)?.[1];
  if (hex === undefined) return undefined;
  const hit = await cache.openVerified(hex, blob.size);
  if (!hit) return undefined;
  const { file } = hit;
  return {
    async copyTo(sink) {
      const hash = createHash("sha256");
      const buf = Buffer.allocUnsafe(COPY_CHUNK);
      let pos = 0;
      for (;;) {
        const { bytesRead } = await file.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        pos += bytesRead;
        sink(chunk);
      }
      if (pos !== blob.size || hash.digest("hex") !== hex) {
        throw new VerificationError(`the cached layer blob ${cache.pathFor(hex)} changed while it was read (it no longer has digest ${blob.digest}, ${blob.size} bytes)`, {
          hint: "something else is writing the cache, or its disk is failing; run the command again (a damaged entry is rebuilt), or use another --cache DIR",
        });
      }
    },
    close: () => file.close(),
  };
}

/** The provenance manifest a lock records, from the cache (re-hashed to that sha256); undefined when it is not there. */
export async function cachedProvenance(cache: ContentCache, layer: LockedLayer): Promise<Buffer | undefined> {
  return loadBlob(cache, layer.provenance.sha256);
}

/** Keep a built layer's provenance manifest (already checked to be the lock's) unless the cache holds it. */
export async function keepProvenance(cache: ContentCache, layer: LockedLayer, data: StreamedData): Promise<void> {
  await storeBlob(cache, layer.provenance.sha256, data);
}

/** Copies a build's blobs into the cache as they stream, keeping only those that prove to be the lock's. */
export interface BlobKeeper {
  /** A sink that sends each chunk of `kind`'s blob to the cache and then to `next`. */
  into(kind: LayerCompression, next: ChunkSink | undefined): ChunkSink;
  /** The bytes of `kind`'s blob as written to the cache's temp so far; undefined when there is none (no writer, or a write failed). */
  written(kind: LayerCompression): AsyncIterable<Uint8Array> | undefined;
  /** Keep each blob whose digest is the one `layer` (the lock's) records; drop the rest. */
  keep(blobs: ReadonlyMap<LayerCompression, LayerBlob>, layer: LockedLayer): Promise<void>;
  drop(): Promise<void>;
}

/**
 * A keeper of the blobs of `kinds`, each written to a temp of the cache as it streams (opened
 * before the pass; the lock's digests may be known only after it, when `lock` makes them).
 */
export async function openBlobKeeper(cache: ContentCache, kinds: readonly LayerCompression[]): Promise<BlobKeeper> {
  const writers = new Map<LayerCompression, EntryWriter>();
  for (const kind of new Set(kinds)) {
    const w = await openEntryWriter(cache);
    if (w) writers.set(kind, w);
  }
  const drop = async () => {
    for (const w of writers.values()) await w.drop();
    writers.clear();
  };
  return {
    into(kind, next) {
      const w = writers.get(kind);
      if (!w) return next ?? (() => {});
      return (chunk) => {
        w.write(chunk);
        next?.(chunk);
      };
    },
    written: (kind) => writers.get(kind)?.written(),
    async keep(blobs, layer) {
      for (const [kind, w] of writers) {
        const blob = blobs.get(kind);
        const hex = blob && blob.digest === lockedBlob(layer, kind)?.digest ? OCI_SHA256.exec(blob.digest)?.[1] : undefined;
        if (hex !== undefined) await w.keep(hex);
        else await w.drop();
      }
      writers.clear();
    },
    drop,
  };
}
