/**
 * A cache entry written as it is made, from inside a synchronous streaming pass (a layer's tar
 * or compressed blob going by): the bytes go to a temp file of the cache, and only the caller,
 * once it knows their digest is the one it wants them under, moves them in (cache.put). Keeping
 * is best-effort: a full or read-only cache costs the next run time, never this run its output.
 */
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { unlink } from "node:fs/promises";
import type { ContentCache } from "./cache.js";
import { pathChunks } from "../util/file-chunks.js";

export interface EntryWriter {
  /** Append a chunk (synchronously; the chunk is not kept). A write error only stops the writer. */
  write(chunk: Uint8Array): void;
  /** What was written so far, read back from the file; undefined when a write failed (nothing to read back). */
  written(): AsyncIterable<Uint8Array> | undefined;
  /** Store what was written under `sha256`, which the caller checked it hashes to; false when it could not be stored. */
  keep(sha256: string): Promise<boolean>;
  /** Remove what was written. */
  drop(): Promise<void>;
}

/** A writer into a fresh temp file of `cache`; undefined when the cache cannot give one. */
export async function openEntryWriter(cache: ContentCache): Promise<EntryWriter | undefined> {
  let tmp: string;
  let fd: number | undefined;
  try {
    tmp = await cache.tempPath();
    fd = openSync(tmp, "wx", 0o644);
  } catch {
    return undefined;
  }
  let failed = false;
  const close = () => {
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      failed = true;
    }
    fd = undefined;
  };
  const drop = async () => {
    close();
    await unlink(tmp).catch(() => {});
  };
  return {
    write(chunk) {
      if (failed || fd === undefined) return;
      try {
        for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at, chunk.length - at);
      } catch {
        failed = true;
      }
    },
    written: () => (failed || fd === undefined ? undefined : pathChunks(tmp)),
    async keep(sha256) {
      if (!failed && fd !== undefined) {
        try {
          fsyncSync(fd);
        } catch {
          failed = true;
        }
      }
      close();
      if (failed) {
        await drop();
        return false;
      }
      // put() removes the temp itself when it cannot move it into place.
      return cache.put(tmp, sha256).then(() => true, () => false);
    },
    drop,
  };
}
