/**
 * Reads a file the user named, refusing anything but a regular file before reading a byte: a
 * fifo would block the run forever and a device such as /dev/zero never ends.
 */
import { constants, type Stats } from "node:fs";
import { open } from "node:fs/promises";

/** What a path names when it is not a regular file: "a directory", "a fifo", … */
export type NotRegularKind = "a directory" | "a fifo" | "a character device" | "a block device" | "a socket" | "not a regular file";

/** `path` is not a regular file. Not a ScratchError: the caller knows what the file was for and the exit code. */
export class NotRegularFileError extends Error {
  constructor(
    readonly path: string,
    readonly kind: NotRegularKind,
  ) {
    super(`${path}: is ${kind}, not a regular file`);
    this.name = "NotRegularFileError";
  }
}

/** The file is larger than the caller's cap. */
export class FileTooLargeError extends Error {
  constructor(
    readonly path: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`${path}: is ${size} bytes, more than the ${maxBytes} read at most`);
    this.name = "FileTooLargeError";
  }
}

function kindOf(st: Stats): NotRegularKind {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a fifo";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * The bytes of the regular file at `path` (symlinks followed), at most the size it had when
 * opened. Errors from the file system (ENOENT, EACCES, …) pass through unchanged.
 */
export async function readRegularFile(path: string, opts: { maxBytes?: number } = {}): Promise<Buffer> {
  // O_NONBLOCK: opening a fifo for reading would otherwise wait for a writer.
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NotRegularFileError(path, kindOf(st));
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) throw new FileTooLargeError(path, st.size, opts.maxBytes);
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const { bytesRead } = await fh.read(buf, got, st.size - got, got);
      if (bytesRead === 0) break; // shrank while being read
      got += bytesRead;
    }
    return got === st.size ? buf : buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}
