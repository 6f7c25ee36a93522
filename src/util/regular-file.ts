/**
 * Reads a file the user named, refusing anything but a regular file before reading a byte: a
 * fifo would block the run forever and a device such as /dev/zero never ends.
 */
import { constants, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";

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
 * The regular file at `path` (symlinks followed), open for reading; the caller closes it. A fifo,
 * device or directory is refused before a byte is read. Errors from the file system (ENOENT,
 * EACCES, …) pass through unchanged.
 */
export async function openRegularFile(path: string): Promise<{ file: FileHandle; size: number }> {
  // O_NONBLOCK: opening a fifo for reading would otherwise wait for a writer.
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NotRegularFileError(path, kindOf(st));
    return { file: fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** The bytes of the regular file at `path`, at most the size it had when opened (see openRegularFile). */
export async function readRegularFile(path: string, opts: { maxBytes?: number } = {}): Promise<Buffer> {
  const { file: fh, size } = await openRegularFile(path);
  try {
    if (opts.maxBytes !== undefined && size > opts.maxBytes) throw new FileTooLargeError(path, size, opts.maxBytes);
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(buf, got, size - got, got);
      if (bytesRead === 0) break; // shrank while being read
      got += bytesRead;
    }
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}
