/**
 * The layer's gzip stream, deflated by pako in a worker thread while the main thread goes on
 * with the tar, the zstd stream and the digests: gzip is most of a lock's CPU, and the floor it
 * is measured against (`tee` into native `gzip -6` and `zstd -3`) runs the two on two cores.
 *
 * The tar pass is synchronous, so the two threads meet in shared memory, not in messages: a
 * fixed ring of STREAM_CHUNK-sized input slots (the main thread fills one, publishes it, and
 * waits with Atomics.wait while every slot is taken) and a fixed ring of output slots that pako
 * writes into directly and the main thread hands, in order, to the caller's sink. Nothing is
 * allocated per chunk (README "Performance": garbage piles up in a synchronous pass).
 *
 * The deflate calls are those the in-thread stream made: zlib's streaming API (pako's port of
 * deflateInit2/deflate/deflateEnd), every byte-shaping option explicit — level, method 8,
 * windowBits 15 + 16 (the gzip wrapper with the fixed header of GZIP_OS: no header object),
 * memLevel 8, strategy 0, and legacyHash (zlib's classic hash chain, so the bytes equal what
 * canonical zlib writes with the same options) — fed the same STREAM_CHUNK-sized chunks with no
 * flush until the end. Output space does not shape a deflate stream, so the slots' size does not
 * change the bytes either.
 */
import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
import { GZIP_LEVEL, STREAM_CHUNK } from "./compressor-settings.js";

/** Receives compressed bytes in order; a chunk is a view of the ring, valid only during the call. */
type Sink = (chunk: Uint8Array) => void;

export interface GzipThread {
  /** Take `chunk` (any size); blocks while the input ring is full. Throws if the thread failed. */
  push(chunk: Uint8Array): void;
  /** End the stream and hand out the rest; blocks until the thread is done. Throws if it failed. */
  end(): void;
  /** Stop the thread without ending the stream (the pass failed elsewhere). */
  abort(): void;
}

export interface GzipThreadOptions {
  /** The module the worker takes pako's streaming API from (default: the installed pako). */
  pakoPath?: string;
}

/** Input slots (STREAM_CHUNK each): the main thread may run this far ahead of deflate. */
export const GZIP_RING_SLOTS = 4;
/** Output slots and their size: what pako writes into between two hand-outs. */
const OUT_SLOTS = 16;
const OUT_SLOT = 1 << 16;
/** Room for a failure's message. */
const MSG_MAX = 2048;

// The control words (Int32 indexes), then the slots' lengths.
const IN_HEAD = 0; // input slots published (main)
const IN_TAIL = 1; // input slots deflated (worker)
const OUT_HEAD = 2; // output slots published (worker)
const OUT_TAIL = 3; // output slots handed out (main)
const IN_ENDED = 4; // 1 once the last input slot is published (main)
const STATE = 5; // the worker's: RUNNING, DONE, FAILED
const TO_MAIN = 6; // bumped by the worker at every change; the main thread waits on it
const TO_WORKER = 7; // bumped by the main thread at every change; the worker waits on it
const MSG_LEN = 8;
const IN_LEN = 9;
const OUT_LEN = IN_LEN + GZIP_RING_SLOTS;
const CTL_WORDS = OUT_LEN + OUT_SLOTS;
const RUNNING = 0;
const DONE = 1;
const FAILED = 2;

/**
 * The worker, plain JavaScript that runs the same from TypeScript sources (tests) and from dist/,
 * as a script or, when the parent runs with --input-type=module (which an eval worker inherits),
 * as a module: so no require, import or top-level await. Every failure — a status from deflate, an exception, the thread ending any other way
 * (process.exit, an uncaught error: the "exit" handler) — is written to STATE with its message
 * before the main thread is woken, so a blocked main thread always sees it.
 */
const WORKER = `
const { workerData: d, parentPort } = process.getBuiltinModule("node:worker_threads");
const ctl = new Int32Array(d.ctl);
const input = new Uint8Array(d.input);
const output = new Uint8Array(d.output);
const msg = new Uint8Array(d.msg);
const K = d.words;
let finished = false;
const toMain = () => { Atomics.add(ctl, K.TO_MAIN, 1); Atomics.notify(ctl, K.TO_MAIN); };
const waitFor = (ready) => {
  for (;;) {
    const seen = Atomics.load(ctl, K.TO_WORKER);
    if (ready()) return;
    Atomics.wait(ctl, K.TO_WORKER, seen);
  }
};
const fail = (text) => {
  if (finished) return;
  finished = true;
  const b = Buffer.from(String(text)).subarray(0, d.msgMax);
  msg.set(b);
  Atomics.store(ctl, K.MSG_LEN, b.length);
  Atomics.store(ctl, K.STATE, K.FAILED);
  toMain();
};
process.on("exit", (code) => fail("the gzip thread ended (exit code " + code + ") before the stream did"));
try {
  const pako = process.getBuiltinModule("node:module").createRequire(d.pakoPath)(d.pakoPath);
  const strm = new pako.ZStream();
  const init = pako.zlibDeflateInit2(strm, d.level, 8, 15 + 16, 8, 0, true);
  if (init !== pako.Z_OK) throw new Error("deflateInit2: " + (strm.msg || "status " + init));
  parentPort.postMessage("ready");
  let slotStart = 0;
  const room = () => {
    const head = Atomics.load(ctl, K.OUT_HEAD);
    waitFor(() => head - Atomics.load(ctl, K.OUT_TAIL) < d.outSlots);
    slotStart = (head % d.outSlots) * d.outSlot;
    strm.output = output;
    strm.next_out = slotStart;
    strm.avail_out = d.outSlot;
  };
  const publish = () => {
    const n = strm.next_out - slotStart;
    if (n === 0) return false;
    const head = Atomics.load(ctl, K.OUT_HEAD);
    Atomics.store(ctl, K.OUT_LEN + (head % d.outSlots), n);
    Atomics.store(ctl, K.OUT_HEAD, head + 1);
    toMain();
    return true;
  };
  const deflate = (bytes, flush) => {
    strm.input = bytes;
    strm.next_in = 0;
    strm.avail_in = bytes.length;
    for (;;) {
      const status = pako.zlibDeflate(strm, flush);
      if (status === pako.Z_STREAM_END) {
        publish();
        pako.zlibDeflateEnd(strm);
        return;
      }
      // No progress possible (all input taken, nothing pending: the slot had filled exactly) is not an error.
      if (status === pako.Z_BUF_ERROR && flush === pako.Z_NO_FLUSH && strm.avail_in === 0) return;
      if (status !== pako.Z_OK) throw new Error("deflate: " + (strm.msg || "status " + status));
      if (strm.avail_out === 0) {
        publish();
        room();
      } else if (flush === pako.Z_NO_FLUSH && strm.avail_in === 0) return;
    }
  };
  room();
  for (let tail = 0; ; ) {
    waitFor(() => Atomics.load(ctl, K.IN_HEAD) > tail || Atomics.load(ctl, K.IN_ENDED) === 1);
    if (Atomics.load(ctl, K.IN_HEAD) === tail) break; // ended, and every slot deflated
    const at = (tail % d.inSlots) * d.inSlot;
    deflate(input.subarray(at, at + Atomics.load(ctl, K.IN_LEN + (tail % d.inSlots))), pako.Z_NO_FLUSH);
    Atomics.store(ctl, K.IN_TAIL, ++tail);
    toMain();
  }
  deflate(new Uint8Array(0), pako.Z_FINISH);
  finished = true;
  Atomics.store(ctl, K.STATE, K.DONE);
  toMain();
} catch (e) {
  fail((e && e.message) || e);
}
`;

let live = 0;
/** Gzip threads started whose end Node has not yet reported: 0 once every stream has ended, failed or been aborted. */
export function liveGzipThreads(): number {
  return live;
}

/**
 * Start a gzip stream whose bytes go to `out`, in order. Resolves once the thread is running
 * (a thread that cannot start rejects); from then on push and end are synchronous. The thread
 * does not keep the process alive, and ends with the stream (or abort).
 */
export async function openGzipThread(out: Sink, opts: GzipThreadOptions = {}): Promise<GzipThread> {
  const ctlBuf = new SharedArrayBuffer(CTL_WORDS * 4);
  const inputBuf = new SharedArrayBuffer(GZIP_RING_SLOTS * STREAM_CHUNK);
  const outputBuf = new SharedArrayBuffer(OUT_SLOTS * OUT_SLOT);
  const msgBuf = new SharedArrayBuffer(MSG_MAX);
  const ctl = new Int32Array(ctlBuf);
  const input = new Uint8Array(inputBuf);
  const output = new Uint8Array(outputBuf);
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      ctl: ctlBuf,
      input: inputBuf,
      output: outputBuf,
      msg: msgBuf,
      msgMax: MSG_MAX,
      words: { IN_HEAD, IN_TAIL, OUT_HEAD, OUT_TAIL, IN_ENDED, STATE, TO_MAIN, TO_WORKER, MSG_LEN, IN_LEN, OUT_LEN, DONE, FAILED },
      inSlots: GZIP_RING_SLOTS,
      inSlot: STREAM_CHUNK,
      outSlots: OUT_SLOTS,
      outSlot: OUT_SLOT,
      level: GZIP_LEVEL,
      pakoPath: opts.pakoPath ?? createRequire(import.meta.url).resolve("pako"),
    },
  });
  live++;
  worker.once("exit", () => live--);
  // A failure after the start is read from STATE; an "error" event without a listener would throw.
  worker.on("error", () => undefined);
  const failure = (): Error => new Error(`gzip compression failed: ${Buffer.from(msgBuf, 0, Atomics.load(ctl, MSG_LEN)).toString()}`);
  await new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", (e) => reject(new Error(`gzip compression failed to start its thread: ${e.message}`, { cause: e })));
    worker.once("exit", () => reject(Atomics.load(ctl, STATE) === FAILED ? failure() : new Error("gzip compression's thread ended before it started")));
  });
  // Only the start was awaited; from here on the main thread waits in Atomics.wait.
  worker.unref();

  let used = 0; // bytes in the input slot being filled
  let ended = false;
  let aborted = false;
  const slotOf = (n: number) => n % GZIP_RING_SLOTS;
  const toWorker = () => {
    Atomics.add(ctl, TO_WORKER, 1);
    Atomics.notify(ctl, TO_WORKER);
  };
  /** Hand out every published output slot, in order. */
  const drain = () => {
    let tail = Atomics.load(ctl, OUT_TAIL);
    const head = Atomics.load(ctl, OUT_HEAD);
    if (tail === head) return;
    for (; tail < head; tail++) {
      const at = (tail % OUT_SLOTS) * OUT_SLOT;
      out(output.subarray(at, at + Atomics.load(ctl, OUT_LEN + (tail % OUT_SLOTS))));
      Atomics.store(ctl, OUT_TAIL, tail + 1);
    }
    toWorker();
  };
  /** Wait, handing out output meanwhile, until `ready`; throws the thread's failure. */
  const waitUntil = (ready: () => boolean) => {
    for (;;) {
      const seen = Atomics.load(ctl, TO_MAIN);
      drain();
      if (Atomics.load(ctl, STATE) === FAILED) {
        aborted = true;
        throw failure();
      }
      if (ready()) return;
      Atomics.wait(ctl, TO_MAIN, seen);
    }
  };
  const usable = () => {
    if (aborted) throw new Error("gzip: the stream was aborted or has failed");
    if (ended) throw new Error("gzip: the stream has ended");
  };
  /** Publish the slot being filled. */
  const publish = () => {
    const head = Atomics.load(ctl, IN_HEAD);
    Atomics.store(ctl, IN_LEN + slotOf(head), used);
    Atomics.store(ctl, IN_HEAD, head + 1);
    used = 0;
    toWorker();
  };
  /** Wait for the slot to fill next to be free. */
  const freeSlot = () => waitUntil(() => Atomics.load(ctl, IN_HEAD) - Atomics.load(ctl, IN_TAIL) < GZIP_RING_SLOTS);

  return {
    push(chunk) {
      usable();
      let at = 0;
      while (at < chunk.length) {
        if (used === 0) freeSlot();
        const n = Math.min(STREAM_CHUNK - used, chunk.length - at);
        input.set(chunk.subarray(at, at + n), slotOf(Atomics.load(ctl, IN_HEAD)) * STREAM_CHUNK + used);
        used += n;
        at += n;
        if (used === STREAM_CHUNK) publish();
      }
      drain();
    },
    end() {
      usable();
      ended = true;
      if (used > 0) publish();
      Atomics.store(ctl, IN_ENDED, 1);
      toWorker();
      waitUntil(() => Atomics.load(ctl, STATE) === DONE && Atomics.load(ctl, OUT_TAIL) === Atomics.load(ctl, OUT_HEAD));
    },
    abort() {
      if (aborted) return;
      aborted = true;
      void worker.terminate();
    },
  };
}
