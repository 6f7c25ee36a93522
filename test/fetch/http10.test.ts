// HttpClient against servers that speak HTTP/1.0 and close after every response, with and
// without Content-Length. A slow sink makes undici's parser want to pause mid-body; with undici
// 7 a close at that moment used to throw an uncaught AssertionError (nodejs/undici#5360).
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NetworkError } from "../../src/model/errors.js";
import { HttpClient } from "../../src/fetch/http.js";
import { serveHttp10, type Http10Server } from "../fixtures/http10-server.js";
import { bytesOf, removeDir, tempDir, writeTree } from "./helpers.js";

const SIZE = 6 * 1024 * 1024;
const big = bytesOf(SIZE, 3);
const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
let root: string;
const servers: Record<"length" | "close", Http10Server> = {} as never;
const clients: HttpClient[] = [];

/** Downloads `url` with a sink that waits a millisecond on every chunk, so the socket outruns it. */
async function slowGet(url: string): Promise<Buffer> {
  const c = new HttpClient({ timeoutMs: 5000, backoffMs: 10, retries: 1 });
  clients.push(c);
  let chunks: Uint8Array[] = [];
  await c.get(
    url,
    async (chunk) => {
      chunks.push(chunk);
      await new Promise((ok) => setTimeout(ok, 1));
    },
    () => {
      chunks = [];
    },
  );
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  root = await tempDir("http10");
  await writeTree(root, { "big.bin": big, "small.txt": new TextEncoder().encode("small\n") });
  servers.length = await serveHttp10(root, { contentLength: true });
  servers.close = await serveHttp10(root, { contentLength: false });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  servers.length.truncate("/big.bin", undefined);
});
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
  await removeDir(root);
});

describe.each(["length", "close"] as const)("HTTP/1.0 server, body delimited by %s", (kind) => {
  it("delivers a several-MB body to a slow sink, every time, and small ones in parallel", async () => {
    const s = servers[kind];
    for (let i = 0; i < 4; i++) {
      const [a, b, c] = await Promise.all([slowGet(`${s.url}/big.bin`), slowGet(`${s.url}/big.bin`), slowGet(`${s.url}/small.txt`)]);
      expect(sha(a)).toBe(sha(big));
      expect(sha(b)).toBe(sha(big));
      expect(c.toString()).toBe("small\n");
    }
  });

  it("reports a 404 as a NetworkError naming the URL", async () => {
    const url = `${servers[kind].url}/missing.bin`;
    const e = await slowGet(url).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as NetworkError).message).toContain(url);
    expect((e as NetworkError).exitCode).toBe(3);
  });
});

it("a close mid-body with a Content-Length is a NetworkError naming the URL, after retrying", async () => {
  const s = servers.length;
  s.truncate("/big.bin", SIZE / 2);
  const url = `${s.url}/big.bin`;
  const before = s.requests.length;
  const e = await slowGet(url).then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(NetworkError);
  expect((e as NetworkError).message).toContain(url);
  expect((e as NetworkError).exitCode).toBe(3);
  expect(s.requests.length - before).toBe(2);
});
