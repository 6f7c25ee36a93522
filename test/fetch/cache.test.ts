import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { ContentCache, defaultCacheDir } from "../../src/fetch/cache.js";
import { sha256Hex } from "../../src/util/hash.js";
import { bytesOf, removeDir, tempDir } from "./helpers.js";

describe("defaultCacheDir", () => {
  it("uses an absolute XDG_CACHE_HOME, else ~/.cache", () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/u" })).toBe("/x/cache/scratch-pkgs");
    expect(defaultCacheDir({ XDG_CACHE_HOME: "rel", HOME: "/home/u" })).toBe("/home/u/.cache/scratch-pkgs");
    expect(defaultCacheDir({ HOME: "/home/u" })).toBe("/home/u/.cache/scratch-pkgs");
    expect(defaultCacheDir({})).toBe(join(homedir(), ".cache", "scratch-pkgs"));
  });
});

describe("ContentCache", () => {
  let dir: string;
  let cache: ContentCache;
  const data = bytesOf(5000, 3);
  const sha = sha256Hex(data);

  beforeEach(async () => {
    dir = await tempDir("cache");
    cache = new ContentCache(dir);
  });
  afterEach(async () => removeDir(dir));

  async function store(bytes: Uint8Array, hash: string): Promise<string> {
    const tmp = await cache.tempPath();
    expect(tmp.startsWith(join(dir, "tmp") + "/")).toBe(true);
    await writeFile(tmp, bytes);
    return cache.put(tmp, hash);
  }

  it("writes content under its sha256 through a temp file in the cache, and reads it back verified", async () => {
    const written = await cache.write(data);
    expect(written).toBe(sha);
    expect(await readFile(cache.pathFor(sha))).toEqual(Buffer.from(data));
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
    expect(await cache.read(sha)).toEqual(Buffer.from(data));
    expect(await cache.write(data)).toBe(sha); // a second writer of the same bytes is harmless
    expect(await cache.read(sha256Hex("absent"))).toBeUndefined();
  });

  it("reads a corrupt entry as none and removes it", async () => {
    await cache.write(data);
    await writeFile(cache.pathFor(sha), "tampered");
    expect(await cache.read(sha)).toBeUndefined();
    await expect(stat(cache.pathFor(sha))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("lays entries out by hash and serves them after verification", async () => {
    expect(cache.pathFor(sha)).toBe(join(dir, "sha256", sha.slice(0, 2), sha));
    expect(cache.pathFor(sha.toUpperCase())).toBe(cache.pathFor(sha));
    expect(await cache.get(sha)).toBeUndefined();
    const path = await store(data, sha);
    expect(path).toBe(cache.pathFor(sha));
    expect(await cache.get(sha, data.length)).toBe(path);
    expect(await cache.get(sha)).toBe(path);
    expect(await cache.has(sha)).toBe(true);
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
  });

  it("rejects anything but a sha256 as a name", () => {
    expect(() => cache.pathFor("../../etc/passwd")).toThrow(/sha256/);
    expect(() => cache.pathFor("abc")).toThrow(/sha256/);
  });

  it("deletes an entry whose content does not match its name", async () => {
    const path = await store(data, sha);
    const tampered = Buffer.from(data);
    tampered[100] = (tampered[100]! + 1) & 0xff;
    await writeFile(path, tampered);
    expect(await cache.get(sha)).toBeUndefined();
    await expect(stat(path)).rejects.toThrow();
  });

  it("treats a size mismatch as a miss", async () => {
    await store(data, sha);
    expect(await cache.get(sha, data.length + 1)).toBeUndefined();
  });

  it("removes day-old temp files left by crashed runs, and keeps fresh ones", async () => {
    await cache.tempPath();
    const oldTmp = join(dir, "tmp", "1-old.part");
    const freshTmp = join(dir, "tmp", "2-fresh.part");
    await writeFile(oldTmp, "x");
    await writeFile(freshTmp, "y");
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(oldTmp, twoDaysAgo, twoDaysAgo);
    await new ContentCache(dir).tempPath();
    expect(await readdir(join(dir, "tmp"))).toEqual(["2-fresh.part"]);
  });

  it("putting the same content twice is fine", async () => {
    await store(data, sha);
    const again = await store(data, sha);
    expect(await cache.get(sha)).toBe(again);
  });

  it("writes entries and refs 0644 whatever the umask", async (ctx) => {
    let old: number;
    try {
      old = process.umask(0o077);
    } catch {
      ctx.skip("worker threads cannot change the umask (vitest's default forks pool can)");
      return;
    }
    try {
      const path = await store(data, sha);
      expect((await stat(path)).mode & 0o777).toBe(0o644);
      await cache.setRef("k", sha);
      const refs = await readdir(join(dir, "refs"));
      expect(refs).toEqual([sha256Hex("k")]);
      expect((await stat(join(dir, "refs", refs[0]!))).mode & 0o777).toBe(0o644);
    } finally {
      process.umask(old);
    }
  });

  it("records and replaces refs, ignoring damaged ones", async () => {
    const key = "http://example.invalid/dists/bookworm/InRelease";
    expect(await cache.getRef(key)).toBeUndefined();
    await cache.setRef(key, sha);
    expect(await cache.getRef(key)).toBe(sha);
    const other = sha256Hex("other");
    await cache.setRef(key, other);
    expect(await cache.getRef(key)).toBe(other);
    expect(await cache.getRef(key + "x")).toBeUndefined();
    const refFile = join(dir, "refs", sha256Hex(key));
    expect(JSON.parse(await readFile(refFile, "utf8"))).toEqual({ key, sha256: other });
    await writeFile(refFile, "garbage");
    expect(await cache.getRef(key)).toBeUndefined();
  });
});
