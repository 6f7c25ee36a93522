/**
 * Reading the bytes of a file node: in memory, or an extent of an open file re-hashed on every
 * read, so bytes that changed on disk since they were verified never reach a layer.
 */
import { createHash } from "node:crypto";
import { readSync } from "node:fs";
import type { FileExtent, LayerNode } from "../model/layer.js";
import { VerificationError } from "../model/errors.js";
import { sha256Hex } from "./hash.js";
import type { ChunkedOutput } from "./chunked-output.js";

const READ_CHUNK = 1 << 20;
const EMPTY = new Uint8Array(0);

/**
 * Hand the extent's bytes to `emit` in chunks, then check their sha256. A chunk is valid only
 * during the call: it is a plain Uint8Array view of a reused buffer, so a `slice()` copies it.
 * The bytes are emitted before the check can fail (a VerificationError after the last chunk),
 * so whatever they went into must be discarded then: every caller writes into staged output
 * (a temp file, a hash) that is renamed or used only after this returns.
 */
export function streamExtent(e: FileExtent, emit: (chunk: Uint8Array) => void): void {
  const buf = new Uint8Array(Math.min(READ_CHUNK, Math.max(e.size, 1)));
  readPieces(e, () => buf, emit, true);
}

/**
 * Read the extent straight into `out`'s buffer. With `check`, its sha256 is checked as
 * streamExtent does; without, the caller compares a digest over these bytes (a whole tar's
 * against the lock's diff_id), which is what then catches bytes changed on disk.
 */
export function copyExtent(e: FileExtent, out: ChunkedOutput, check: boolean): void {
  readPieces(e, () => out.space(), (piece) => out.advance(piece.length), check);
}

/** The extent read piece by piece into the buffers `room` gives, each piece handed to `took` (after it is hashed, with `check`). */
function readPieces(e: FileExtent, room: () => Uint8Array, took: (piece: Uint8Array) => void, check: boolean): void {
  const hash = check ? createHash("sha256") : undefined;
  for (let at = 0; at < e.size; ) {
    const buf = room();
    const n = readSync(e.fd, buf, 0, Math.min(buf.length, e.size - at), e.offset + at);
    if (n === 0) throw changed(e);
    const piece = buf.subarray(0, n);
    hash?.update(piece);
    took(piece);
    at += n;
  }
  if (hash && hash.digest("hex") !== e.sha256) throw changed(e);
}

/** The sha256 of `size` bytes of `fd` at `offset` (the first look at them: nothing to check against). */
export function hashRange(fd: number, offset: number, size: number): string {
  const hash = createHash("sha256");
  const buf = new Uint8Array(Math.min(READ_CHUNK, Math.max(size, 1)));
  for (let at = 0; at < size; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, size - at), offset + at);
    if (n === 0) throw new Error(`the decoded tar ended before ${offset + size} bytes`);
    hash.update(buf.subarray(0, n));
    at += n;
  }
  return hash.digest("hex");
}

/** The extent's bytes whole: for the small files a derivation or the SBOM reads. */
export function readExtent(e: FileExtent): Uint8Array {
  const out = new Uint8Array(e.size);
  let at = 0;
  streamExtent(e, (c) => {
    out.set(c, at);
    at += c.length;
  });
  return out;
}

/** A regular file node's bytes (empty when it has none). */
export function fileBytes(node: Pick<LayerNode, "content" | "extent">): Uint8Array {
  return node.content ?? (node.extent ? readExtent(node.extent) : EMPTY);
}

export function fileSize(node: Pick<LayerNode, "content" | "extent">): number {
  return node.content?.length ?? node.extent?.size ?? 0;
}

/** The sha256 of a file node's bytes, without reading an extent (its digest was taken when it was read). */
export function fileSha256(node: Pick<LayerNode, "content" | "extent">): string {
  return node.extent && !node.content ? node.extent.sha256 : sha256Hex(node.content ?? EMPTY);
}

function changed(e: FileExtent): VerificationError {
  return new VerificationError(`${e.label}: the decoded bytes changed on disk after they were verified`, {
    hint: "something else writes to the cache or the temp directory; run the command again",
  });
}
