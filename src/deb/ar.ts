/**
 * Streaming reader of Unix `ar` archives, the container of a .deb (deb(5), ar(5)). Only the
 * 60-byte member headers are read up front; member data is read in chunks on demand, so a
 * .deb of any size is never held in memory whole.
 */

import { open, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import { IOError } from "../model/errors.js";
import { DebFormatError } from "./errors.js";

export interface ArMember {
  /** The member name without padding or GNU's trailing "/": "debian-binary", "data.tar.xz". */
  name: string;
  /** Data size in bytes (without the alignment byte). */
  size: number;
  /** Byte offset of the member's data in the file. */
  offset: number;
  /**
   * The member's data, read from the file in chunks. Valid only until the generator is
   * resumed: consume it (or drop it) before asking for the next member.
   */
  stream: () => AsyncIterable<Uint8Array>;
}

const MAGIC = "!<arch>\n";
const HEADER_SIZE = 60;
const CHUNK = 64 * 1024;

/** Parses one member header; throws DebFormatError naming the header's position when it is malformed. */
function parseArHeader(header: Uint8Array, at: number, label: string): { name: string; size: number } {
  const text = Buffer.from(header.buffer, header.byteOffset, header.byteLength).toString("latin1");
  if (text.slice(58, 60) !== "`\n") {
    throw new DebFormatError(label, undefined, `malformed ar member header at byte ${at} (bad terminator)`);
  }
  let name = text.slice(0, 16).replace(/ +$/, "");
  // GNU ar ends names with "/"; "/" and "//" themselves are GNU's symbol and long-name tables.
  if (name.length > 1 && name.endsWith("/") && name !== "//") name = name.slice(0, -1);
  const sizeField = text.slice(48, 58).trim();
  if (!/^[0-9]+$/.test(sizeField)) {
    throw new DebFormatError(label, name || undefined, `malformed ar member header at byte ${at} (size field "${sizeField}")`);
  }
  if (name === "") throw new DebFormatError(label, undefined, `ar member at byte ${at} has an empty name`);
  return { name, size: Number(sizeField) };
}

export async function* readArMembers(path: string, label: string = basename(path)): AsyncGenerator<ArMember> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw new IOError(`cannot open ${path} (${label}): ${(e as Error).message}`, { cause: e });
  }
  try {
    const fileSize = (await fh.stat()).size;
    const magic = await readExactly(fh, 0, MAGIC.length, label, "the ar magic");
    if (Buffer.from(magic).toString("latin1") !== MAGIC) {
      throw new DebFormatError(label, undefined, "not an ar archive (bad magic), so not a .deb");
    }
    let pos = MAGIC.length;
    while (pos < fileSize) {
      if (fileSize - pos < HEADER_SIZE) {
        throw new DebFormatError(label, undefined, `truncated: ${fileSize - pos} stray bytes at the end where an ar member header should be`);
      }
      const header = await readExactly(fh, pos, HEADER_SIZE, label, "an ar member header");
      const { name, size } = parseArHeader(header, pos, label);
      const offset = pos + HEADER_SIZE;
      if (size > fileSize - offset) {
        throw new DebFormatError(label, name, `truncated: the member needs ${size} bytes but the file has ${fileSize - offset} left`);
      }
      let live = true;
      const handle = fh;
      const stream = (): AsyncIterable<Uint8Array> => {
        if (!live) throw new Error(`ar member ${name} of ${label} read after the reader moved on`);
        return readRange(handle, offset, size, label, name, () => live);
      };
      try {
        yield { name, size, offset, stream };
      } finally {
        live = false;
      }
      // Members start on even offsets; a missing pad byte after the last member is tolerated.
      pos = offset + size + (size % 2);
    }
  } finally {
    await fh.close();
  }
}

async function readExactly(fh: FileHandle, position: number, length: number, label: string, what: string): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw new DebFormatError(label, undefined, `truncated while reading ${what} at byte ${position}`);
    got += bytesRead;
  }
  return buf;
}

async function* readRange(
  fh: FileHandle,
  offset: number,
  size: number,
  label: string,
  name: string,
  live: () => boolean,
): AsyncGenerator<Uint8Array> {
  let done = 0;
  while (done < size) {
    if (!live()) throw new Error(`ar member ${name} of ${label} read after the reader moved on`);
    // A fresh buffer per chunk: consumers may keep the chunks they are given.
    const buf = new Uint8Array(Math.min(CHUNK, size - done));
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset + done);
    if (bytesRead === 0) throw new DebFormatError(label, name, `truncated: the file ended ${size - done} bytes before the member's end`);
    done += bytesRead;
    yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
  }
}
