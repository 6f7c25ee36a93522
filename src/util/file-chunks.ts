/**
 * A file's content read back in chunks, asynchronously (for a consumer that awaits, e.g. a
 * decoder's child process): each chunk is a fresh buffer, since such a consumer may keep it.
 */
import { open, type FileHandle } from "node:fs/promises";

const READ_CHUNK = 1 << 20;

/** The content of an open file from its start. */
export async function* fileChunks(file: FileHandle): AsyncGenerator<Uint8Array> {
  for (let pos = 0; ; ) {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    const { bytesRead } = await file.read(buf, 0, READ_CHUNK, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** The content of the file at `path`, opened for the iteration and closed after it. */
export async function* pathChunks(path: string): AsyncGenerator<Uint8Array> {
  const file = await open(path, "r");
  try {
    yield* fileChunks(file);
  } finally {
    await file.close();
  }
}
