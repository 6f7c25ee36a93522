// The gzip stream deflated in a worker thread (src/codec/gzip-thread.ts). Its bytes are the
// in-thread stream's and canonical zlib's (Python's, when that is a classic zlib build) over
// inputs that cross its rings several times. A deflate that
// fails, throws, ends or hangs its thread, a sink that fails, a thread that cannot start: each
// is a thrown error (the in-thread stream's own, where it has one), never a short blob, and no
// thread is left. And the CLI: a layer whose gzip thread fails exits 70 with the error, writes
// nothing, and ends by itself; one whose thread does not fail is the gzip digest the committed
// lock pins (gzip -dc takes it to the lock's diff_id, and the in-thread stream makes the same
// blob of that tar).
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compressLayer, createLayerCompressor, GZIP_LEVEL, STREAM_CHUNK } from "../../src/codec/compress.js";
import { GZIP_OUT_RING, GZIP_RING_SLOTS, liveGzipThreads, openGzipThread } from "../../src/codec/gzip-thread.js";
import { deflateOver, zlibModule } from "../../src/codec/wasm-gzip-stream.js";
import { streamLayerBlobs } from "../../src/layer/blobs.js";
import { readLockfile } from "../../src/lockfile/read.js";
import { compileCli } from "../fixtures/cli.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gzip-thread-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const RING = GZIP_RING_SLOTS * STREAM_CHUNK;
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** `rings` input rings and a bit: incompressible stretches (their output crosses the output ring too) with text between. */
function ringsOfData(rings: number): Buffer {
  const text = fs.readFileSync(path.join(ROOT, "README.md"));
  const size = rings * RING + 12_345;
  const parts: Buffer[] = [];
  for (let i = 0, got = 0; got < size; i++) {
    const part = i % 2 === 0 ? randomBytes(900_001) : text.subarray(0, 100_000 + i);
    parts.push(part);
    got += part.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

/** Compress `data` through the thread in pushes of `step` bytes; the blob, whole. */
async function threaded(data: Uint8Array, step: number): Promise<Buffer> {
  const out: Buffer[] = [];
  const c = await createLayerCompressor("gzip", (chunk) => out.push(Buffer.from(chunk)));
  for (let at = 0; at < data.length; at += step) c.push(data.subarray(at, at + step));
  c.end();
  return Buffer.concat(out);
}

/** Waits (a few seconds at most) for Node to report every gzip thread ended. */
async function noThreadLeft(): Promise<number> {
  for (let i = 0; i < 100 && liveGzipThreads() > 0; i++) await sleep(50);
  return liveGzipThreads();
}

const zlibVersion = spawnSync("python3", ["-c", "import zlib; print(zlib.ZLIB_RUNTIME_VERSION)"]).stdout?.toString().trim() ?? "";
// zlib-ng and other forks report other strings; their deflate output legitimately differs.
const canonicalZlib = /^1\.(2\.1[1-3]|3(\.\d+)*)$/.test(zlibVersion);

describe("gzip in a worker thread: the bytes", () => {
  it(`equal the in-thread stream's${canonicalZlib ? ` and canonical zlib ${zlibVersion}'s` : ""} over an input ring and more, pushed in odd sizes`, async () => {
    const data = ringsOfData(1.25);
    const got = await threaded(data, 65_537);
    expect(got.length).toBeGreaterThan(GZIP_OUT_RING); // the output ring is crossed too
    // In one push, on this thread.
    expect(Buffer.compare(got, Buffer.from((await compressLayer(data, "gzip", { inThread: true })).bytes))).toBe(0);
    const input = path.join(tmp, "rings.bin");
    fs.writeFileSync(input, data);
    expect(sha256(execFileSync("gzip", ["-dc"], { input: got, maxBuffer: 1 << 26 }))).toBe(sha256(data));
    if (canonicalZlib) {
      const py = execFileSync("python3", [
        "-c",
        `import sys,zlib; d=open(sys.argv[1],'rb').read(); c=zlib.compressobj(${GZIP_LEVEL}, zlib.DEFLATED, 31, 8, zlib.Z_DEFAULT_STRATEGY); sys.stdout.buffer.write(c.compress(d)+c.flush())`,
        input,
      ], { maxBuffer: 1 << 26 });
      expect(Buffer.compare(got, py)).toBe(0);
    }
    expect(await noThreadLeft()).toBe(0);
  });
});

/**
 * A WebAssembly.Instance whose zlib exports' deflate_process does `fault` on its `nth` call (or,
 * with nth 0, on the Z_FINISH call). Self-contained: the thread runs it by its source.
 */
function faultyInstance(Real: typeof WebAssembly.Instance, nth: number, fault: "status" | "throw" | "exit" | "hang") {
  return function (module: WebAssembly.Module, imports: WebAssembly.Imports) {
    const e = new Real(module, imports).exports as Record<string, (...a: number[]) => number>;
    let calls = 0;
    const deflate_process = (s: number, input: number, length: number, out: number, outLength: number, flush: number): number => {
      if (nth === 0 ? flush === 4 : ++calls === nth) {
        // An invalid flush value: zlib's own Z_STREAM_ERROR, nothing consumed.
        if (fault === "status") return e.deflate_process!(s, input, length, out, outLength, 99);
        if (fault === "throw") throw new Error("injected fault");
        if (fault === "exit") process.exit(3);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // hang
      }
      return e.deflate_process!(s, input, length, out, outLength, flush);
    };
    return { exports: { ...e, deflate_process } };
  };
}
const instrument = (nth: number, fault: Parameters<typeof faultyInstance>[2]): string =>
  `WebAssembly.Instance = (${faultyInstance.toString()})(WebAssembly.Instance, ${nth}, ${JSON.stringify(fault)});`;

/** One ring of data through a thread with `opts`, in 64 KiB pushes: the error, and how many bytes came out before it. */
async function faulted(opts: Parameters<typeof openGzipThread>[2], sink?: (c: Uint8Array) => void): Promise<{ error: unknown; bytes: number }> {
  let bytes = 0;
  const t = await openGzipThread(GZIP_LEVEL, (c) => ((bytes += c.length), sink?.(c)), opts);
  const data = ringsOfData(1);
  try {
    for (let at = 0; at < data.length; at += 65_536) t.push(data.subarray(at, at + 65_536));
    t.end();
  } catch (error) {
    return { error, bytes };
  }
  return { error: undefined, bytes };
}

/** What the in-thread stream throws for the same fault (the same driver, in this thread). */
function inThreadError(nth: number, fault: "status" | "throw"): unknown {
  const Faulty = faultyInstance(WebAssembly.Instance, nth, fault);
  const gz = deflateOver(Faulty(zlibModule(), {}).exports, GZIP_LEVEL, STREAM_CHUNK, 1 << 16, () => undefined);
  const data = ringsOfData(1);
  try {
    for (let at = 0; at < data.length; at += STREAM_CHUNK) gz.push(data.subarray(at, at + STREAM_CHUNK));
    gz.end();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("gzip in a worker thread: failures", () => {
  it.each(["status", "throw"] as const)("a deflate that fails (%s) is the in-thread stream's error, thrown, and the thread is gone", async (fault) => {
    const { error, bytes } = await faulted({ instrument: instrument(3, fault) });
    const same = inThreadError(3, fault);
    expect(same).toBeInstanceOf(Error);
    expect((same as Error).message).toMatch(fault === "status" ? /^gzip compression failed: zlib status -2$/ : /^injected fault$/);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe((same as Error).message);
    expect(bytes).toBeLessThan(RING / 2); // it stopped early: no end of stream was handed out
    expect(await noThreadLeft()).toBe(0);
  });

  it("a thread that ends mid-stream (process.exit in it) is a thrown error", async () => {
    const { error, bytes } = await faulted({ instrument: instrument(3, "exit") });
    expect((error as Error).message).toBe("gzip compression failed: its thread ended (exit code 3) before the stream did");
    expect(bytes).toBeLessThan(RING / 2);
    expect(await noThreadLeft()).toBe(0);
  });

  it("a thread that hangs is given up after its quiet waits, and stopped", async () => {
    const { error } = await faulted({ instrument: instrument(3, "hang"), stallWaits: 2 });
    expect((error as Error).message).toBe("gzip compression failed: its thread made no progress in 2 s");
    expect(await noThreadLeft()).toBe(0);
  });

  it("a failure at the end (Z_FINISH) is a thrown error from end()", async () => {
    const t = await openGzipThread(GZIP_LEVEL, () => undefined, { instrument: instrument(0, "throw") });
    t.push(randomBytes(2 * STREAM_CHUNK));
    expect(() => t.end()).toThrow(/^injected fault$/);
    expect(await noThreadLeft()).toBe(0);
  });

  it("a sink that throws stops the thread, and its error is thrown", async () => {
    const { error } = await faulted({}, () => {
      throw new Error("the disk is full");
    });
    expect((error as Error).message).toBe("the disk is full");
    expect(await noThreadLeft()).toBe(0);
  });

  it("a thread that cannot start is a rejected start", async () => {
    await expect(openGzipThread(GZIP_LEVEL, () => undefined, { instrument: 'throw new Error("cannot start");' })).rejects.toThrow(/^cannot start$/);
    expect(await noThreadLeft()).toBe(0);
  });

  it("a tar pass that fails stops the gzip thread it started (streamLayerBlobs aborts it)", async () => {
    const built = {
      writeTar(sink: (c: Uint8Array) => void): never {
        sink(randomBytes(RING + 5));
        throw new Error("the tar pass failed");
      },
    };
    await expect(streamLayerBlobs(built as never, ["gzip", "zstd"])).rejects.toThrow("the tar pass failed");
    expect(await noThreadLeft()).toBe(0);
  });
});

describe("gzip in a worker thread: the CLI", () => {
  let bin: string;
  beforeAll(async () => {
    bin = await compileCli(path.join(tmp, "cli"));
  });
  /** `layer --compress gzip` of the committed lock's amd64 layer into a directory of its own, with `preload` required in every thread. */
  const layer = (name: string, preload?: string) => {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "scratch.lock"), "utf8")) as { sources: Array<{ name: string }> };
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    const mirrors = lock.sources.flatMap((s) => ["--mirror", `${s.name}=${pathToFileURL(path.join(ROOT, "snapshots", s.name)).href}`]);
    const args = [bin, "layer", "--lockfile", path.join(ROOT, "scratch.lock"), "--arch", "amd64", "--compress", "gzip", "--output", path.join(dir, "layer.tar.gz"), "--cache", path.join(tmp, "cache"), "--quiet", ...mirrors];
    const env = { ...process.env, TMPDIR: dir, ...(preload ? { NODE_OPTIONS: `--require ${preload}` } : {}) };
    // A process that hung on its thread would be killed here (r.signal), failing the test.
    const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 120_000, env });
    return { ...r, dir };
  };
  /** A preload that gives the gzip thread (and only it: no other thread instantiates zlib's exports) a failing deflate. */
  const preload = (name: string, nth: number, fault: "status" | "exit"): string => {
    const file = path.join(tmp, `${name}.cjs`);
    fs.writeFileSync(file, `if (!require("node:worker_threads").isMainThread) {
  const Real = WebAssembly.Instance;
  const Faulty = (${faultyInstance.toString()})(Real, ${nth}, ${JSON.stringify(fault)});
  WebAssembly.Instance = function (m, i) { const inst = new Real(m, i); return "deflate_process" in inst.exports ? Faulty(m, i) : inst; };
}\n`);
    return file;
  };

  it.each([
    ["a failing deflate", "status" as const, "gzip compression failed: zlib status -2"],
    ["a thread that exits", "exit" as const, "gzip compression failed: its thread ended (exit code 3) before the stream did"],
  ])("%s: exit 70 naming the failure, nothing written, and the process ends by itself", async (_name, fault, message) => {
    const r = layer(`fault-${fault}`, preload(`preload-${fault}`, 40, fault));
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.status).toBe(70);
    expect(r.stderr).toContain(message);
    expect(fs.readdirSync(r.dir)).toEqual([]); // no partial output, no temp file left
  });

  // Last: the failed runs above kept the decoded members in the cache they share, but no layer.
  it("without a fault, the blob is the gzip digest the committed lock pins, as is the in-thread stream's of its tar, which is the lock's diff_id", async () => {
    const r = layer("ok");
    expect(r.error).toBeUndefined();
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const want = (await readLockfile(path.join(ROOT, "scratch.lock"))).architectures.amd64!.layer;
    const blob = fs.readFileSync(path.join(r.dir, "layer.tar.gz"));
    expect(`sha256:${sha256(blob)}`).toBe(want.compressed.gzip!.digest);
    const tar = execFileSync("gzip", ["-dc"], { input: blob, maxBuffer: 1 << 28 });
    expect(`sha256:${sha256(tar)}`).toBe(want.diffId);
    expect(`sha256:${sha256((await compressLayer(tar, "gzip", { inThread: true })).bytes)}`).toBe(want.compressed.gzip!.digest);
  });
});
