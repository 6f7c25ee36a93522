/**
 * Layer compression with pinned compressors (README, "Layers", step 5).
 *
 * node:zlib is deliberately not used: Node 20, 22 and 24 bundle different zlib builds, so the
 * same input could compress to different bytes on another Node major. pako (a pure-JS port of
 * zlib) and libzstd compiled to WebAssembly (@hpcc-js/wasm-zstd, single-threaded) compute the
 * same bytes on every Node release and machine; the exact package versions are pinned in
 * package.json and recorded, with every option that changes bytes, in the lock's settings.
 *
 * Levels, measured by hand on a 33 MB tar of tzdata + libc + perl modules (2-core machine):
 * - gzip 6: ~1.5–3.5 s, 8.05 MB (zlib hash). Level 9 took ~9.4 s and saved <1%: too slow for a
 *   layer build. 6 is also zlib's and gzip's default.
 * - zstd 3: ~0.7 s, 6.81 MB. Level 9 took ~1.3–3 s for 6.10 MB. 3 is libzstd's default and what
 *   containerd/buildkit use for zstd layers.
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { gzip } from "pako";
import { Zstd } from "@hpcc-js/wasm-zstd";
import { decompress as zstdDecompress } from "fzstd";
import type { CompressorSettings } from "../model/lock.js";

export type LayerCompression = "none" | "gzip" | "zstd";

export const LAYER_COMPRESSIONS: readonly LayerCompression[] = ["none", "gzip", "zstd"];

export interface CompressedLayer {
  bytes: Uint8Array;
  settings: CompressorSettings;
}

export const GZIP_LEVEL = 6;
export const ZSTD_LEVEL = 3;
/**
 * The gzip header pako writes when given no header object: FLG 0 (no name, comment, extra or
 * header CRC), MTIME 0, XFL 0 (level 6), OS 3 ("Unix") — what `gzip -n -6` writes on Linux.
 */
const GZIP_OS = 3;

/**
 * Compress a whole layer. "none" returns the input itself (not a copy) and settings
 * { compressor: "none", level: 0 }. Throws a plain Error if the compressor fails (a bug or
 * out of memory), never returns a damaged blob.
 */
export async function compressLayer(data: Uint8Array, kind: LayerCompression): Promise<CompressedLayer> {
  switch (kind) {
    case "none":
      return { bytes: data, settings: { compressor: "none", level: 0 } };
    case "gzip":
      return { bytes: gzipLayer(data), settings: gzipSettings() };
    case "zstd":
      return zstdLayer(data);
    default:
      throw new Error(`unknown layer compression ${JSON.stringify(kind)}; use one of ${LAYER_COMPRESSIONS.join(", ")}`);
  }
}

function gzipLayer(data: Uint8Array): Uint8Array {
  // Every option that shapes the deflate stream is passed explicitly rather than left to pako's
  // defaults. No `header` object: pako then writes the fixed header described at GZIP_OS.
  // legacyHash: zlib's classic hash chain instead of pako 3's faster default, so the bytes equal
  // what canonical zlib (checked against 1.2.13) writes with the same level, windowBits and memLevel
  // — anyone can re-create the blob with a stock zlib — and they come out ~1% smaller.
  return gzip(data, { level: GZIP_LEVEL, windowBits: 15, memLevel: 8, strategy: 0, legacyHash: true });
}

function gzipSettings(): CompressorSettings {
  return {
    compressor: `pako@${installedVersion("pako")}`,
    level: GZIP_LEVEL,
    windowBits: 15,
    memLevel: 8,
    strategy: "default",
    hash: "zlib",
    mtime: 0,
    os: GZIP_OS,
  };
}

let zstdModule: Promise<Zstd> | undefined;
function loadZstd(): Promise<Zstd> {
  zstdModule ??= Zstd.load();
  return zstdModule;
}

async function zstdLayer(data: Uint8Array): Promise<CompressedLayer> {
  const zstd = await loadZstd();
  // One ZSTD_compress call: a single frame with the content size in its header, no checksum,
  // no dictionary, no threads — all fixed by the API, so only the level varies.
  const bytes = zstd.compress(data, ZSTD_LEVEL);
  // The wrapper only logs a libzstd error (e.g. out of WASM memory) and returns what it has, so
  // check the round trip with an independent decoder before anyone hashes these bytes.
  let back: Uint8Array;
  try {
    back = zstdDecompress(bytes);
  } catch (err) {
    throw new Error(`zstd compression of a ${data.length}-byte layer produced an unreadable frame`, { cause: err });
  }
  if (!sameBytes(back, data)) throw new Error(`zstd compression of a ${data.length}-byte layer did not round-trip`);
  return { bytes, settings: zstdSettings(zstd) };
}

function zstdSettings(zstd: Zstd): CompressorSettings {
  return {
    compressor: `@hpcc-js/wasm-zstd@${installedVersion("@hpcc-js/wasm-zstd")}`,
    level: ZSTD_LEVEL,
    libzstd: zstd.version(),
    checksum: false,
    contentSize: true,
  };
}

const versions = new Map<string, string>();
/**
 * The version of an installed package, from its own package.json (found by walking up from the
 * resolved entry point, since not every package exports "./package.json").
 */
export function installedVersion(name: string): string {
  const cached = versions.get(name);
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === name && typeof pkg.version === "string") {
        versions.set(name, pkg.version);
        return pkg.version;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the package.json of ${name}; reinstall the dependencies (npm ci)`);
    dir = up;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}
