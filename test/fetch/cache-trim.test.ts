// The cache trims what nobody used for the trim age, at most once a day, and only its own
// regular files: entries and refs in use have their mtime refreshed (at most once an hour), a
// symlink planted in the cache and the file it points at are left alone, and so is anything
// not named like an entry.
import { lstat, mkdir, readFile, stat, symlink, utimes, writeFile, lutimes } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContentCache } from "../../src/fetch/cache.js";
import { openFetchSession } from "../../src/fetch/session.js";
import { isUnused } from "../../src/fetch/cache-trim.js";
import { sha256Hex } from "../../src/util/hash.js";
import { removeDir, tempDir } from "./helpers.js";

const DAY = 24 * 3600 * 1000;
const T0 = Date.UTC(2026, 10, 1);
const exists = (p: string) => lstat(p).then(() => true, () => false);
const mtime = async (p: string) => (await lstat(p)).mtimeMs;
/** Set a file's mtime `days` before `at`. */
const age = (p: string, days: number, at: number) => utimes(p, new Date(at - days * DAY), new Date(at - days * DAY));

describe("cache trim", () => {
  let dir: string;
  let clock: number;
  let cache: ContentCache;

  beforeEach(async () => {
    dir = await tempDir("cache-trim");
    clock = T0;
    cache = new ContentCache(join(dir, "cache"), { now: () => clock });
  });
  afterEach(async () => removeDir(dir));

  it("removes entries and refs unused for 30 days, keeps what a run used, and walks at most once a day", async () => {
    const unused = await cache.write("nobody asks for me");
    const used = await cache.write("asked for daily");
    const recent = await cache.write("stored last week");
    await cache.setRef("https://example.invalid/InRelease", used);
    await cache.setRef("https://example.invalid/old", unused);
    const refs = join(dir, "cache", "refs");
    const usedRef = join(refs, sha256Hex("https://example.invalid/InRelease"));
    const oldRef = join(refs, sha256Hex("https://example.invalid/old"));
    for (const p of [cache.pathFor(unused), cache.pathFor(used), usedRef, oldRef]) await age(p, 40, T0);
    await age(cache.pathFor(recent), 7, T0);
    // A file of someone else's beside the entries, and a link planted with an entry's name.
    const stranger = join(dir, "cache", "sha256", unused.slice(0, 2), "notes.txt");
    await writeFile(stranger, "mine");
    await age(stranger, 400, T0);
    const target = join(dir, "user-file");
    await writeFile(target, "the user's");
    await age(target, 400, T0);
    const link = cache.pathFor(sha256Hex("linked"));
    await mkdir(join(link, ".."), { recursive: true });
    await symlink(target, link);
    await lutimes(link, new Date(T0 - 400 * DAY), new Date(T0 - 400 * DAY));

    // A run uses one entry and one ref: their mtimes move to now.
    expect(await cache.get(used)).toBe(cache.pathFor(used));
    expect(await cache.getRef("https://example.invalid/InRelease")).toEqual({ sha256: used });
    expect(await mtime(cache.pathFor(used))).toBe(T0);
    expect(await mtime(usedRef)).toBe(T0);

    expect(await cache.trim()).toBe(2);
    expect(await exists(cache.pathFor(unused))).toBe(false);
    expect(await exists(oldRef)).toBe(false);
    for (const p of [cache.pathFor(used), cache.pathFor(recent), usedRef, stranger, link, target]) expect(await exists(p), p).toBe(true);
    expect(await readFile(target, "utf8")).toBe("the user's");
    expect(await mtime(target)).toBe(T0 - 400 * DAY);

    // Once a day: an entry gone stale an hour later stays until the next day's trim.
    await age(cache.pathFor(recent), 31, T0);
    clock = T0 + 3600 * 1000;
    expect(await cache.trim()).toBe(0);
    expect(await exists(cache.pathFor(recent))).toBe(true);
    clock = T0 + DAY;
    expect(await cache.trim()).toBe(1);
    expect(await exists(cache.pathFor(recent))).toBe(false);
  });

  it("touches a used entry at most once an hour, never through a link; 0 days never trims", async () => {
    const sha = await cache.write("content");
    await age(cache.pathFor(sha), 0.01, T0); // 14 minutes ago
    const before = await mtime(cache.pathFor(sha));
    expect(await cache.read(sha)).toBeDefined();
    expect(await mtime(cache.pathFor(sha)), "used within the hour: not written again").toBe(before);

    const keep = new ContentCache(join(dir, "cache"), { now: () => T0 + 365 * DAY, trimDays: 0 });
    expect(await keep.trim()).toBe(0);
    expect(await exists(cache.pathFor(sha))).toBe(true);
    expect(isUnused({ name: sha, isRegularFile: true, mtimeMs: 0 }, T0, 0)).toBe(false);
    expect(isUnused({ name: sha, isRegularFile: false, mtimeMs: 0 }, T0, 30)).toBe(false);
    expect(isUnused({ name: "x".repeat(64), isRegularFile: true, mtimeMs: 0 }, T0, 30)).toBe(false);
    expect(isUnused({ name: sha, isRegularFile: true, mtimeMs: T0 - 30 * DAY }, T0, 30)).toBe(true);
  });

  it("runs when a fetch session closes, with the days it was given", async () => {
    const cacheDir = join(dir, "session-cache");
    const first = openFetchSession({ cacheDir });
    const sha = await first.cache.write("old");
    await first.close();
    await age(first.cache.pathFor(sha), 10, Date.now());
    // The first close marked the trim as done today; a marker two days old lets the next one walk.
    await writeFile(join(cacheDir, "trim.txt"), `${Date.now() - 2 * DAY}\n`);
    const keep = openFetchSession({ cacheDir, cacheTrimDays: 30 });
    await keep.close();
    expect(await exists(first.cache.pathFor(sha)), "10 days < 30").toBe(true);
    await writeFile(join(cacheDir, "trim.txt"), `${Date.now() - 2 * DAY}\n`);
    const trim = openFetchSession({ cacheDir, cacheTrimDays: 7 });
    await trim.close();
    expect(await exists(first.cache.pathFor(sha))).toBe(false);
    expect((await stat(join(cacheDir, "trim.txt"))).isFile()).toBe(true);
  });
});
