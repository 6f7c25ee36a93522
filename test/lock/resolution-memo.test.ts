// A resolution is memoised under the pins it was made with (the old lock's versions), and a lock
// also memoises the resolution the next run will ask for: the one pinned to what it writes. So
// `lock --check` right after `lock` (or after `lock --update`) parses no index, and still gives
// what resolving the indexes gives.
import { join } from "node:path";
import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { ResolutionMemo } from "../../src/lock/memo.js";
import { runLock } from "../../src/commands/lock.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";
import { KEY_DATE, V, buildTwoSuites, removeDir, tempDir, versions, writeProject } from "./helpers.js";

// Counts the Packages indexes parsed: a memo hit parses none.
const parsed = vi.hoisted(() => ({ count: 0 }));
vi.mock("../../src/lock/indexes.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/lock/indexes.js")>();
  return {
    ...real,
    readIndexes: (...args: Parameters<typeof real.readIndexes>) => {
      parsed.count += args[1].length;
      return real.readIndexes(...args);
    },
  };
});

let work: string;
let key: TestKey;
let server: TestServer;
let n = 0;

beforeAll(async () => {
  work = await tempDir("resolution-memo");
  key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
  await Promise.all([buildTwoSuites(join(work, "www", "v1"), key, "v1"), buildTwoSuites(join(work, "www", "v2"), key, "v2")]);
  server = await serveDirectory(join(work, "www"));
});

afterAll(async () => {
  await server?.close();
  if (work) await removeDir(work);
});

beforeEach(() => {
  parsed.count = 0;
});

/** A project with its own cache and user key; `lock` runs runLock (the command's code) on it. */
async function project() {
  const dir = join(work, `p${n++}`);
  const p = await writeProject(dir, key, { policy: "closure", packages: ["hello"] });
  const cache = new ContentCache(join(dir, "cache"));
  const keyFile = join(dir, "state", "cache-key");
  const lock = async (o: { archive: "v1" | "v2"; check?: boolean; update?: true | string[] }) => {
    const http = new HttpClient({ timeoutMs: 2000, backoffMs: 10, retries: 1 });
    const fetcher = new Fetcher({ cache, http, offline: false, progress: silentProgress });
    try {
      return await runLock({
        config: p.config,
        lockfile: p.lockfile,
        check: o.check ?? false,
        update: o.update,
        mirrors: [`${server.url}/${o.archive}`],
        envMirror: undefined,
        aptSources: undefined,
        fetcher,
        blobs: cache,
        memo: new ResolutionMemo(cache, { keyFile }),
        now: new Date(),
        note: () => {},
      });
    } finally {
      await http.close();
    }
  };
  return { ...p, lock };
}

describe("lock: the resolution the next run asks for is memoised", () => {
  it("a first lock, then --check: no index parsed, and the lock is current", async () => {
    const p = await project();
    const cold = await p.lock({ archive: "v1" });
    // Both architectures, each from stable and stable-updates.
    expect(parsed.count).toBe(4);
    parsed.count = 0;
    const check = await p.lock({ archive: "v1", check: true });
    expect(parsed.count).toBe(0);
    expect(check.text).toBe(cold.text);
    expect(await readFile(p.lockfile, "utf8")).toBe(cold.text);
  });

  it("after lock --update of one package, the next --check parses nothing; a cache without the memo resolves the same lock", async () => {
    const p = await project();
    const v1 = await p.lock({ archive: "v1" });
    // The archive moved on: --update libc6 takes its new version, the rest keep v1's pins
    // (stable still has them; stable-updates has newer tzdata and ca-certificates too).
    parsed.count = 0;
    const updated = await p.lock({ archive: "v2", update: ["libc6"] });
    expect(parsed.count).toBe(4);
    expect(versions(updated.lock, "amd64")).toMatchObject({ libc6: V.libc6Update2, tzdata: V.tzdata, "ca-certificates": V.ca });
    expect(versions(v1.lock, "amd64")).toMatchObject({ libc6: V.libc6Update, tzdata: V.tzdata, "ca-certificates": V.ca });
    parsed.count = 0;
    const check = await p.lock({ archive: "v2", check: true });
    expect(parsed.count).toBe(0);
    expect(check.text).toBe(updated.text);
    // The memoised answer is what resolving gives: a project with an empty cache, the same lock on disk.
    const fresh = await project();
    await writeFile(fresh.lockfile, updated.text);
    parsed.count = 0;
    const resolved = await fresh.lock({ archive: "v2", check: true });
    expect(parsed.count).toBe(4);
    expect(resolved.text).toBe(updated.text);
  });
});
