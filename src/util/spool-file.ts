/**
 * Private temp files for big intermediates (an image's layer blob or tar, a layer's provenance
 * manifest), written as they are made and read back in chunks, so they are never held in memory.
 * Each has no name: it is created in a directory of its own under the system temp directory,
 * and the file and directory are unlinked at once, so that it is reachable only through its
 * descriptor and leaves nothing behind however the process ends (a SIGKILL too). Creating and
 * unlinking go through libuv's pool, where the program's other file operations run, not on the
 * main thread.
 */
import { closeSync, open, read, readSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StreamedData } from "./atomic-write.js";
import type { FileExtent } from "../model/layer.js";
import { IOError } from "../model/errors.js";

const READ_CHUNK = 1 << 20;

/** A spool whose owner removes it when done (`remove` closes it). */
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

/**
 * A spool with no owner to close it: its bytes are read through the one extent it hands out,
 * and the descriptor is closed when that extent is garbage (the process's exit closes it
 * otherwise), so no caller has to know when the last reader is done.
 */
export interface AnonymousFile {
  write(chunk: Uint8Array): void;
  /** The whole content as a file node's extent, which reads check against `sha256`. */
  extent(size: number, sha256: string, label: string): FileExtent;
  /** Close it unused (after a failure before `extent`). */
  discard(): void;
}

export async function createSpoolFile(): Promise<SpoolFile> {
  const fd = await nameless();
  let open = true;
  return {
    write: (chunk) => appendAll(fd, chunk),
    data: async (write) => {
      const buf = new Uint8Array(READ_CHUNK);
      for (let pos = 0, n = 0; (n = readSync(fd, buf, 0, READ_CHUNK, pos)) > 0; pos += n) write(buf.subarray(0, n));
    },
    chunks: () => fdChunks(fd),
    extent: (size, sha256, label) => ({ fd, offset: 0, size, sha256, label }),
    remove() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

export async function createAnonymousFile(): Promise<AnonymousFile> {
  const fd = await nameless();
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

/** A raw descriptor (not a FileHandle, which warns when collected open). */
const openFd = promisify(open);
const readFd = promisify(read);

/** A fresh, empty, private file with no name left in the file system: its descriptor. */
async function nameless(): Promise<number> {
  const dir = await inTempAsync(() => mkdtemp(join(tmpdir(), "scratch-pkgs-spool-")));
  try {
    return await inTempAsync(() => openFd(join(dir, "data"), "wx+", 0o600));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function* fdChunks(fd: number): AsyncGenerator<Uint8Array> {
  for (let pos = 0; ; ) {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    const { bytesRead } = await readFd(fd, buf, 0, READ_CHUNK, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

const closeWhenGone = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed: nothing to do
  }
});

function appendAll(fd: number, chunk: Uint8Array): void {
  try {
    for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at, chunk.length - at);
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

/** A temp file that cannot be made or written (a full or read-only temp directory) is the user's environment: exit 3, naming where. */
function tempError(e: unknown): IOError {
  const dir = tmpdir();
  return new IOError(`cannot write a temporary file in ${dir}: ${(e as Error).message}`, {
    cause: e,
    hint: `free space in ${dir}, or point TMPDIR at a directory with room for the layer's intermediate files`,
  });
}
