import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compressionOf, decompress, DecompressError, type Compression } from "../../src/codec/decompress.js";

const SNAPSHOT_INDEX = fileURLToPath(new URL("../../snapshots/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz", import.meta.url));

function hasTool(name: string): boolean {
  try {
    execFileSync(name, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const hasXz = hasTool("xz");
const hasGzip = hasTool("gzip");
if (!hasXz) console.log("skipping xz cross-checks: the xz tool is not installed");
if (!hasGzip) console.log("skipping gzip cross-checks: the gzip tool is not installed");

async function* chunked(data: Uint8Array, sizes: number[] | number): AsyncGenerator<Uint8Array> {
  let i = 0;
  let k = 0;
  while (i < data.length) {
    const n = typeof sizes === "number" ? sizes : sizes[k++ % sizes.length]!;
    yield data.subarray(i, i + n);
    i += n;
  }
}

async function collect(kind: Compression, input: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of decompress(kind, input)) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** Byte equality (vitest's deep toEqual is far too slow on megabyte buffers). */
function expectSame(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)).toBe(true);
}

/** Some text and some incompressible bytes, so the result spans many decoder buffers. */
const sample = Buffer.concat([Buffer.from("Package: foo\nVersion: 1.0\n\n".repeat(20000)), randomBytes(300_000)]);

describe("compressionOf", () => {
  it.each([
    ["dists/bookworm/main/binary-amd64/Packages.xz", "xz"],
    ["Packages.gz", "gz"],
    ["Packages", "none"],
    ["https://example.invalid/debian/Packages.xz?x=1", "xz"],
    ["by-hash/SHA256/abc", "none"],
    ["Packages.bz2", "none"],
  ] as const)("%s → %s", (path, kind) => {
    expect(compressionOf(path)).toBe(kind);
  });
});

describe("decompress none", () => {
  it("passes bytes through", async () => {
    expectSame(await collect("none", chunked(sample, 777)), sample);
  });
});

describe.skipIf(!hasXz)("decompress xz", () => {
  const xz = (data: Uint8Array, ...args: string[]): Buffer => execFileSync("xz", ["-c", ...args], { input: data, maxBuffer: 1 << 26 });

  it("matches `xz -dc` on the real snapshot index, whatever the chunking", async () => {
    const compressed = readFileSync(SNAPSHOT_INDEX);
    const expected = execFileSync("xz", ["-dc", SNAPSHOT_INDEX], { maxBuffer: 1 << 26 });
    expect(expected.length).toBeGreaterThan(10_000);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 8 }), async (sizes) => {
        expectSame(await collect("xz", chunked(compressed, sizes)), expected);
      }),
      { numRuns: 15 },
    );
  });

  it.each([
    ["default", []],
    ["several blocks", ["--block-size=65536"]],
    ["crc32", ["--check=crc32"]],
    ["no check", ["--check=none"]],
    ["level 9 extreme", ["-9e"]],
  ])("round-trips data made by the xz tool (%s)", async (_name, args) => {
    expectSame(await collect("xz", chunked(xz(sample, ...args), 10_000)), sample);
  });

  it("accepts an empty stream and trailing stream padding", async () => {
    expect((await collect("xz", chunked(xz(Buffer.alloc(0)), 100))).length).toBe(0);
    expectSame(await collect("xz", chunked(Buffer.concat([xz(sample), Buffer.alloc(8)]), 4096)), sample);
  });

  const expectFailure = async (input: Uint8Array, re: RegExp, chunk = 4096): Promise<void> => {
    const err = await collect("xz", chunked(input, chunk)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DecompressError);
    expect((err as Error).message).toMatch(/^xz decompression failed: /);
    expect((err as Error).message).toMatch(re);
  };

  it("throws on truncated input", async () => {
    const c = xz(sample);
    await expectFailure(c.subarray(0, c.length >> 1), /truncated/);
    await expectFailure(c.subarray(0, c.length - 1), /truncated/);
    await expectFailure(c.subarray(0, 3), /truncated|empty/);
  });

  it("throws on corrupt input", async () => {
    const c = Buffer.from(xz(sample));
    c[c.length >> 1] = c[c.length >> 1]! ^ 0x55;
    await expectFailure(c, /corrupt|truncated/);
  });

  it("throws on an unsupported integrity check instead of skipping it", async () => {
    await expectFailure(xz(sample, "--check=sha256"), /unsupported/);
  });

  it("throws on trailing data and on concatenated streams, in one chunk or many", async () => {
    const c = xz(sample);
    for (const size of [c.length + 100, 1000]) {
      await expectFailure(Buffer.concat([c, Buffer.from("garbage!")]), /unexpected data|not supported/, size);
      await expectFailure(Buffer.concat([c, c]), /several xz streams|unexpected data/, size);
    }
  });

  it("throws on empty input and on data that is not xz", async () => {
    await expectFailure(Buffer.alloc(0), /input is empty/);
    await expectFailure(Buffer.from("Package: foo\nVersion: 1\n"), /not xz data/);
  });

  it("passes the input's own error on unchanged", async () => {
    const c = xz(sample);
    const boom = new Error("socket hang up");
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield c.subarray(0, 1000);
      throw boom;
    }
    await expect(collect("xz", failing())).rejects.toBe(boom);
  });

  it("closes the input when the consumer stops early, and stays usable", async () => {
    const c = xz(sample);
    let closed = false;
    async function* tracked(): AsyncGenerator<Uint8Array> {
      try {
        yield* chunked(c, 1000);
      } finally {
        closed = true;
      }
    }
    for await (const chunk of decompress("xz", tracked())) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(closed).toBe(true);
    expectSame(await collect("xz", chunked(c, 5000)), sample);
  });

  it("decodes several streams at once, interleaved", async () => {
    const inputs = [xz(sample), xz(sample.subarray(0, 100_000)), xz(Buffer.from("hello\n"))];
    const iters = inputs.map((c) => decompress("xz", chunked(c, 3000))[Symbol.asyncIterator]());
    const outs: Buffer[][] = inputs.map(() => []);
    // Round-robin one chunk from each: a decoder that serialises streams would deadlock here.
    let open = iters.length;
    const done = iters.map(() => false);
    while (open > 0) {
      for (let i = 0; i < iters.length; i++) {
        if (done[i]) continue;
        const r = await iters[i]!.next();
        if (r.done) {
          done[i] = true;
          open--;
        } else outs[i]!.push(Buffer.from(r.value));
      }
    }
    expectSame(Buffer.concat(outs[0]!), sample);
    expectSame(Buffer.concat(outs[1]!), sample.subarray(0, 100_000));
    expect(Buffer.concat(outs[2]!).toString()).toBe("hello\n");
  });
});

describe.skipIf(!hasGzip)("decompress gz", () => {
  const gz = (data: Uint8Array): Buffer => execFileSync("gzip", ["-c", "-n"], { input: data, maxBuffer: 1 << 26 });

  it("round-trips data made by the gzip tool, whatever the chunking", async () => {
    const c = gz(sample);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 5 }), async (sizes) => {
        expectSame(await collect("gz", chunked(c, sizes)), sample);
      }),
      { numRuns: 10 },
    );
  });

  it("throws on truncated or corrupt input", async () => {
    const c = gz(sample);
    await expect(collect("gz", chunked(c.subarray(0, c.length - 10), 4096))).rejects.toThrow(DecompressError);
    await expect(collect("gz", chunked(c.subarray(0, c.length - 10), 4096))).rejects.toThrow(/^gzip decompression failed: .*corrupt or truncated/);
    const bad = Buffer.from(c);
    bad[bad.length >> 1] = bad[bad.length >> 1]! ^ 0x55;
    await expect(collect("gz", chunked(bad, 4096))).rejects.toThrow(DecompressError);
    await expect(collect("gz", chunked(Buffer.from("not gzip at all"), 4096))).rejects.toThrow(DecompressError);
  });

  it("passes the input's own error on unchanged", async () => {
    const boom = new Error("socket hang up");
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield gz(sample).subarray(0, 1000);
      throw boom;
    }
    await expect(collect("gz", failing())).rejects.toBe(boom);
  });

  it("stops early without hanging", async () => {
    for await (const chunk of decompress("gz", chunked(gz(sample), 1000))) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
  });
});

it("the snapshot index exists", () => {
  expect(existsSync(SNAPSHOT_INDEX)).toBe(true);
});
