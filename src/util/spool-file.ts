/**
 * A private temp file that a big intermediate (an image's layer blob or tar) is written to as it
 * is made and read back in chunks, so it is never held in memory. It lives in a directory of
 * its own under the system temp directory, removed by `remove` whatever happened.
 */
import { closeSync, mkdtempSync, open, openSync, readSync, rmSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StreamedData } from "./atomic-write.js";
import type { FileExtent } from "../model/layer.js";
import { pathChunks } from "./file-chunks.js";
import { IOError } from "../model/errors.js";

const READ_CHUNK = 1 << 20;

export interface SpoolFile {
  /** Append a chunk (synchronously: it may be called from inside a streaming pass). */
  write(chunk: Uint8Array): void;
  /** The whole content, streamed in chunks (an output's StreamedData). */
  readonly data: StreamedData;
  /** The whole content, read back asynchronously in fresh chunks (for a consumer that keeps them). */
  chunks(): AsyncIterable<Uint8Array>;
  /** The whole content as a file node's extent, which reads check against `sha256`. */
  extent(size: number, sha256: string, label: string): FileExtent;
  remove(): void;
}

export function createSpoolFile(): SpoolFile {
  const dir = inTemp(() => mkdtempSync(join(tmpdir(), "scratch-pkgs-spool-")));
  const path = join(dir, "data");
  let fd: number;
  try {
    fd = inTemp(() => openSync(path, "wx+", 0o600));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let open = true;
  return {
    write: (chunk) => appendAll(fd, chunk),
    data: async (write) => {
      const rd = openSync(path, "r");
      try {
        const buf = new Uint8Array(READ_CHUNK);
        for (let n; (n = readSync(rd, buf, 0, READ_CHUNK, null)) > 0; ) write(buf.subarray(0, n));
      } finally {
        closeSync(rd);
      }
    },
    chunks: () => pathChunks(path),
    extent: (size, sha256, label) => ({ fd, offset: 0, size, sha256, label }),
    remove() {
      if (open) closeSync(fd);
      open = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A temp file with no name: created, unlinked at once and then reachable only through its
 * descriptor, so it leaves nothing behind however the process ends. Its bytes are read through
 * the extent it hands out; the descriptor is closed when that extent is garbage (the process's
 * exit closes it otherwise), so no caller has to know when the last reader is done. Made
 * asynchronously, so that creating and unlinking it run where the program's other file
 * operations do (libuv's pool), not on the main thread.
 */
export interface AnonymousFile {
  write(chunk: Uint8Array): void;
  /** The whole content as a file node's extent, which reads check against `sha256`. */
  extent(size: number, sha256: string, label: string): FileExtent;
  /** Close it unused (after a failure before `extent`). */
  discard(): void;
}

/** A raw descriptor (not a FileHandle, which warns when collected open). */
const openFd = promisify(open);

const closeWhenGone = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed: nothing to do
  }
});

export async function createAnonymousFile(): Promise<AnonymousFile> {
  const dir = await inTempAsync(() => mkdtemp(join(tmpdir(), "scratch-pkgs-spool-")));
  let fd: number;
  try {
    fd = await inTempAsync(() => openFd(join(dir, "data"), "wx+", 0o600));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  let extent: FileExtent | undefined;
  return {
    write: (chunk) => appendAll(fd, chunk),
    discard: () => {
      if (!extent) closeSync(fd);
    },
    extent(size, sha256, label) {
      if (extent) throw new Error("an anonymous file hands out one extent");
      extent = { fd, offset: 0, size, sha256, label };
      closeWhenGone.register(extent, fd);
      return extent;
    },
  };
}

function appendAll(fd: number, chunk: Uint8Array): void {
  inTemp(() => {
    for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at, chunk.length - at);
  });
}

/** A temp file that cannot be made or written (a full or read-only temp directory) is the user's environment: exit 3, naming where. */
function inTemp<T>(step: () => T): T {
  try {
    return step();
  } catch (e) {
    throw tempError(e);
  }
}

async function inTempAsync<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    throw tempError(e);
  }
}

function tempError(e: unknown): IOError {
  const dir = tmpdir();
  return new IOError(`cannot write a temporary file in ${dir}: ${(e as Error).message}`, {
    cause: e,
    hint: `free space in ${dir}, or point TMPDIR at a directory with room for the layer's intermediate files`,
  });
}
