/**
 * The layer's gzip stream, deflated in a worker thread by its own instance of the pinned WASM
 * zlib while the main thread goes on with the tar, its sha256 and the zstd stream: gzip is the
 * largest part of a lock's CPU, and the floor it is measured against (`tee` into native
 * `gzip -6` and `zstd -3`) runs the two compressors on two cores.
 *
 * The tar pass is synchronous, so the threads meet in shared memory, not in messages: a fixed
 * ring of STREAM_CHUNK-sized input slots (the main thread fills one, publishes it, and waits in
 * Atomics.wait while every slot is taken: backpressure, and memory bounded by the ring) and a
 * fixed ring of output slots the thread copies zlib's output into and the main thread hands, in
 * order, to the caller's sink. Nothing is allocated per chunk.
 *
 * The thread runs wasm-gzip-stream.ts's own deflate driver (deflateOver, by its source) over
 * the module compiled and checked there, fed the same full STREAM_CHUNK slots the in-thread
 * stream is fed: the bytes are the in-thread stream's. (An earlier worker ran pako, the slower
 * JavaScript port: deflate was ~80 % of the pass then, so little could overlap.)
 */
import { Worker } from "node:worker_threads";
import { STREAM_CHUNK } from "./compressor-settings.js";
import { deflateOver, zlibModule } from "./wasm-gzip-stream.js";

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
  /** Statements run in the thread before the stream starts, with `WebAssembly` in scope: the tests' fault injection. */
  instrument?: string;
  /** Quiet one-second waits before the thread is given up (default STALL_WAITS; the tests' hung thread). */
  stallWaits?: number;
}

/**
 * Input slots (STREAM_CHUNK each): how far the main thread may run ahead of deflate. With the
 * output ring, slack enough that on a loaded machine neither thread waits on the other's next
 * time slice (with 4 and 16 slots and a wake-up per output piece, the pass was slower there
 * than on one thread).
 */
export const GZIP_RING_SLOTS = 8;
/** Output slots and their size (zlib's output buffer, so one output piece fills at most one slot). */
const OUT_SLOTS = 64;
const OUT_SLOT = 1 << 16;
/** The output ring's bytes (the tests cross it). */
export const GZIP_OUT_RING = OUT_SLOTS * OUT_SLOT;
/** Room for a failure's message. */
const MSG_MAX = 2048;
/**
 * One-second waits in a row with no sign of the thread before the main thread gives up on it: a
 * thread that died without saying so (nothing in it can, short of the process) must not hang
 * the run. Counted in waits, not wall time, so that a stopped and resumed process is no stall.
 */
const STALL_WAITS = 60;

// The control words (Int32 indexes), then the slots' lengths.
const IN_HEAD = 0; // input slots published (main)
const IN_TAIL = 1; // input slots deflated (thread)
const OUT_HEAD = 2; // output slots published (thread)
const OUT_TAIL = 3; // output slots handed out (main)
const IN_ENDED = 4; // 1 once the last input slot is published (main)
const STATE = 5; // the thread's: RUNNING, DONE, FAILED
const TO_MAIN = 6; // bumped by the thread at every change; the main thread waits on it
const TO_WORKER = 7; // bumped by the main thread at every change; the thread waits on it
const MSG_LEN = 8;
const IN_LEN = 9;
const OUT_LEN = IN_LEN + GZIP_RING_SLOTS;
const CTL_WORDS = OUT_LEN + OUT_SLOTS;
const DONE = 1;
const FAILED = 2;

/**
 * The thread's code: plain JavaScript that runs the same from TypeScript sources (tests) and
 * from dist/, as a script or, when the parent runs with --input-type=module (which an eval worker
 * inherits), as a module: so no require, import or top-level await. Every failure — an error
 * from zlib, an exception, the thread ending any other way (process.exit, an uncaught error: the
 * "exit" handler) — is written to STATE with its message before the main thread is woken, so a
 * blocked main thread always sees it.
 */
const workerSource = (instrument: string): string => `
const { workerData: d, parentPort } = process.getBuiltinModule("node:worker_threads");
const deflateOver = (${deflateOver.toString()});
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
process.on("exit", (code) => fail("gzip compression failed: its thread ended (exit code " + code + ") before the stream did"));
try {
  ${instrument}
  let outHead = 0;
  const emit = (piece) => {
    waitFor(() => outHead - Atomics.load(ctl, K.OUT_TAIL) < d.outSlots);
    const slot = outHead % d.outSlots;
    output.set(piece, slot * d.outSlot);
    Atomics.store(ctl, K.OUT_LEN + slot, piece.length);
    Atomics.store(ctl, K.OUT_HEAD, ++outHead);
    // The main thread drains whenever it runs: woken only once the ring is half full (so before
    // this thread could wait on it), not for every piece.
    if (outHead - Atomics.load(ctl, K.OUT_TAIL) >= d.outSlots / 2) toMain();
  };
  const gz = deflateOver(new WebAssembly.Instance(d.module, {}).exports, d.level, d.inSlot, d.outSlot, emit);
  parentPort.postMessage("ready");
  for (let tail = 0; ; ) {
    waitFor(() => Atomics.load(ctl, K.IN_HEAD) > tail || Atomics.load(ctl, K.IN_ENDED) === 1);
    if (Atomics.load(ctl, K.IN_HEAD) === tail) break; // ended, and every slot deflated
    const slot = tail % d.inSlots;
    const at = slot * d.inSlot;
    gz.push(input.subarray(at, at + Atomics.load(ctl, K.IN_LEN + slot)));
    Atomics.store(ctl, K.IN_TAIL, ++tail);
    toMain();
  }
  gz.end();
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
 * Start a gzip stream at `level` whose bytes go to `out`, in order. Resolves once the thread
 * is running (a thread that cannot start rejects); from then on push and end are synchronous.
 * The thread never keeps the process alive, and ends with the stream (or abort).
 */
export async function openGzipThread(level: number, out: Sink, opts: GzipThreadOptions = {}): Promise<GzipThread> {
  const module = zlibModule(); // checked against its pinned sha256 here, before any thread starts
  const ctlBuf = new SharedArrayBuffer(CTL_WORDS * 4);
  const inputBuf = new SharedArrayBuffer(GZIP_RING_SLOTS * STREAM_CHUNK);
  const outputBuf = new SharedArrayBuffer(OUT_SLOTS * OUT_SLOT);
  const msgBuf = new SharedArrayBuffer(MSG_MAX);
  const ctl = new Int32Array(ctlBuf);
  const input = new Uint8Array(inputBuf);
  const output = new Uint8Array(outputBuf);
  const stallWaits = opts.stallWaits ?? STALL_WAITS;
  const worker = new Worker(workerSource(opts.instrument ?? ""), {
    eval: true,
    workerData: {
      module,
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
      level,
    },
  });
  live++;
  worker.once("exit", () => live--);
  // A failure after the start is read from STATE; an "error" event without a listener would throw.
  worker.on("error", () => undefined);
  const failure = (): Error => new Error(Buffer.from(msgBuf, 0, Atomics.load(ctl, MSG_LEN)).toString());
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
  const stop = () => {
    aborted = true;
    void worker.terminate();
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
  /** Wait, handing out output meanwhile, until `ready`; throws the thread's failure (or its silence). */
  const waitUntil = (ready: () => boolean) => {
    for (let quiet = 0; ; ) {
      const seen = Atomics.load(ctl, TO_MAIN);
      try {
        drain();
      } catch (e) {
        stop(); // the sink failed: the thread must not wait on it for ever
        throw e;
      }
      if (Atomics.load(ctl, STATE) === FAILED) {
        aborted = true;
        throw failure();
      }
      if (ready()) return;
      if (Atomics.wait(ctl, TO_MAIN, seen, 1000) !== "timed-out") quiet = 0;
      else if (++quiet >= stallWaits) {
        stop();
        throw new Error(`gzip compression failed: its thread made no progress in ${stallWaits} s`);
      }
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
      waitUntil(() => true); // hands out what is ready, and sees a failure early
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
      stop();
    },
  };
}
