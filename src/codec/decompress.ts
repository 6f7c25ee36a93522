/**
 * Streaming decompression of archive indexes and .deb members: xz through the system `xz` when
 * present (codec/native-decoder.ts), else the `xz-decompress` WASM build of xz-embedded; gzip
 * through node:zlib. Both xz decoders see the same input checks, so they accept the same inputs
 * and give the same bytes. Corrupt or truncated input always ends in a thrown DecompressError,
 * never in silently short output.
 *
 * The WASM decoder runs in a worker thread, for two reasons: it is the slowest step of reading
 * an index, so decoding in parallel with the consumer's parsing nearly halves the wall time; and
 * the library allows one decoder per thread at a time (a module-wide mutex), so one worker per
 * stream lets several xz streams be open at once without waiting on each other.
 */

import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { createGunzip } from "node:zlib";
import { FormatError } from "../model/errors.js";
import { decodePreferringNative } from "./native-decoder.js";

export type Compression = "xz" | "gz" | "none";

export class DecompressError extends FormatError {
  constructor(
    readonly kind: Compression,
    detail: string,
    options?: { cause?: unknown },
  ) {
    const name = kind === "gz" ? "gzip" : kind;
    super(`${name} data`, detail, undefined, `${name} decompression failed: ${detail}`, options);
  }
}

/** The compression implied by a path's or URL's suffix (.xz, .gz, anything else: none). */
export function compressionOf(path: string): Compression {
  const p = path.replace(/[?#].*$/, "");
  if (p.endsWith(".xz")) return "xz";
  if (p.endsWith(".gz")) return "gz";
  return "none";
}

export function decompress(kind: Compression, input: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  switch (kind) {
    case "none":
      return input;
    case "gz":
      return gunzip(input);
    case "xz":
      return unxz(input);
  }
}

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/** xz-embedded's error codes (xz.h), to say something better than a number. */
const XZ_ERRORS: Record<string, string> = {
  "2": "unsupported integrity check",
  "3": "out of memory",
  "4": "memory limit reached",
  "5": "not xz data (bad header magic)",
  "6": "unsupported xz options",
  "7": "corrupt data (bad check value or invalid structure)",
  "8": "input is truncated or followed by unexpected data",
};

/** Decompressed chunks the worker may send ahead of the consumer (each up to the library's buffer size). */
const XZ_WINDOW = 16;

/**
 * The worker: pulls compressed chunks from the parent on demand ("need" → "input" | "end"),
 * posts decompressed chunks ("output"), and stops sending when XZ_WINDOW of them are unacknowledged.
 * Plain CommonJS so that it runs the same from TypeScript sources (tests) and from dist/.
 */
const XZ_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { XzReadableStream } = require(workerData.xzPath);
let inflight = 0;
let resume = null;
let answer = null;
parentPort.on("message", (m) => {
  if (m.type === "ack") {
    inflight--;
    if (resume !== null && inflight < workerData.window) { const r = resume; resume = null; r(); }
  } else if (answer !== null) {
    const r = answer; answer = null; r(m);
  }
});
const compressed = new ReadableStream({
  async pull(controller) {
    const m = await new Promise((r) => { answer = r; parentPort.postMessage({ type: "need" }); });
    if (m.type === "end") controller.close(); else controller.enqueue(m.chunk);
  },
});
(async () => {
  try {
    const reader = new XzReadableStream(compressed).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.length === 0) continue;
      if (inflight >= workerData.window) await new Promise((r) => { resume = r; });
      inflight++;
      parentPort.postMessage({ type: "output", chunk: value }, [value.buffer]);
    }
    parentPort.postMessage({ type: "done" });
  } catch (e) {
    parentPort.postMessage({ type: "error", message: String((e && e.message) || e) });
  }
})();
`;

type FromWorker =
  | { type: "need" }
  | { type: "output"; chunk: Uint8Array }
  | { type: "done" }
  | { type: "error"; message: string };

/** What the consuming loop waits for: a worker message, or a failure found on our side. */
type XzEvent = FromWorker | { type: "fail"; error: unknown };

/**
 * xz through the system `xz` when present, else the WASM decoder; the same checks of the input
 * (header, then the stream's index against what was produced) apply to both.
 */
async function* unxz(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const source = new XzInput(input[Symbol.asyncIterator]());
  let produced = 0;
  // --single-stream: stop at the end of the first stream, as the WASM decoder does; the tail check refuses anything after it.
  for await (const chunk of decodePreferringNative({ tool: "xz", args: ["-dc", "--single-stream"], input: source, fallback: wasmUnxz, failure: nativeXzError })) {
    produced += chunk.length;
    yield chunk;
  }
  // The decoder stops at the end of the first stream and may leave input unread; read the rest,
  // then check against the stream's own index that nothing was left out or appended.
  await source.drain();
  checkXzTail(source.tail, produced);
}

/** Bytes of an xz stream holding nothing: stream header, empty index, stream footer. */
const XZ_SMALLEST_STREAM = 32;

/** The xz stream header's check IDs that both decoders verify (none, CRC32, CRC64). */
const XZ_CHECKS = new Set([0x00, 0x01, 0x04]);

/**
 * The compressed input as the decoders pull it: refuses empty input, input that is not xz and
 * integrity checks the WASM decoder cannot verify (so the system `xz` accepts no more than it),
 * and keeps the tail for checkXzTail.
 */
class XzInput implements AsyncIterator<Uint8Array> {
  readonly tail = new Tail(TAIL_LIMIT);
  private readonly head: number[] = [];
  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  async next(): Promise<IteratorResult<Uint8Array>> {
    let r = await this.source.next();
    while (!r.done && r.value.length === 0) r = await this.source.next();
    if (r.done) {
      if (this.tail.total === 0) throw new DecompressError("xz", "input is empty");
      // Shorter than a header, an index and a footer: the tools disagree on what to call it, this says it once.
      if (this.tail.total < XZ_SMALLEST_STREAM) throw new DecompressError("xz", XZ_ERRORS["8"]!);
      return r;
    }
    this.checkHead(r.value);
    this.tail.push(r.value);
    return r;
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async drain(): Promise<void> {
    for (let r = await this.next(); !r.done; r = await this.next());
  }

  private checkHead(chunk: Uint8Array): void {
    const head = this.head;
    if (head.length >= 8) return;
    for (let i = 0; i < chunk.length && head.length < 8; i++) head.push(chunk[i]!);
    if (head.some((b, i) => i < XZ_MAGIC.length && b !== XZ_MAGIC[i])) throw new DecompressError("xz", XZ_ERRORS["5"]!);
    if (head.length === 8 && (head[6] !== 0 || !XZ_CHECKS.has(head[7]!))) {
      throw new DecompressError("xz", head[6] === 0 && head[7]! < 0x10 ? XZ_ERRORS["2"]! : XZ_ERRORS["6"]!);
    }
  }
}

/** The system xz's failure messages (LC_ALL=C), said as the WASM decoder's are. */
const XZ_TOOL_ERRORS: Array<[RegExp, string]> = [
  [/Unexpected end of input/, XZ_ERRORS["8"]!],
  [/Compressed data is corrupt/, XZ_ERRORS["7"]!],
  [/File format not recognized/, XZ_ERRORS["5"]!],
  [/Unsupported type of integrity check/, XZ_ERRORS["2"]!],
  [/Unsupported options/, XZ_ERRORS["6"]!],
  [/Memory usage limit reached/, XZ_ERRORS["4"]!],
  [/Cannot allocate memory/, XZ_ERRORS["3"]!],
];

function nativeXzError(stderr: string, status: string): DecompressError {
  const known = XZ_TOOL_ERRORS.find(([re]) => re.test(stderr));
  return new DecompressError("xz", known ? known[1] : `the xz tool failed (${status}): ${stderr.split("\n", 1)[0] || "no message"}`);
}

/** The WASM decoder in a worker thread; `source` is left open for the caller, unread past the first stream. */
async function* wasmUnxz(source: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  const events: XzEvent[] = [];
  let wake: (() => void) | null = null;
  const push = (e: XzEvent): void => {
    events.push(e);
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const worker = new Worker(XZ_WORKER, {
    eval: true,
    workerData: { xzPath: createRequire(import.meta.url).resolve("xz-decompress"), window: XZ_WINDOW },
  });
  worker.on("error", (error) => push({ type: "fail", error }));
  worker.on("exit", (code) => push({ type: "fail", error: new DecompressError("xz", `decoder thread exited unexpectedly (code ${code})`) }));

  // Answers the worker's request for input. The library crashes when input ends before it saw
  // any bytes: XzInput throws for that case first.
  const feed = async (): Promise<void> => {
    try {
      const r = await source.next();
      if (r.done) {
        worker.postMessage({ type: "end" });
        return;
      }
      // Send a copy we own: the chunk may share its buffer (Buffer pools), and Buffer#slice does not copy.
      const copy = new Uint8Array(r.value);
      worker.postMessage({ type: "input", chunk: copy }, [copy.buffer]);
    } catch (error) {
      push({ type: "fail", error }); // the input's own error (network, I/O, a failed check), passed on unchanged
    }
  };
  worker.on("message", (m: FromWorker) => {
    if (m.type === "need") void feed();
    else push(m);
  });

  try {
    for (;;) {
      const e = events.shift();
      if (e === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (e.type === "output") {
        worker.postMessage({ type: "ack" });
        yield e.chunk;
      } else if (e.type === "done") {
        break;
      } else if (e.type === "error") {
        throw xzError(e.message);
      } else if (e.type === "fail") {
        throw e.error;
      }
    }
  } finally {
    worker.removeAllListeners("exit");
    await worker.terminate();
  }
}

const TAIL_LIMIT = 1 << 20;

/** The last bytes of a byte stream (at least `limit` of them when available) and its total length. */
class Tail {
  private chunks: Uint8Array[] = [];
  private kept = 0;
  total = 0;
  constructor(private readonly limit: number) {}
  push(c: Uint8Array): void {
    if (c.length === 0) return;
    this.chunks.push(c);
    this.kept += c.length;
    this.total += c.length;
    while (this.chunks.length > 1 && this.kept - this.chunks[0]!.length >= this.limit) {
      this.kept -= this.chunks.shift()!.length;
    }
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/**
 * Walk the xz stream footer and index from the end of the input (xz file format 1.0.4 §2.1.2
 * and §4): the input must be exactly one stream plus optional zero padding, and the index's
 * total uncompressed size must equal what the decoder produced.
 */
function checkXzTail(tail: Tail, produced: number): void {
  const b = tail.bytes();
  const offset = tail.total - b.length; // absolute position of b[0]
  let end = b.length;
  while (end >= 4 && b[end - 1] === 0 && b[end - 2] === 0 && b[end - 3] === 0 && b[end - 4] === 0) end -= 4;
  const bad = (detail: string): never => {
    throw new DecompressError("xz", detail);
  };
  if (end < 12 || b[end - 2] !== 0x59 || b[end - 1] !== 0x5a) bad("unexpected data after the end of the xz stream");
  const backward = (b.readUInt32LE(end - 8) + 1) * 4;
  const indexStart = end - 12 - backward;
  if (indexStart < 0) bad("xz index is too large to check");
  let p = indexStart;
  const varint = (): number => {
    let v = 0;
    for (let i = 0; i < 9; i++) {
      if (p >= end - 12) bad("corrupt xz index");
      const byte = b[p++]!;
      v += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) return v;
    }
    return bad("corrupt xz index");
  };
  if (b[p++] !== 0) bad("corrupt xz index");
  const records = varint();
  let blocks = 0;
  let uncompressed = 0;
  for (let i = 0; i < records; i++) {
    const unpadded = varint();
    blocks += Math.ceil(unpadded / 4) * 4;
    uncompressed += varint();
  }
  const streamLength = 12 + blocks + backward + 12;
  if (offset + indexStart - blocks - 12 !== 0) {
    bad(`input holds ${tail.total} bytes but its last xz stream is ${streamLength}: several xz streams or extra data are not supported`);
  }
  if (uncompressed !== produced) {
    bad(`decompressed ${produced} bytes but the xz index records ${uncompressed}`);
  }
}

function xzError(message: string): DecompressError {
  const code = /error code (\d+)/.exec(message)?.[1];
  const detail = code !== undefined ? (XZ_ERRORS[code] ?? `xz error code ${code}`) : message;
  return new DecompressError("xz", detail);
}

async function* gunzip(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const z = createGunzip();
  let failure: unknown;
  z.on("error", (e) => {
    failure = e;
  });
  // Feed the decompressor concurrently, honouring its backpressure.
  const feeding = (async () => {
    try {
      for await (const chunk of input) {
        if (failure !== undefined || z.destroyed) return;
        if (!z.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              z.off("drain", done);
              z.off("close", done);
              resolve();
            };
            z.on("drain", done);
            z.on("close", done);
          });
        }
      }
      if (!z.destroyed) z.end();
    } catch (e) {
      z.destroy(e as Error);
    }
  })();
  let finished = false;
  try {
    for await (const chunk of z as AsyncIterable<Buffer>) {
      yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
    finished = true;
  } catch (e) {
    const err = failure ?? e;
    if (err instanceof DecompressError) throw err;
    const code = (err as { code?: string }).code;
    if (typeof code === "string" && code.startsWith("Z_")) {
      throw new DecompressError("gz", `${(err as Error).message} (corrupt or truncated gzip data)`, { cause: err });
    }
    throw err; // the input stream's own error (network, I/O): pass it on unchanged
  } finally {
    // On early exit the feeder notices the destroyed stream at its next chunk and closes the input.
    if (finished) await feeding;
    else z.destroy();
  }
}
