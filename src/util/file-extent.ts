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

/** An open file that extents of a package's members read from, and how errors name it ("libc6_2.36-9_amd64.deb"). */
export interface ExtentFile {
  readonly fd: number;
  readonly label: string;
}

/**
 * A package member's bytes in its decoded data.tar, kept compact: a large layer holds ~140,000.
 * The file is shared by the package's extents; the sha256 is held as 32 one-byte characters
 * rather than 64 hex digits; the label is made only when an error asks for it. `name` is the
 * member's layer path (the node's own string) where the stored name is "." + path, as it
 * usually is, else the name as stored, which never starts with "/".
 */
class MemberExtent implements FileExtent {
  private readonly digest: string;

  constructor(private readonly file: ExtentFile, readonly offset: number, readonly size: number, sha256: string, private readonly name: string) {
    this.digest = Buffer.from(sha256, "hex").toString("latin1");
  }

  get fd(): number {
    return this.file.fd;
  }

  get sha256(): string {
    return Buffer.from(this.digest, "latin1").toString("hex");
  }

  get label(): string {
    return `${this.file.label} ${this.name.startsWith("/") ? `.${this.name}` : this.name}`;
  }
}

/** The extent of a member (`path` as normalised, `member` as stored) whose `size` bytes at `offset` of `file` have `sha256`. */
export function memberExtent(file: ExtentFile, offset: number, size: number, sha256: string, m: { path: string; member: string }): FileExtent {
  return new MemberExtent(file, offset, size, sha256, m.member === `.${m.path}` ? m.path : m.member);
}

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
