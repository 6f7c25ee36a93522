/**
 * Streaming decompression of archive indexes: xz through the `xz-decompress` WASM build of
 * xz-embedded, gzip through node:zlib. Corrupt or truncated input always ends in a thrown
 * DecompressError, never in silently short output.
 *
 * xz runs in a worker thread, for two reasons: the WASM decoder is the slowest step of reading
 * an index, so decoding in parallel with the consumer's parsing nearly halves the wall time; and
 * the library allows one decoder per thread at a time (a module-wide mutex), so one worker per
 * stream lets several xz streams be open at once without waiting on each other.
 */

import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { createGunzip } from "node:zlib";
import { FormatError } from "../model/errors.js";

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

async function* unxz(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const source = input[Symbol.asyncIterator]();
  const tail = new Tail(TAIL_LIMIT);
  const head: number[] = [];
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

  // Answers the worker's request for input; checks as bytes go by. The library crashes when
  // input ends before it saw any bytes, so that case is reported here instead.
  const feed = async (): Promise<void> => {
    try {
      let r = await source.next();
      while (!r.done && r.value.length === 0) r = await source.next();
      if (r.done) {
        if (tail.total === 0) push({ type: "fail", error: new DecompressError("xz", "input is empty") });
        else worker.postMessage({ type: "end" });
        return;
      }
      const chunk = r.value;
      if (head.length < XZ_MAGIC.length) {
        for (let i = 0; i < chunk.length && head.length < XZ_MAGIC.length; i++) head.push(chunk[i]!);
        if (head.length === XZ_MAGIC.length && head.some((b, i) => b !== XZ_MAGIC[i])) {
          push({ type: "fail", error: new DecompressError("xz", "not xz data (bad header magic)") });
          return;
        }
      }
      tail.push(chunk);
      // Send a copy we own: the chunk may share its buffer (Buffer pools), and Buffer#slice does not copy.
      const copy = new Uint8Array(chunk);
      worker.postMessage({ type: "input", chunk: copy }, [copy.buffer]);
    } catch (error) {
      push({ type: "fail", error }); // the input's own error (network, I/O), passed on unchanged
    }
  };
  worker.on("message", (m: FromWorker) => {
    if (m.type === "need") void feed();
    else push(m);
  });

  let produced = 0;
  let finished = false;
  try {
    for (;;) {
      const e = events.shift();
      if (e === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (e.type === "output") {
        produced += e.chunk.length;
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
    finished = true;
  } finally {
    worker.removeAllListeners("exit");
    await worker.terminate();
    if (!finished) await source.return?.();
  }
  // The decoder stops at the end of the first stream and may leave input unread; read the rest,
  // then check against the stream's own index that nothing was left out or appended.
  for (;;) {
    const r = await source.next();
    if (r.done) break;
    tail.push(r.value);
  }
  checkXzTail(tail, produced);
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
