// The streaming zstd decoder against the zstd tool: chunking, several frames, bad input.
import { describe, expect, it } from "vitest";
import { unzstd, ZstdDecompressError } from "../../src/codec/zstd.js";
import { compress, hasCommand } from "../fixtures/deb.js";

async function collect(input: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const c of input) out.push(c);
  return Buffer.concat(out);
}

async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const sample = new Uint8Array(700_000).map((_, i) => ((i * 2654435761) >>> 24) & (i % 3 === 0 ? 0xff : 0x0f));

describe.skipIf(!hasCommand("zstd"))("unzstd", () => {
  it("decodes what zstd wrote, whatever the input chunking", async () => {
    const z = await compress(sample, "zst");
    for (const size of [17, 4096, 1 << 20]) {
      const got = await collect(unzstd(chunked(z, size)));
      expect(Buffer.compare(got, Buffer.from(sample))).toBe(0);
    }
    // Any proper prefix is a truncated stream.
    for (const cut of [1, 5, 100, z.length - 1]) {
      await expect(collect(unzstd(chunked(z.subarray(0, cut), 64)))).rejects.toThrow(ZstdDecompressError);
    }
  });

  it("decodes several concatenated frames", async () => {
    const a = await compress(sample.subarray(0, 1000), "zst");
    const b = await compress(sample.subarray(1000), "zst");
    const got = await collect(unzstd(chunked(Buffer.concat([a, b]), 3000)));
    expect(Buffer.compare(got, Buffer.from(sample))).toBe(0);
  });

  it("refuses empty input, non-zstd data and trailing garbage", async () => {
    await expect(collect(unzstd(chunked(new Uint8Array(0), 1)))).rejects.toThrow(/input is empty/);
    await expect(collect(unzstd(chunked(new TextEncoder().encode("this is not zstd at all, not even close"), 8)))).rejects.toThrow(ZstdDecompressError);
    const z = await compress(sample.subarray(0, 1000), "zst");
    await expect(collect(unzstd(chunked(Buffer.concat([z, Buffer.from("garbage after the frame!")]), 64)))).rejects.toThrow(ZstdDecompressError);
  });
});
