// lock records a zstd digest only for a blob that decodes back to the layer's tar: the check
// runs after the compression pass on the blob as written (the cache's copy, else a temp file).
// A compressor made to emit one wrong byte is refused, with or without a cache, and the cache
// keeps none of that layer's blobs; a good blob is kept under its digest, and `zstd -dc` of that
// file gives a tar whose `sha256sum` is the recorded diff_id.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildLayer, type BuiltLayer } from "../../src/layer/build.js";
import { lockedLayer } from "../../src/layer/expected.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import type { LockedPackage } from "../../src/model/lock.js";
import { buildDeb } from "../fixtures/deb.js";
import { removeDir, sha256, tempDir } from "../lock/helpers.js";

// When set, the zstd compressor's output has one byte flipped, far into the frame.
const corrupt = vi.hoisted(() => ({ on: false }));
vi.mock("../../src/codec/compress.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/codec/compress.js")>();
  return {
    ...real,
    createLayerCompressor: (kind: Parameters<typeof real.createLayerCompressor>[0], out: Parameters<typeof real.createLayerCompressor>[1]) => {
      if (kind !== "zstd" || !corrupt.on) return real.createLayerCompressor(kind, out);
      let seen = 0;
      return real.createLayerCompressor(kind, (chunk) => {
        const c = chunk.slice();
        if (seen <= 2000 && seen + c.length > 2000) c[2000 - seen]! ^= 0xff;
        seen += c.length;
        out(c);
      });
    },
  };
});

let dir: string;
let debPath: string;

beforeAll(async () => {
  dir = await tempDir("scratch-locked-zstd-");
  // Text, so that the frame holds compressed blocks (a flipped byte there breaks their decoding or their content).
  const text = Array.from({ length: 40_000 }, (_, i) => `line ${i}: ${(i * 7919) % 104_729}\n`).join("");
  const deb = await buildDeb({
    control: { Package: "textpkg", Version: "1.0", Architecture: "amd64", Maintainer: "T <t@test.invalid>", Description: "text" },
    files: [{ path: "./usr/share/text.txt", type: "file", content: text }],
    dataCompression: "xz",
  });
  debPath = join(dir, "textpkg_1.0_amd64.deb");
  writeFileSync(debPath, deb);
});
afterAll(async () => {
  await removeDir(dir);
});

async function built(cacheDir: string): Promise<BuiltLayer> {
  const http = new HttpClient({ retries: 0 });
  const fetcher = new Fetcher({ cache: new ContentCache(cacheDir), http, offline: false, progress: silentProgress });
  const url = pathToFileURL(debPath).href;
  const bytes = readFileSync(debPath);
  const pkg: LockedPackage = {
    name: "textpkg", version: "1.0", architecture: "amd64", source: "debian", suite: "bookworm", component: "main",
    url, size: bytes.length, sha256: sha256(bytes), reasons: [],
    select: [{ set: "all", include: ["/usr/share/**"], exclude: [] }],
  };
  return buildLayer({ arch: "amd64", packages: [pkg], derivations: [], mtime: 0 }, { fetcher, urlsFor: () => [url] }).finally(() => http.close());
}

describe("lockedLayer's zstd check", () => {
  it("records a blob that decodes back, and the cache keeps it under that digest", async () => {
    corrupt.on = false;
    const cacheDir = join(dir, "good");
    const layer = await built(cacheDir);
    try {
      const locked = await lockedLayer(layer, new ContentCache(cacheDir));
      const kept = new ContentCache(cacheDir).pathFor(locked.compressed.zstd!.digest.slice("sha256:".length));
      expect(execFileSync("sha256sum", [kept], { encoding: "utf8" }).split(" ")[0]).toBe(locked.compressed.zstd!.digest.slice("sha256:".length));
      const tar = execFileSync("zstd", ["-q", "-dc", kept], { maxBuffer: 1 << 26 });
      const tarFile = join(dir, "good.tar");
      writeFileSync(tarFile, tar);
      expect(`sha256:${execFileSync("sha256sum", [tarFile], { encoding: "utf8" }).split(" ")[0]}`).toBe(locked.diffId);
      // Without a cache the blob goes through a temp file: the same digests.
      expect(await lockedLayer(layer)).toEqual({ ...locked });
    } finally {
      await layer.release();
    }
  });

  it.each([
    ["with a cache", true],
    ["without a cache", false],
  ])("refuses a blob that does not decode back to the tar, %s, and keeps none of its blobs", async (_name, withCache) => {
    const cacheDir = join(dir, withCache ? "bad-cached" : "bad");
    const layer = await built(cacheDir);
    corrupt.on = true;
    try {
      await expect(lockedLayer(layer, withCache ? new ContentCache(cacheDir) : undefined)).rejects.toThrow(/zstd compression of a \d+-byte layer (did not round-trip|produced an unreadable frame)/);
      // Nothing of this layer was kept: not the tar (by its diff_id), not the gzip blob.
      expect(existsSync(new ContentCache(cacheDir).pathFor(layer.diffId.slice("sha256:".length)))).toBe(false);
    } finally {
      corrupt.on = false;
      await layer.release();
    }
  });
});
