// The gzip stream deflated in a worker thread (src/codec/gzip-thread.ts): over inputs that cross
// its input ring (and its output ring) several times its bytes are canonical zlib's (Python's,
// when that is a classic zlib build; else one-shot pako's); a deflate that fails, throws or ends
// its thread is a thrown error, never a short blob; and no thread is left running, in this
// process or in a fresh one, which exits by itself.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gzip } from "pako";
import { compressLayer, createLayerCompressor, GZIP_LEVEL, STREAM_CHUNK } from "../../src/codec/compress.js";
import { GZIP_RING_SLOTS, liveGzipThreads, openGzipThread } from "../../src/codec/gzip-thread.js";
import { streamLayerBlobs } from "../../src/layer/blobs.js";
import { compileCli } from "../fixtures/cli.js";

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gzip-thread-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const RING = GZIP_RING_SLOTS * STREAM_CHUNK;

/** `rings` input rings and a bit: mostly incompressible (quick to deflate, and the output crosses its ring too), with text between. */
function ringsOfData(rings = 3): Buffer {
  const text = fs.readFileSync(new URL("../../README.md", import.meta.url));
  const size = rings * RING + 12_345;
  const parts: Buffer[] = [];
  for (let i = 0, got = 0; got < size; i++) {
    const part = i % 2 === 0 ? randomBytes(900_001) : text.subarray(0, 100_000 + i);
    parts.push(part);
    got += part.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

/** Compress `data` in pushes of `step` bytes; the blob, whole. */
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

describe("gzip in a worker thread: the bytes", () => {
  const zlibVersion = spawnSync("python3", ["-c", "import zlib; print(zlib.ZLIB_RUNTIME_VERSION)"]).stdout?.toString().trim() ?? "";

  const classicZlib = /^1\.(2\.1[1-3]|3(\.\d+)*)$/.test(zlibVersion);
  it(`equal ${classicZlib ? `canonical zlib ${zlibVersion}'s stream` : "one-shot pako gzip"} over 3 input rings and more, however the input is pushed`, async () => {
    const data = ringsOfData();
    const got = await threaded(data, 65_537);
    expect(got.length).toBeGreaterThan(2 * (1 << 20)); // the output ring (1 MiB) is crossed too
    expect(Buffer.compare(got, Buffer.from((await compressLayer(data, "gzip")).bytes))).toBe(0); // in one push
    // zlib-ng and other forks report other strings: their deflate output legitimately differs,
    // and pako's own one-shot gzip, in this thread, is the reference instead.
    let want: Uint8Array;
    if (classicZlib) {
      const input = path.join(tmp, "rings.bin");
      fs.writeFileSync(input, data);
      want = execFileSync("python3", [
        "-c",
        `import sys,zlib; d=open(sys.argv[1],'rb').read(); c=zlib.compressobj(${GZIP_LEVEL}, zlib.DEFLATED, 31, 8, zlib.Z_DEFAULT_STRATEGY); sys.stdout.buffer.write(c.compress(d)+c.flush())`,
        input,
      ], { maxBuffer: 1 << 26 });
    } else {
      want = gzip(data, { level: GZIP_LEVEL, windowBits: 15, memLevel: 8, strategy: 0, legacyHash: true });
    }
    expect(Buffer.compare(got, Buffer.from(want))).toBe(0);
    expect(await noThreadLeft()).toBe(0);
  });
});

describe("gzip in a worker thread: failures", () => {
  const realPako = createRequire(import.meta.url).resolve("pako");
  /** A pako whose zlibDeflate does `fault` (a statement) on the call where `when` holds. */
  const faultyPako = (name: string, fault: string, when = "++n === 3"): string => {
    const file = path.join(tmp, `${name}.cjs`);
    fs.writeFileSync(file, `const real = require(${JSON.stringify(realPako)});
let n = 0;
module.exports = { ...real, zlibDeflate(strm, flush) { if (${when}) { ${fault} } return real.zlibDeflate(strm, flush); } };\n`);
    return file;
  };
  const run = async (pakoPath: string): Promise<{ error: unknown; bytes: number }> => {
    let bytes = 0;
    const t = await openGzipThread((c) => (bytes += c.length), { pakoPath });
    const data = ringsOfData(1);
    try {
      for (let at = 0; at < data.length; at += 65_536) t.push(data.subarray(at, at + 65_536));
      t.end();
    } catch (error) {
      return { error, bytes };
    }
    return { error: undefined, bytes };
  };

  it.each([
    ["a failure status from deflate", "return real.Z_STREAM_ERROR;", /^gzip compression failed: deflate: status -2$/],
    ["an exception in deflate", 'throw new Error("injected fault");', /^gzip compression failed: injected fault$/],
    ["the thread ending mid-stream (process.exit in the worker)", "process.exit(3);", /^gzip compression failed: the gzip thread ended \(exit code 3\) before the stream did$/],
  ])("%s is a thrown error, and the thread is gone", async (_name, fault, message) => {
    const { error, bytes } = await run(faultyPako(`fault-${fault.length}`, fault));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    expect(bytes).toBeLessThan(RING / 2); // it stopped early (at the third deflate call): no end of stream was handed out
    expect(await noThreadLeft()).toBe(0);
  });

  it("a failure at the end (Z_FINISH) is a thrown error from end()", async () => {
    const pako = faultyPako("fault-finish", 'throw new Error("injected at the end");', "flush === real.Z_FINISH");
    const t = await openGzipThread(() => undefined, { pakoPath: pako });
    t.push(randomBytes(2 * STREAM_CHUNK));
    expect(() => t.end()).toThrow(/^gzip compression failed: injected at the end$/);
    expect(await noThreadLeft()).toBe(0);
  });

  it("a pako that cannot be loaded is a rejected start", async () => {
    const file = path.join(tmp, "unloadable.cjs");
    fs.writeFileSync(file, 'throw new Error("cannot load this pako");\n');
    await expect(openGzipThread(() => undefined, { pakoPath: file })).rejects.toThrow(/^gzip compression failed: cannot load this pako$/);
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

describe("gzip in a worker thread: a fresh process", () => {
  it("compresses with the compiled module, then exits by itself", async () => {
    const bin = await compileCli(path.join(tmp, "cli"));
    const compress = path.join(path.dirname(path.dirname(bin)), "codec", "compress.js");
    const input = path.join(tmp, "process.bin");
    const data = ringsOfData(1);
    fs.writeFileSync(input, data);
    // No process.exit: the process ends when nothing is left to run. As a module (--input-type),
    // which the worker thread inherits.
    const script = `import { compressLayer } from ${JSON.stringify(compress)};
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
const { bytes } = await compressLayer(readFileSync(${JSON.stringify(input)}), "gzip");
console.log(createHash("sha256").update(bytes).digest("hex"));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    expect(r.error).toBeUndefined();
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const want = createHash("sha256").update(gzip(data, { level: GZIP_LEVEL, windowBits: 15, memLevel: 8, strategy: 0, legacyHash: true })).digest("hex");
    expect(r.stdout.trim()).toBe(want);
  });
});
