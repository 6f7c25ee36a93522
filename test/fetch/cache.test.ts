import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lstat, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { ContentCache, defaultCacheDir } from "../../src/fetch/cache.js";
import { IOError } from "../../src/model/errors.js";
import { sha256Hex } from "../../src/util/hash.js";
import { deadPid } from "../fixtures/pids.js";
import { must } from "../layer/helpers.js";
import { bytesOf, removeDir, tempDir } from "./helpers.js";

const TWO_DAYS_AGO = new Date(Date.now() - 2 * 24 * 3600 * 1000);

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

  it("sweeps only its own day-old temp files of runs that are gone; anything else in tmp/ survives", async () => {
    const tmp = join(dir, "tmp");
    await mkdir(tmp);
    const dead = await deadPid();
    const ours = (pid: number, tag: string) => `.scratch-pkgs-${pid}-${tag.repeat(16)}.part`;
    const files = {
      deadOld: ours(dead, "a"),
      deadFresh: ours(dead, "b"),
      liveOld: ours(process.ppid, "c"),
      userOld: "notes.txt",
      oldStyle: "1-0123456789abcdef.part", // what earlier releases named theirs: indistinguishable from a user's
      lookalike: ".scratch-pkgs-x.part",
    };
    for (const name of Object.values(files)) await writeFile(join(tmp, name), name);
    for (const name of Object.values(files).filter((n) => n !== files.deadFresh)) await utimes(join(tmp, name), TWO_DAYS_AGO, TWO_DAYS_AGO);
    await mkdir(join(tmp, ours(dead, "d"))); // a directory with our name is still not ours to remove
    await utimes(join(tmp, ours(dead, "d")), TWO_DAYS_AGO, TWO_DAYS_AGO);

    await new ContentCache(dir).write(data);
    const left = (await readdir(tmp)).sort();
    expect(left).toEqual([files.deadFresh, files.liveOld, files.userOld, files.oldStyle, files.lookalike, ours(dead, "d")].sort());
    expect(await readFile(join(tmp, files.userOld), "utf8")).toBe(files.userOld);
  });

  it("names its temp files .scratch-pkgs-<pid>-<16 hex>.part", async () => {
    const tmp = await cache.tempPath();
    expect(basename(tmp)).toMatch(new RegExp(`^\\.scratch-pkgs-${process.pid}-[0-9a-f]{16}\\.part$`));
  });

  it("refuses a symlinked tmp/ (exit 3, naming it) and deletes nothing where it points", async () => {
    const users = await tempDir("users-dir");
    try {
      const victims = [`.scratch-pkgs-${await deadPid()}-${"e".repeat(16)}.part`, "thesis.tex"];
      for (const name of victims) {
        await writeFile(join(users, name), "precious");
        await utimes(join(users, name), TWO_DAYS_AGO, TWO_DAYS_AGO);
      }
      await symlink(users, join(dir, "tmp"));
      const err = await new ContentCache(dir).write(data).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(IOError);
      expect((err as IOError).exitCode).toBe(3);
      expect((err as IOError).message).toContain(join(dir, "tmp"));
      expect((err as IOError).message).toMatch(/symlink/);
      expect((await readdir(users)).sort()).toEqual(victims.sort());
      await expect(new ContentCache(dir).setRef("k", sha)).rejects.toBeInstanceOf(IOError);
      expect((await readdir(users)).sort()).toEqual(victims.sort());
    } finally {
      await removeDir(users);
    }
  });

  it("refuses a symlinked sha256/ or fan-out dir instead of storing or deleting through it", async () => {
    const users = await tempDir("users-blobs");
    try {
      await mkdir(join(dir, "sha256"));
      await symlink(users, join(dir, "sha256", sha.slice(0, 2)));
      // A file of the user's that happens to bear the entry's name: never read as an entry, never deleted.
      await writeFile(join(users, sha), "not the content");
      await expect(cache.get(sha)).rejects.toThrow(/symlink/);
      await expect(cache.read(sha)).rejects.toThrow(/symlink/);
      await expect(cache.write(data)).rejects.toMatchObject({ exitCode: 3, message: expect.stringContaining(join(dir, "sha256", sha.slice(0, 2))) });
      expect(await readdir(users)).toEqual([sha]);
      expect(await readFile(join(users, sha), "utf8")).toBe("not the content");
    } finally {
      await removeDir(users);
    }
  });

  it("reads an entry through a symlink only when its bytes hash to the name, never writes or removes through it; never follows a ref's link", async () => {
    // A sandbox (Bazel links every input file into the action's tree) presents a cache this way.
    const users = await tempDir("users-files");
    try {
      const target = join(users, "keep.txt");
      await writeFile(target, Buffer.from(data));
      await mkdir(join(dir, "sha256", sha.slice(0, 2)), { recursive: true });
      await symlink(target, cache.pathFor(sha));
      expect(await cache.read(sha)).toEqual(Buffer.from(data));
      expect(await cache.get(sha)).toBe(cache.pathFor(sha));

      // A link to other bytes is no entry, and discarding it removes neither the link's target nor anything else of the user's.
      const other = Buffer.from("not the content the name says");
      const wrong = join(users, "wrong.txt");
      await writeFile(wrong, other);
      const otherSha = sha256Hex("something else");
      await mkdir(join(dir, "sha256", otherSha.slice(0, 2)), { recursive: true });
      await symlink(wrong, cache.pathFor(otherSha));
      expect(await cache.read(otherSha)).toBeUndefined();
      expect(await cache.get(otherSha)).toBeUndefined();
      expect(await readFile(wrong)).toEqual(other);

      // Storing replaces the link itself with a real file; the target keeps its bytes.
      await cache.write(data);
      expect((await lstat(cache.pathFor(sha))).isFile()).toBe(true);
      expect(await readFile(target)).toEqual(Buffer.from(data));

      const refTarget = join(users, "ref.json");
      const key = "k";
      await writeFile(refTarget, JSON.stringify({ key, sha256: sha }) + "\n");
      await mkdir(join(dir, "refs"));
      await symlink(refTarget, join(dir, "refs", sha256Hex(key)));
      expect(await cache.getRef(key)).toBeUndefined();
      await cache.setRef(key, sha256Hex("other"));
      expect((await cache.getRef(key))?.sha256).toBe(sha256Hex("other"));
      expect(JSON.parse(await readFile(refTarget, "utf8"))).toEqual({ key, sha256: sha });
    } finally {
      await removeDir(users);
    }
  });

  it("reads a directory or fifo in the place of an entry or ref as none, without blocking", async () => {
    await mkdir(join(dir, "sha256", sha.slice(0, 2)), { recursive: true });
    await mkdir(cache.pathFor(sha));
    expect(await cache.get(sha)).toBeUndefined();
    expect(await cache.read(sha)).toBeUndefined();
    await mkdir(join(dir, "refs"));
    await must("mkfifo", [join(dir, "refs", sha256Hex("k"))]);
    expect(await cache.getRef("k")).toBeUndefined();
    await cache.setRef("k", sha);
    expect((await cache.getRef("k"))?.sha256).toBe(sha);
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
    expect((await cache.getRef(key))?.sha256).toBe(sha);
    const other = sha256Hex("other");
    await cache.setRef(key, other);
    expect((await cache.getRef(key))?.sha256).toBe(other);
    expect(await cache.getRef(key + "x")).toBeUndefined();
    const refFile = join(dir, "refs", sha256Hex(key));
    expect(JSON.parse(await readFile(refFile, "utf8"))).toEqual({ key, sha256: other });
    await writeFile(refFile, "garbage");
    expect(await cache.getRef(key)).toBeUndefined();
  });
});
