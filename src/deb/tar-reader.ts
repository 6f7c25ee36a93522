/**
 * Streaming tar reader over tar-stream's extract: ustar, GNU long names (././@LongLink) and
 * PAX headers (path, linkpath, size, uid, gid). Each entry is handed to a callback with its
 * body as a stream; whatever the callback leaves unread is discarded, never buffered.
 */

import * as tar from "tar-stream";
import { FormatError } from "../model/errors.js";

export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "chardev" | "blockdev" | "fifo" | "unknown";

export interface TarEntry {
  /** The name as stored, after GNU long-name and PAX path records are applied. */
  name: string;
  type: TarEntryType;
  /** Symlink or hard link target as stored; undefined when the header has none. */
  linkname: string | undefined;
  /** The whole mode field (callers mask it). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Where the body starts in the (plain) tar stream. */
  offset: number;
  body: AsyncIterable<Uint8Array>;
}

/** The tar stream itself is malformed (bad header checksum, unexpected end, …). */
export class TarFormatError extends FormatError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super("tar", detail, undefined, `malformed tar: ${detail}`, options);
  }
}

const TYPES: Record<string, TarEntryType> = {
  file: "file",
  "contiguous-file": "file",
  directory: "dir",
  symlink: "symlink",
  link: "hardlink",
  "character-device": "chardev",
  "block-device": "blockdev",
  fifo: "fifo",
};

/**
 * Reads every entry of the tar in `source`, in archive order, awaiting `onEntry` for each.
 * Errors thrown by `source` (decompression, I/O) and by `onEntry` pass through unchanged;
 * problems of the tar format itself become TarFormatError.
 */
export async function readTar(source: AsyncIterable<Uint8Array>, onEntry: (entry: TarEntry) => Promise<void>): Promise<void> {
  // filenameEncoding is tar-stream's option, missing from its typings; utf-8 is also its default.
  const extract = tar.extract({ filenameEncoding: "utf-8" } as Parameters<typeof tar.extract>[0]);
  const input = source[Symbol.asyncIterator]();
  let sourceError: { error: unknown } | undefined;
  let inputDone = false;

  // Feed the parser concurrently with the entry loop, honouring its backpressure.
  const feeding = (async () => {
    try {
      for (;;) {
        const r = await input.next();
        if (r.done) {
          inputDone = true;
          break;
        }
        if (extract.destroyed) return;
        if (!extract.write(r.value)) await drainedOrClosed(extract);
      }
      if (!extract.destroyed) extract.end(undefined);
    } catch (error) {
      inputDone = true; // a generator that threw is finished
      sourceError = { error };
      extract.destroy(error as Error);
    }
  })();

  try {
    for await (const stream of extract) {
      // tar-stream's typings say every field is set; they are absent for headers that lack them.
      // byteOffset: tar-stream's position of the body, after this entry's own header block.
      const header = stream.header as Partial<tar.Header> & { name: string; type: tar.Header["type"] | null; byteOffset?: number };
      if (typeof header.byteOffset !== "number") throw new Error("tar-stream no longer reports byteOffset: pin a version that does");
      const pax = (header.pax ?? {}) as Record<string, string | undefined>;
      const entry: TarEntry = {
        name: header.name,
        type: (header.type !== null && header.type !== undefined ? TYPES[header.type] : undefined) ?? "unknown",
        linkname: header.linkname ?? undefined,
        mode: header.mode ?? 0,
        uid: paxNumber(pax.uid) ?? header.uid ?? 0,
        gid: paxNumber(pax.gid) ?? header.gid ?? 0,
        size: header.size ?? 0,
        offset: header.byteOffset,
        body: stream as AsyncIterable<Uint8Array>,
      };
      await onEntry(entry);
      for await (const chunk of stream as AsyncIterable<Uint8Array>) void chunk; // discard what is left
    }
  } catch (error) {
    if (sourceError !== undefined) throw sourceError.error;
    if (error instanceof Error && isTarStreamError(error)) throw new TarFormatError(error.message, { cause: error });
    throw error;
  } finally {
    if (!extract.destroyed) extract.destroy(null);
    await feeding;
    if (!inputDone) await input.return?.();
  }
  if (sourceError !== undefined) throw sourceError.error;
}

function paxNumber(v: string | undefined): number | undefined {
  if (v === undefined || !/^[0-9]+$/.test(v)) return undefined;
  return Number(v);
}

/** tar-stream's own parse errors (it throws plain Errors with these messages). */
function isTarStreamError(e: Error): boolean {
  return /^(Invalid tar header|Invalid header|Unexpected end of data|Header exceeds max size)/.test(e.message);
}

function drainedOrClosed(w: tar.Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      w.off("drain", done);
      w.off("close", done);
      resolve();
    };
    w.on("drain", done);
    w.on("close", done);
  });
}

/** Collects a body; chunks first, so a header claiming a huge size cannot make us allocate it up front. */
export async function readEntryBody(body: AsyncIterable<Uint8Array>, size: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    total += chunk.length;
    if (total > size) break; // reported by the caller as a size mismatch
  }
  if (chunks.length === 1 && chunks[0]!.length === total) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
