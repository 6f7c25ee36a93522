import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { NetworkError, VerificationError } from "../../src/model/errors.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher, openVerified } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress, type Progress } from "../../src/fetch/progress.js";
import { sha256Hex } from "../../src/util/hash.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { bytesOf, compileForNode, removeDir, tempDir, writeTree } from "./helpers.js";

const deb = bytesOf(200_000, 11);
const debSha = sha256Hex(deb);
const inRelease = new TextEncoder().encode("Origin: Test\nSuite: test\n");
let root: string;
let server: TestServer;

beforeAll(async () => {
  root = await tempDir("fetcher-root");
  await writeTree(root, { "pool/a.deb": deb, "dists/test/InRelease": inRelease });
  server = await serveDirectory(root);
});
afterAll(async () => {
  await server.close();
  await removeDir(root);
});

describe("Fetcher", () => {
  let cacheDir: string;
  let cache: ContentCache;
  let http: HttpClient;

  function fetcher(offline = false, progress: Progress = silentProgress): Fetcher {
    return new Fetcher({ cache, http, offline, progress });
  }
  const pinned = (over: Partial<{ urls: string[]; sha256: string; size: number }> = {}) => ({
    urls: [`${server.url}/pool/a.deb`],
    sha256: debSha,
    size: deb.length,
    label: "a.deb",
    ...over,
  });
  const debHits = () => server.requests.filter((p) => p === "/pool/a.deb").length;
  async function cachedEntries(): Promise<string[]> {
    const sub = await readdir(join(cacheDir, "sha256")).catch(() => [] as string[]);
    const out: string[] = [];
    for (const s of sub) out.push(...(await readdir(join(cacheDir, "sha256", s))));
    return out;
  }
  async function reject<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T): Promise<T> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(type);
    return e as T;
  }

  beforeEach(async () => {
    cacheDir = await tempDir("fetcher-cache");
    cache = new ContentCache(cacheDir);
    http = new HttpClient({ timeoutMs: 2000, backoffMs: 10, retries: 2 });
    server.requests.length = 0;
  });
  afterEach(async () => {
    await http.close();
    await removeDir(cacheDir);
  });

  it("downloads pinned content into the cache, then serves hits without a request", async () => {
    const advanced: number[] = [];
    const progress: Progress = {
      phase: () => {},
      task: (label, total, url) => {
        expect([label, total, url]).toEqual(["a.deb", deb.length, `${server.url}/pool/a.deb`]);
        return { advance: (n) => void advanced.push(n), done: () => {} };
      },
      close: () => {},
    };
    const path = await fetcher(false, progress).fetchPinned(pinned());
    expect(path).toBe(cache.pathFor(debSha));
    expect(Buffer.from(await readFile(path)).equals(Buffer.from(deb))).toBe(true);
    expect(advanced.reduce((a, b) => a + b, 0)).toBe(deb.length);
    expect(debHits()).toBe(1);
    expect(await fetcher().fetchPinned(pinned())).toBe(path);
    expect(await fetcher(true).fetchPinned(pinned())).toBe(path);
    expect(debHits()).toBe(1);
    expect(await readdir(join(cacheDir, "tmp"))).toEqual([]);
  });

  it("rejects a wrong sha256 with a VerificationError and caches nothing", async () => {
    const wrong = sha256Hex("something else");
    const e = await reject(fetcher().fetchPinned(pinned({ sha256: wrong })), VerificationError);
    expect(e.message).toContain(`${server.url}/pool/a.deb`);
    expect(e.message).toContain(wrong);
    expect(e.message).toContain(debSha);
    expect(debHits()).toBe(1); // not retried
    expect(await cachedEntries()).toEqual([]);
    expect(await readdir(join(cacheDir, "tmp"))).toEqual([]);
  });

  it("rejects a wrong size (shorter or longer than pinned) and caches nothing", async () => {
    const e = await reject(fetcher().fetchPinned(pinned({ size: deb.length + 1 })), VerificationError);
    expect(e.message).toContain(String(deb.length + 1));
    expect(e.message).toContain(String(deb.length));
    await reject(fetcher().fetchPinned(pinned({ size: deb.length - 1 })), VerificationError);
    expect(await cachedEntries()).toEqual([]);
    expect(await readdir(join(cacheDir, "tmp"))).toEqual([]);
  });

  it("does not try the next URL after a VerificationError", async () => {
    server.setFault("/pool/bad.deb", { body: bytesOf(deb.length, 99) });
    try {
      await reject(fetcher().fetchPinned(pinned({ urls: [`${server.url}/pool/bad.deb`, `${server.url}/pool/a.deb`] })), VerificationError);
      expect(debHits()).toBe(0);
    } finally {
      server.setFault("/pool/bad.deb", undefined);
    }
  });

  it("falls back to the next URL after a NetworkError", async () => {
    const path = await fetcher().fetchPinned(pinned({ urls: [`${server.url}/mirror/missing.deb`, `${server.url}/pool/a.deb`] }));
    expect(path).toBe(cache.pathFor(debSha));
    expect(server.requests).toEqual(["/mirror/missing.deb", "/pool/a.deb"]);
  });

  it("reports every URL when all fail, keeping a common status", async () => {
    const e = await reject(fetcher().fetchPinned(pinned({ urls: [`${server.url}/m1/x.deb`, `${server.url}/m2/x.deb`] })), NetworkError);
    expect(e.status).toBe(404);
    expect(e.message).toContain("/m1/x.deb");
    expect(e.message).toContain("/m2/x.deb");
  });

  it("asks the fallback only when every URL answered 404, after them; its hint replaces the error's", async () => {
    const asked: string[] = [];
    const gone = (answer: { urls: string[] } | { hint: string }) => fetcher().withFallback(async (req) => (asked.push(req.sha256), answer));
    const path = await gone({ urls: [`${server.url}/pool/a.deb`] }).fetchPinned(pinned({ urls: [`${server.url}/m1/x.deb`] }));
    expect(path).toBe(cache.pathFor(debSha));
    expect(asked).toEqual([debSha]);
    expect(server.requests).toEqual(["/m1/x.deb", "/pool/a.deb"]);

    const e = await reject(gone({ hint: "pass --snapshot-fallback" }).fetchPinned(pinned({ urls: [`${server.url}/m1/y.deb`], sha256: sha256Hex("y") })), NetworkError);
    expect([e.status, e.hint]).toEqual([404, "pass --snapshot-fallback"]);
    expect(e.message).toContain("/m1/y.deb");
    // A server that fails (not "not found") says nothing about where the file went: no fallback.
    server.setFault("/m1/z.deb", { status: 503, times: 10 });
    asked.length = 0;
    await reject(gone({ urls: [`${server.url}/pool/a.deb`] }).fetchPinned(pinned({ urls: [`${server.url}/m1/z.deb`], sha256: sha256Hex("z") })), NetworkError);
    expect(asked).toEqual([]);
    server.setFault("/m1/z.deb", undefined);
  });

  it("reads a file: mirror (a local directory) with the same verification, falling back past a missing file", async () => {
    const fileUrl = (rel: string) => pathToFileURL(join(root, rel)).href;
    const path = await fetcher().fetchPinned(pinned({ urls: [fileUrl("mirror/missing.deb"), fileUrl("pool/a.deb")] }));
    expect(path).toBe(cache.pathFor(debSha));
    expect(Buffer.from(await readFile(path)).equals(Buffer.from(deb))).toBe(true);
    expect(server.requests).toEqual([]);
    await removeDir(cacheDir);
    cache = new ContentCache(cacheDir);
    const wrong = sha256Hex("something else");
    const bad = await reject(fetcher().fetchPinned(pinned({ urls: [fileUrl("pool/a.deb")], sha256: wrong })), VerificationError);
    expect(bad.message).toContain(fileUrl("pool/a.deb"));
    expect(await cachedEntries()).toEqual([]);
    const missing = await reject(fetcher().fetchPinned(pinned({ urls: [fileUrl("m1/x.deb"), fileUrl("pool")] })), NetworkError);
    expect(missing.message).toContain(fileUrl("m1/x.deb"));
    expect(missing.message).toContain("not found");
    expect(missing.message).toContain(fileUrl("pool")); // a directory, not a file: EISDIR
  });

  it("re-downloads a corrupt cache entry", async () => {
    const path = await fetcher().fetchPinned(pinned());
    await writeFile(path, bytesOf(deb.length, 5));
    expect(await fetcher().fetchPinned(pinned())).toBe(path);
    expect(sha256Hex(await readFile(path))).toBe(debSha);
    expect(debHits()).toBe(2);
  });

  it("retries a truncated download and stores only the complete file", async () => {
    server.setFault("/pool/a.deb", { truncate: 50_000, times: 1 });
    try {
      const path = await fetcher().fetchPinned(pinned());
      expect(sha256Hex(await readFile(path))).toBe(debSha);
      expect(debHits()).toBe(2);
    } finally {
      server.setFault("/pool/a.deb", undefined);
    }
  });

  it("offline and not cached: a NetworkError saying to run without --offline, and no request", async () => {
    const e = await reject(fetcher(true).fetchPinned(pinned()), NetworkError);
    expect(e.message).toContain("a.deb");
    expect(e.message).toContain("--offline");
    expect(e.hint).toContain("without --offline");
    await reject(fetcher(true).fetchUnpinned({ urls: [`${server.url}/dists/test/InRelease`], refKey: "k", label: "InRelease" }), NetworkError);
    expect(server.requests).toEqual([]);
  });

  it("unpinned content round-trips through its ref for offline use", async () => {
    const req = { urls: [`${server.url}/dists/test/InRelease`], refKey: "src:test/InRelease", label: "test InRelease" };
    const online = await fetcher().fetchUnpinned(req);
    expect(Buffer.from(online).equals(Buffer.from(inRelease))).toBe(true);
    expect((await cache.getRef(req.refKey))?.sha256).toBe(sha256Hex(inRelease));
    const offline = await fetcher(true).fetchUnpinned(req);
    expect(Buffer.from(offline).equals(Buffer.from(inRelease))).toBe(true);
    expect(server.requests).toEqual(["/dists/test/InRelease"]);
    // A tampered cached copy is never returned.
    await writeFile(cache.pathFor(sha256Hex(inRelease)), "Origin: Evil\n");
    await reject(fetcher(true).fetchUnpinned(req), NetworkError);
  });

  it("unpinned: a 404 is a NetworkError with status 404; oversized bodies are refused", async () => {
    const e = await reject(fetcher().fetchUnpinned({ urls: [`${server.url}/dists/test/Release.gpg`], refKey: "r", label: "Release.gpg" }), NetworkError);
    expect(e.status).toBe(404);
    expect(await cache.getRef("r")).toBeUndefined();
    await reject(fetcher().fetchUnpinned({ urls: [`${server.url}/pool/a.deb`], refKey: "big", label: "big", maxBytes: 1000 }), VerificationError);
    expect(await cache.getRef("big")).toBeUndefined();
  });

  it("openVerified streams a cached file and fails on changed content", async () => {
    const path = await fetcher().fetchPinned(pinned());
    const chunks: Uint8Array[] = [];
    for await (const c of openVerified(path)) chunks.push(c);
    expect(Buffer.concat(chunks).equals(Buffer.from(deb))).toBe(true);
    await writeFile(path, bytesOf(deb.length, 6));
    const read = async () => {
      for await (const _ of openVerified(path, debSha, deb.length)) void _;
    };
    await expect(read()).rejects.toBeInstanceOf(VerificationError);
  });

  it("two processes filling one cache with the same file at once both succeed", async () => {
    const buildDir = await tempDir("fetcher-child");
    try {
      const script = await compileForNode("test/fetch/child-fetch.ts", buildDir);
      // Hold every response a little so the three downloads overlap.
      server.setFault("/pool/a.deb", { delayMs: 300 });
      const url = `${server.url}/pool/a.deb`;
      const child = () =>
        new Promise<{ path?: string; error?: string }>((ok, fail) => {
          execFile(process.execPath, [script, cacheDir, url, debSha, String(deb.length)], { timeout: 30_000 }, (err, stdout, stderr) => {
            try {
              ok(JSON.parse(stdout) as { path?: string; error?: string });
            } catch {
              fail(new Error(`child failed: ${String(err)} ${stderr}`));
            }
          });
        });
      const [a, b, own] = await Promise.all([child(), child(), fetcher().fetchPinned(pinned())]);
      const path = cache.pathFor(debSha);
      expect(a).toEqual({ path });
      expect(b).toEqual({ path });
      expect(own).toBe(path);
      expect(sha256Hex(await readFile(path))).toBe(debSha);
      expect(await readdir(join(cacheDir, "tmp"))).toEqual([]);
      expect(debHits()).toBeGreaterThanOrEqual(1);
    } finally {
      server.setFault("/pool/a.deb", undefined);
      await removeDir(buildDir);
    }
  });
});
