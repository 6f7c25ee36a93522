/**
 * The per-user key outside the cache and the MAC'd refs of derived entries: a ref is believed
 * only when its MAC, under this user's key, binds its name to its content's sha256. Anything
 * else — another user's key, a retargeted or renamed ref, a key that is a link or open to
 * others, no key at all — is a miss, never an error.
 */
import { chmod, mkdir, readFile, readdir, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContentCache } from "../../src/fetch/cache.js";
import { defaultCacheKeyFile, loadCacheKey } from "../../src/fetch/cache-key.js";
import { DerivedRefs } from "../../src/fetch/derived-refs.js";
import { sha256Hex } from "../../src/util/hash.js";
import { removeDir, tempDir } from "./helpers.js";

let work: string;
let n = 0;
const fresh = (name: string) => join(work, `${n++}-${name}`);

beforeAll(async () => {
  work = await tempDir("derived-refs");
});
afterAll(async () => {
  await removeDir(work);
});

describe("the cache key", () => {
  it("lives under an absolute XDG_STATE_HOME, else ~/.local/state", () => {
    expect(defaultCacheKeyFile({ XDG_STATE_HOME: "/x/state", HOME: "/home/u" })).toBe("/x/state/scratch-pkgs/cache-key");
    expect(defaultCacheKeyFile({ XDG_STATE_HOME: "rel", HOME: "/home/u" })).toBe("/home/u/.local/state/scratch-pkgs/cache-key");
    expect(defaultCacheKeyFile({ HOME: "/home/u" })).toBe("/home/u/.local/state/scratch-pkgs/cache-key");
  });

  it("is made once, mode 0600 in a 0700 directory, and read back the same; no temp file is left", async () => {
    const file = join(fresh("state"), "scratch-pkgs", "cache-key");
    const [a, b] = await Promise.all([loadCacheKey(file), loadCacheKey(file)]);
    expect(a).toHaveLength(32);
    expect(b).toEqual(a);
    expect(await loadCacheKey(file)).toEqual(a);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(file, ".."))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(file, ".."))).toEqual(["cache-key"]);
  });

  it("is not used when it is a symlink, open to others, not a file, or cannot be made", async () => {
    const real = join(fresh("state"), "cache-key");
    const key = await loadCacheKey(real);
    expect(key).toHaveLength(32);
    const linked = join(fresh("linked"), "cache-key");
    await mkdir(join(linked, ".."), { mode: 0o700 });
    await symlink(real, linked);
    expect(await loadCacheKey(linked)).toBeUndefined();

    const open = join(fresh("open"), "cache-key");
    await mkdir(join(open, ".."));
    await writeFile(open, (key as Buffer).toString("hex") + "\n", { mode: 0o600 });
    await chmod(open, 0o644);
    expect(await loadCacheKey(open)).toBeUndefined();

    const dir = join(fresh("dir"), "cache-key");
    await mkdir(dir, { recursive: true });
    expect(await loadCacheKey(dir)).toBeUndefined();

    const blocked = fresh("a-file");
    await writeFile(blocked, "not a directory\n");
    expect(await loadCacheKey(join(blocked, "scratch-pkgs", "cache-key"))).toBeUndefined();
    // Nothing it refused was changed.
    expect(await readFile(open, "utf8")).toBe((key as Buffer).toString("hex") + "\n");
  });
});

describe("derived refs", () => {
  const refFile = (cache: string, name: string) => join(cache, "refs", sha256Hex(name));

  it("give back what this user stored, and nothing another key, a retargeted or a renamed ref vouches for", async () => {
    const cache = fresh("cache");
    const keyFile = join(fresh("state"), "cache-key");
    const refs = new DerivedRefs(new ContentCache(cache), keyFile);
    await refs.set("resolution:a", "result a\n");
    expect((await refs.get("resolution:a"))?.bytes.toString()).toBe("result a\n");
    expect(await new DerivedRefs(new ContentCache(cache), join(fresh("other"), "cache-key")).get("resolution:a")).toBeUndefined();

    const stored = JSON.parse(await readFile(refFile(cache, "resolution:a"), "utf8")) as { key: string; sha256: string; mac: string };
    expect(stored.mac).toMatch(/^[0-9a-f]{64}$/);
    // The same MAC on other content, or under another name, vouches for nothing.
    const other = await new ContentCache(cache).write("forged\n");
    await writeFile(refFile(cache, "resolution:a"), JSON.stringify({ ...stored, sha256: other }));
    expect(await refs.get("resolution:a")).toBeUndefined();
    await writeFile(refFile(cache, "resolution:b"), JSON.stringify({ ...stored, key: "resolution:b" }));
    expect(await refs.get("resolution:b")).toBeUndefined();
    // A ref without a MAC (what an older scratch-pkgs wrote) is a miss, and the next store replaces it.
    await writeFile(refFile(cache, "resolution:a"), JSON.stringify({ key: "resolution:a", sha256: stored.sha256 }));
    expect(await refs.get("resolution:a")).toBeUndefined();
    await refs.set("resolution:a", "result a\n");
    expect((await refs.get("resolution:a"))?.sha256).toBe(stored.sha256);
  });

  it("store and reuse nothing without a usable key", async () => {
    const cache = fresh("cache");
    const blocked = fresh("a-file");
    await writeFile(blocked, "not a directory\n");
    const refs = new DerivedRefs(new ContentCache(cache), join(blocked, "cache-key"));
    await refs.set("layer:x", "result\n");
    expect(await refs.get("layer:x")).toBeUndefined();
    expect(await readdir(cache).catch(() => [])).toEqual([]);
  });
});
