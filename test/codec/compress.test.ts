// Layer compression: the real gzip and zstd tools decompress what we write, the headers carry no
// timestamp or name, the recorded settings name the installed packages, and the same input always
// gives the same bytes. The gzip stream is also compared with canonical zlib (Python's) when that
// is a classic zlib build.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compressLayer, createLayerCompressor, GZIP_LEVEL, LAYER_COMPRESSIONS, STREAM_CHUNK, ZSTD_LEVEL, type LayerCompression } from "../../src/codec/compress.js";
import { Zstd } from "@hpcc-js/wasm-zstd";
import { compressorSettings, LIBZSTD_VERSION, WASM_ZSTD_VERSION, ZLIB_STREAMS_VERSION, ZLIB_VERSION, ZLIB_WASM_SHA256 } from "../../src/codec/compressor-settings.js";
import { writeLayerTar } from "../../src/layer/tar-writer.js";
import type { LayerNode } from "../../src/model/layer.js";

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "compress-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Deterministic, partly compressible data (text-like runs mixed with noise). */
function sampleData(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (i >> 9) % 3 === 0 ? x & 0xff : 0x61 + ((i * 7) % 23);
  }
  return out;
}

function sampleLayer(): Uint8Array {
  const enc = new TextEncoder();
  const origin = { kind: "implicit", reason: "test" } as const;
  const nodes: LayerNode[] = [
    { path: "/etc", type: "dir", mode: 0o755, uid: 0, gid: 0, origin },
    { path: "/etc/passwd", type: "file", mode: 0o644, uid: 0, gid: 0, origin, content: enc.encode("root:x:0:0:root:/root:/sbin/nologin\n") },
    { path: "/usr", type: "dir", mode: 0o755, uid: 0, gid: 0, origin },
    { path: "/usr/blob", type: "file", mode: 0o755, uid: 0, gid: 0, origin, content: sampleData(300_000, 7) },
  ];
  return writeLayerTar(nodes, { mtime: 1_700_000_000 });
}

const inputs: Array<[string, () => Uint8Array]> = [
  ["empty", () => new Uint8Array(0)],
  ["one byte", () => new Uint8Array([0x41])],
  ["1 MiB mixed", () => sampleData(1 << 20, 42)],
  ["a layer tar", sampleLayer],
];

function installedPackageJson(rel: string): { version: string } {
  return JSON.parse(fs.readFileSync(new URL(`../../node_modules/${rel}/package.json`, import.meta.url), "utf8")) as { version: string };
}

function installedPackageJsonPath(rel: string): string {
  return new URL(`../../node_modules/${rel}/package.json`, import.meta.url).pathname;
}

const zlibVersion = spawnSync("python3", ["-c", "import zlib; print(zlib.ZLIB_RUNTIME_VERSION)"]).stdout?.toString().trim() ?? "";
/** Python's zlib is a classic build (zlib-ng and other forks report other strings; their deflate output legitimately differs). */
const canonicalZlib = /^1\.(2\.1[1-3]|3(\.\d+)*)$/.test(zlibVersion);

/** `data` gzipped one-shot by Python's zlib with the settings we record. */
function pythonGzip(data: Uint8Array): Buffer {
  const f = writeTemp("zlib.bin", data);
  return execFileSync("python3", [
    "-c",
    `import sys,zlib; d=open(sys.argv[1],'rb').read(); c=zlib.compressobj(${GZIP_LEVEL}, zlib.DEFLATED, 31, 8, zlib.Z_DEFAULT_STRATEGY); sys.stdout.buffer.write(c.compress(d)+c.flush())`,
    f,
  ], { maxBuffer: 1 << 26 });
}

function writeTemp(name: string, bytes: Uint8Array): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, bytes);
  return f;
}

describe("compressLayer gzip", () => {
  it.each(inputs)("`gzip -dc` restores %s", async (name, make) => {
    const data = make();
    const { bytes } = await compressLayer(data, "gzip");
    const f = writeTemp(`${name}.gz`, bytes);
    const out = execFileSync("gzip", ["-dc", f], { maxBuffer: 1 << 26 });
    expect(Buffer.compare(out, Buffer.from(data))).toBe(0);
    execFileSync("gzip", ["-t", f]); // CRC and length trailer are right
  });

  it("writes a fixed header: no mtime, no name, OS 3 — the header `gzip -n -6` writes", async () => {
    const data = sampleData(100_000, 3);
    const { bytes } = await compressLayer(data, "gzip");
    expect(Buffer.from(bytes.subarray(0, 10)).toString("hex")).toBe("1f8b08" + "00" + "00000000" + "00" + "03");
    const flg = bytes[3]!;
    expect(flg & 0x08).toBe(0); // FNAME
    const gnu = execFileSync("gzip", ["-n", `-${GZIP_LEVEL}`, "-c", writeTemp("h.bin", data)]);
    expect(Buffer.compare(Buffer.from(bytes.subarray(0, 10)), gnu.subarray(0, 10))).toBe(0);
    // Python's gzip module, an independent header reader, sees a zero timestamp.
    const f = writeTemp("h.bin.gz", bytes);
    const mtime = execFileSync("python3", ["-c", "import gzip,sys; g=gzip.GzipFile(sys.argv[1]); g.read(); print(g.mtime)", f]).toString().trim();
    expect(mtime).toBe("0");
  });

  it.runIf(canonicalZlib)(`equals canonical zlib ${zlibVersion}'s gzip stream byte for byte`, async () => {
    const data = sampleLayer();
    const { bytes } = await compressLayer(data, "gzip");
    expect(Buffer.compare(Buffer.from(bytes), pythonGzip(data))).toBe(0);
  });

  it("records the installed zlib-streams version, its zlib and every byte-shaping option", async () => {
    const { settings } = await compressLayer(new Uint8Array(10), "gzip");
    expect(settings).toEqual({
      compressor: `zlib-streams@${installedPackageJson("zlib-streams").version}`,
      zlib: ZLIB_VERSION,
      level: GZIP_LEVEL,
      windowBits: 15,
      memLevel: 8,
      strategy: "default",
      mtime: 0,
      os: 3,
    });
  });
});

describe("compressLayer zstd", () => {
  it.each(inputs)("`zstd -dc` restores %s", async (name, make) => {
    const data = make();
    const { bytes } = await compressLayer(data, "zstd");
    const f = writeTemp(`${name}.zst`, bytes);
    const out = execFileSync("zstd", ["-q", "-dc", f], { maxBuffer: 1 << 26 });
    expect(Buffer.compare(out, Buffer.from(data))).toBe(0);
  });

  it("writes one streamed frame: no content size (unknown up front), no checksum and no dictionary", async () => {
    const data = sampleLayer();
    const { bytes } = await compressLayer(data, "zstd");
    expect(Buffer.from(bytes.subarray(0, 4)).toString("hex")).toBe("28b52ffd");
    const fhd = bytes[4]!;
    expect(fhd & 0x04).toBe(0); // Content_Checksum_flag
    expect(fhd & 0x03).toBe(0); // Dictionary_ID_flag
    // The zstd CLI as an independent frame reader.
    const info = execFileSync("zstd", ["-lv", writeTemp("info.zst", bytes)]).toString();
    expect(info).toMatch(/# Zstandard Frames: 1\b/);
    expect(info).toMatch(/Check: None/);
    expect(info).not.toMatch(/Decompressed Size:/);
    expect(fhd & 0xc0).toBe(0); // Frame_Content_Size_flag 0 with Single_Segment_flag 0: no size field
    expect(fhd & 0x20).toBe(0);
  });

  it("records the installed @hpcc-js/wasm-zstd version, the libzstd version and the level", async () => {
    const { settings } = await compressLayer(new Uint8Array(10), "zstd");
    expect(settings).toEqual({
      compressor: `@hpcc-js/wasm-zstd@${installedPackageJson("@hpcc-js/wasm-zstd").version}`,
      level: ZSTD_LEVEL,
      libzstd: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      checksum: false,
      contentSize: false,
      streamChunk: STREAM_CHUNK,
    });
  });
});

describe("compressor settings known without loading a compressor", () => {
  it("are what the compressors record, for the versions installed and pinned", async () => {
    for (const kind of LAYER_COMPRESSIONS) expect(compressorSettings(kind)).toEqual((await compressLayer(new Uint8Array(10), kind)).settings);
    const pins = (JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { dependencies: Record<string, string> }).dependencies;
    expect([ZLIB_STREAMS_VERSION, WASM_ZSTD_VERSION]).toEqual([installedPackageJson("zlib-streams").version, installedPackageJson("@hpcc-js/wasm-zstd").version]);
    expect([ZLIB_STREAMS_VERSION, WASM_ZSTD_VERSION]).toEqual([pins["zlib-streams"], pins["@hpcc-js/wasm-zstd"]]);
    expect(LIBZSTD_VERSION).toBe((await Zstd.load()).version());
    // The zlib build: its file's sha256 by sha256sum, and the version string compiled into it.
    const wasm = path.join(path.dirname(installedPackageJsonPath("zlib-streams")), "dist", "zlib-streams.wasm");
    expect(execFileSync("sha256sum", [wasm]).toString().split(" ")[0]).toBe(ZLIB_WASM_SHA256);
    expect(execFileSync("strings", ["-n", "8", wasm]).toString().split("\n")).toContain(ZLIB_VERSION);
  });
});

describe("compressLayer: determinism and the rest", () => {
  it.each<LayerCompression>(["gzip", "zstd"])("%s gives the same bytes for the same input, whatever ran before", async (kind) => {
    const a = sampleData(400_000, 9);
    const b = sampleData(700_000, 10);
    const first = (await compressLayer(a, kind)).bytes;
    await compressLayer(b, kind); // shared compressor state must not leak into the next call
    const again = (await compressLayer(new Uint8Array(a), kind)).bytes;
    expect(Buffer.compare(Buffer.from(first), Buffer.from(again))).toBe(0);
    expect(Buffer.compare(Buffer.from(first), Buffer.from((await compressLayer(b, kind)).bytes))).not.toBe(0);
  });

  it("none returns the input unchanged with settings { compressor: none, level: 0 }", async () => {
    const data = sampleData(1000, 1);
    const r = await compressLayer(data, "none");
    expect(r.bytes).toBe(data);
    expect(r.settings).toEqual({ compressor: "none", level: 0 });
  });

  it("lists the three kinds and refuses others", async () => {
    expect([...LAYER_COMPRESSIONS]).toEqual(["none", "gzip", "zstd"]);
    await expect(compressLayer(new Uint8Array(1), "xz" as LayerCompression)).rejects.toThrow(/unknown layer compression "xz"; use one of none, gzip, zstd/);
  });
});

describe("streaming compressors", () => {
  /** A real layer tar of several MB, pushed in uneven chunks as the tar writer emits them. */
  const bigLayer = (): Uint8Array => {
    const origin = { kind: "implicit", reason: "test" } as const;
    const nodes: LayerNode[] = [{ path: "/usr", type: "dir", mode: 0o755, uid: 0, gid: 0, origin }];
    for (let i = 0; i < 6; i++) nodes.push({ path: `/usr/f${i}`, type: "file", mode: 0o644, uid: 0, gid: 0, origin, content: sampleData(700_000 + i * 1111, i + 1) });
    return writeLayerTar(nodes, { mtime: 1_700_000_000 });
  };
  const streamed = async (kind: LayerCompression, data: Uint8Array, step: number): Promise<Buffer> => {
    const out: Uint8Array[] = [];
    const c = await createLayerCompressor(kind, (chunk) => out.push(chunk.slice()));
    for (let at = 0; at < data.length; at += step) c.push(data.subarray(at, at + step));
    c.end();
    return Buffer.concat(out);
  };

  it("gzip's bytes do not depend on how the input is cut, and `gzip -dc` gives the tar back", async () => {
    const tar = bigLayer();
    expect(tar.length).toBeGreaterThan(2 * STREAM_CHUNK);
    const a = await streamed("gzip", tar, 65_537);
    const b = await streamed("gzip", tar, 3 * STREAM_CHUNK);
    expect(Buffer.compare(a, b)).toBe(0);
    const out = execFileSync("gzip", ["-dc", writeTemp("big.tar.gz", a)], { maxBuffer: 1 << 26 });
    expect(Buffer.compare(out, Buffer.from(tar))).toBe(0);
  });

  it.runIf(canonicalZlib)("gzip pushed chunk by chunk equals canonical zlib's one-shot stream (Python's zlib)", async () => {
    const tar = bigLayer();
    expect(Buffer.compare(await streamed("gzip", tar, 65_537), pythonGzip(tar))).toBe(0);
  });

  it("zstd's bytes do not depend on how the input is cut, and `zstd -dc` gives the tar back", async () => {
    const tar = bigLayer();
    const a = await streamed("zstd", tar, 65_537);
    const b = await streamed("zstd", tar, 3 * STREAM_CHUNK);
    expect(Buffer.compare(a, b)).toBe(0);
    const out = execFileSync("zstd", ["-q", "-dc", writeTemp("big.tar.zst", a)], { maxBuffer: 1 << 26 });
    expect(Buffer.compare(out, Buffer.from(tar))).toBe(0);
  });
});
