// The system decoders (`xz`, `zstd`) and the bundled fallbacks (WASM xz, fzstd) give the same
// bytes and refuse the same inputs with the same errors; the counters prove which one ran.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { decompress } from "../../src/codec/decompress.js";
import { unzstd } from "../../src/codec/zstd.js";
import { readDeb } from "../../src/deb/read-deb.js";
import { ScratchError } from "../../src/model/errors.js";
import { buildAr } from "../fixtures/ar.js";
import { onDecoderPath } from "../fixtures/decoder-paths.js";
import { buildTar, compress, hasCommand, renderControl } from "../fixtures/deb.js";

const INDEX = fileURLToPath(new URL("../../snapshots/debian-security/dists/bookworm-security/main/binary-amd64/Packages.xz", import.meta.url));
const haveTools = hasCommand("xz") && hasCommand("zstd");
if (!haveTools) console.warn("skipping native-decoder tests: they need the xz and zstd tools");

const work = mkdtempSync(join(tmpdir(), "native-decoder-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
  if (data.length === 0) yield data;
}

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** What a decode ends in: `text` (the output's digest, or the error's class and message) and `kind` (the digest, or the class and exit code). */
async function outcome(decode: (input: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>, input: Uint8Array): Promise<{ text: string; kind: string }> {
  const hash = createHash("sha256");
  try {
    for await (const c of decode(chunked(input, 4096))) hash.update(c);
    const ok = `ok ${hash.digest("hex")}`;
    return { text: ok, kind: ok };
  } catch (e) {
    const err = e as Error;
    return { text: `${err.name}: ${err.message}`, kind: `${err.name}, exit ${e instanceof ScratchError ? e.exitCode : "as converted"}` };
  }
}

/**
 * Both paths' outcomes for `input` match `expected` and agree: the same bytes, or errors of the
 * same class and exit code. (Their wording may differ: for trailing garbage the WASM decoder
 * says "truncated or followed by unexpected data", the tail check "unexpected data after the end".)
 */
async function expectBothWays(decode: (input: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>, input: Uint8Array, expected: RegExp, name: string): Promise<void> {
  const native = await onDecoderPath("native", () => outcome(decode, input));
  const fallback = await onDecoderPath("fallback", () => outcome(decode, input));
  const label = `${name}: native gave ${native.text}, fallback ${fallback.text}`;
  expect(native.text, label).toMatch(expected);
  expect(fallback.text, label).toMatch(expected);
  expect(native.kind, label).toBe(fallback.kind);
}

const flip = (b: Uint8Array, at: number): Uint8Array => {
  const c = Uint8Array.from(b);
  c[at] = c[at]! ^ 0x55;
  return c;
};

const sample = new Uint8Array(400_000).map((_, i) => ((i * 2654435761) >>> 24) & (i % 3 === 0 ? 0xff : 0x0f));

describe.skipIf(!haveTools)("native and bundled decoders", () => {
  const unxz = (input: AsyncIterable<Uint8Array>) => decompress("xz", input);

  it("decode a real Packages index to the bytes `xz -dc` gives, either way", async () => {
    const expected = sha256(execFileSync("xz", ["-dc", INDEX], { maxBuffer: 1 << 26 }));
    await expectBothWays(unxz, readFileSync(INDEX), new RegExp(`^ok ${expected}$`), "bookworm-security amd64 Packages.xz");
  });

  it("agree on every good and bad xz input: same bytes, or the same error", async () => {
    const xz = (data: Uint8Array, ...args: string[]): Uint8Array => execFileSync("xz", ["-c", ...args], { input: data });
    const good = xz(sample);
    const inputs: Array<[string, Uint8Array, RegExp]> = [
      ["several blocks, crc32", xz(sample, "--block-size=65536", "--check=crc32"), /^ok /],
      ["no check, padded", Buffer.concat([xz(sample, "--check=none"), Buffer.alloc(8)]), /^ok /],
      ["empty stream", xz(new Uint8Array(0)), /^ok /],
      ["truncated in half", good.subarray(0, good.length >> 1), /DecompressError: .*truncated/],
      ["truncated by one byte", good.subarray(0, good.length - 1), /DecompressError: .*truncated/],
      ["a header prefix", good.subarray(0, 3), /DecompressError: .*truncated/],
      ["a flipped byte", flip(good, good.length >> 1), /DecompressError: .*corrupt/],
      ["a sha256 check", xz(sample, "--check=sha256"), /DecompressError: .*unsupported integrity check/],
      ["trailing garbage", Buffer.concat([good, Buffer.from("garbage!")]), /DecompressError: .*unexpected data/],
      ["two streams", Buffer.concat([good, good]), /DecompressError: .*several xz streams/],
      ["no bytes", new Uint8Array(0), /DecompressError: .*empty/],
      ["not xz", new TextEncoder().encode("Package: foo\nVersion: 1\n"), /DecompressError: .*not xz data/],
    ];
    for (const [name, input, expected] of inputs) await expectBothWays(unxz, input, expected, name);
  });

  it("agree on every good and bad zstd input: same bytes, or the same error class", async () => {
    const z = await compress(sample, "zst");
    const inputs: Array<[string, Uint8Array, RegExp]> = [
      ["one frame", z, /^ok /],
      ["two frames", Buffer.concat([await compress(sample.subarray(0, 1000), "zst"), await compress(sample.subarray(1000), "zst")]), /^ok /],
      ["truncated", z.subarray(0, z.length - 1), /^ZstdDecompressError: /],
      ["trailing garbage", Buffer.concat([z, Buffer.from("garbage after the frame!")]), /^ZstdDecompressError: /],
      ["a bad frame header", flip(z, 4), /^ZstdDecompressError: /],
      ["no bytes", new Uint8Array(0), /^ZstdDecompressError: zstd decompression failed: input is empty$/],
    ];
    for (const [name, input, expected] of inputs) await expectBothWays(unzstd, input, expected, name);
  });

  it("refuse a .deb whose data.tar.xz is corrupt with the same error and exit code either way", async () => {
    const tar = await buildTar([{ path: "./usr/share/x", type: "file", content: sample }]);
    const data = await compress(tar, "xz");
    const control = await compress(await buildTar([{ path: "./control", type: "file", content: renderControl({ Package: "x", Version: "1", Architecture: "all" }) }]), "gz");
    const deb = join(work, "corrupt.deb");
    writeFileSync(
      deb,
      buildAr([
        { name: "debian-binary", data: new TextEncoder().encode("2.0\n") },
        { name: "control.tar.gz", data: control },
        { name: "data.tar.xz", data: flip(data, data.length >> 1) },
      ]),
    );
    const refusal = (): Promise<string> =>
      readDeb(deb, { label: "x_1_all.deb" }).then(
        () => "read",
        (e: unknown) => `${(e as Error).name} (exit ${(e as ScratchError).exitCode}): ${(e as Error).message}`,
      );
    const native = await onDecoderPath("native", refusal);
    expect(native).toMatch(/^DebFormatError \(exit 1\): x_1_all\.deb: data\.tar\.xz: xz decompression failed: corrupt/);
    expect(await onDecoderPath("fallback", refusal)).toBe(native);
  });

  it("run the system xz without the user's default options (a memory limit would fail every decode)", async () => {
    const input = await compress(sample, "xz");
    const saved = process.env.XZ_DEFAULTS;
    process.env.XZ_DEFAULTS = "--memlimit-decompress=1KiB";
    try {
      expect((await onDecoderPath("native", () => outcome(unxz, input))).text).toBe(`ok ${sha256(sample)}`);
    } finally {
      if (saved === undefined) delete process.env.XZ_DEFAULTS;
      else process.env.XZ_DEFAULTS = saved;
    }
  });

  it("fall back to the bundled decoder when xz is not on PATH", async () => {
    const input = await compress(sample, "xz");
    const empty = mkdtempSync(join(work, "no-tools-"));
    const saved = process.env.PATH;
    process.env.PATH = empty;
    try {
      // Not forced: only the missing tool makes it fall back.
      expect((await onDecoderPath("fallback", () => outcome(unxz, input), false)).text).toBe(`ok ${sha256(sample)}`);
    } finally {
      process.env.PATH = saved;
    }
  });
});
