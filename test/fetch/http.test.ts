import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NetworkError } from "../../src/model/errors.js";
import { HttpClient } from "../../src/fetch/http.js";
import { parseMinThroughput } from "../../src/fetch/throughput.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { bytesOf, removeDir, tempDir, writeTree } from "./helpers.js";

const big = bytesOf(300_000, 7);
let root: string;
let server: TestServer;
const clients: HttpClient[] = [];

/** The whole body, through get() as the Fetcher reads it: a restarted attempt discards what came before. */
async function getBytes(c: HttpClient, url: string): Promise<Uint8Array> {
  let chunks: Uint8Array[] = [];
  await c.get(
    url,
    (chunk) => {
      chunks.push(chunk);
    },
    () => {
      chunks = [];
    },
  );
  return Buffer.concat(chunks);
}

/** A client with test-sized timeouts; closed after each test. */
function client(opts: ConstructorParameters<typeof HttpClient>[0] = {}): HttpClient {
  const c = new HttpClient({ timeoutMs: 300, backoffMs: 10, retries: 2, ...opts });
  clients.push(c);
  return c;
}

/** How many requests the server has seen for `path`. */
function hits(path: string): number {
  return server.requests.filter((p) => p === path).length;
}

async function failure(p: Promise<unknown>): Promise<NetworkError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(NetworkError);
  return e as NetworkError;
}

beforeAll(async () => {
  root = await tempDir("http");
  const files: Record<string, Uint8Array> = { "small.txt": new TextEncoder().encode("small file\n"), "big.bin": big };
  for (let i = 0; i < 6; i++) files[`c/${i}.bin`] = bytesOf(1000, i + 1);
  await writeTree(root, files);
  server = await serveDirectory(root);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.requests.length = 0;
});
afterAll(async () => {
  await server.close();
  await removeDir(root);
});

describe("HttpClient", () => {
  it("downloads a body, streaming it to the sink with the Content-Length", async () => {
    const c = client();
    const chunks: Uint8Array[] = [];
    const starts: Array<number | undefined> = [];
    await c.get(`${server.url}/big.bin`, (ch) => void chunks.push(ch), (t) => starts.push(t));
    expect(Buffer.concat(chunks).equals(Buffer.from(big))).toBe(true);
    expect(starts).toEqual([big.length]);
    expect(Buffer.from(await getBytes(c, `${server.url}/small.txt`)).toString()).toBe("small file\n");
  });

  it("does not retry a 404 and reports its status, URL and attempts", async () => {
    const url = `${server.url}/nope.txt`;
    const e = await failure(getBytes(client(), url));
    expect(e.status).toBe(404);
    expect(e.url).toBe(url);
    expect(e.message).toContain(url);
    expect(e.message).toContain("1 attempt");
    expect(e.hint).toContain("--mirror");
    expect(hits("/nope.txt")).toBe(1);
  });

  it("does not retry other 4xx statuses", async () => {
    server.setFault("/small.txt", { status: 403 });
    try {
      const e = await failure(getBytes(client(), `${server.url}/small.txt`));
      expect(e.status).toBe(403);
      expect(hits("/small.txt")).toBe(1);
    } finally {
      server.setFault("/small.txt", undefined);
    }
  });

  it("retries 500 and succeeds on the third attempt, restarting onStart each time", async () => {
    server.setFault("/small.txt", { status: 500, times: 2 });
    const bytes = await getBytes(client(), `${server.url}/small.txt`);
    expect(Buffer.from(bytes).toString()).toBe("small file\n");
    expect(hits("/small.txt")).toBe(3);
    server.setFault("/small.txt", undefined);
  });

  it("retries 429", async () => {
    server.setFault("/small.txt", { status: 429, times: 1 });
    expect(Buffer.from(await getBytes(client(), `${server.url}/small.txt`)).toString()).toBe("small file\n");
    expect(hits("/small.txt")).toBe(2);
    server.setFault("/small.txt", undefined);
  });

  it("gives up after retries + 1 attempts on a persistent 500", async () => {
    server.setFault("/small.txt", { status: 500 });
    try {
      const e = await failure(getBytes(client({ retries: 3 }), `${server.url}/small.txt`));
      expect(e.status).toBe(500);
      expect(e.message).toContain("4 attempts");
      expect(hits("/small.txt")).toBe(4);
    } finally {
      server.setFault("/small.txt", undefined);
    }
  });

  it("retries a truncated body and delivers only the complete one", async () => {
    server.setFault("/big.bin", { truncate: 1000, times: 2 });
    const c = client();
    let chunks: Uint8Array[] = [];
    let starts = 0;
    await c.get(
      `${server.url}/big.bin`,
      (ch) => void chunks.push(ch),
      () => {
        starts++;
        chunks = [];
      },
    );
    expect(Buffer.concat(chunks).equals(Buffer.from(big))).toBe(true);
    expect(starts).toBe(3);
    expect(hits("/big.bin")).toBe(3);
    server.setFault("/big.bin", undefined);
  });

  it("fails a stalled body after the timeout, with one request per attempt", async () => {
    server.setFault("/big.bin", { stall: true });
    try {
      const e = await failure(getBytes(client({ retries: 1 }), `${server.url}/big.bin`));
      expect(e.status).toBeUndefined();
      expect(e.message).toContain("2 attempts");
      expect(hits("/big.bin")).toBe(2);
    } finally {
      server.setFault("/big.bin", undefined);
    }
  });

  it("fails a body that drips below the throughput floor (though every byte beats the stall timeout), after its retries", async () => {
    server.setFault("/big.bin", { dripMs: 20 });
    try {
      const c = client({ timeoutMs: 1000, retries: 1, minThroughput: { bytes: 1000, windowMs: 400 } });
      const e = await failure(getBytes(c, `${server.url}/big.bin`));
      expect(e.url).toBe(`${server.url}/big.bin`);
      expect(e.message).toMatch(new RegExp(`^cannot download ${server.url}/big.bin: too slow: \\d+ bytes in 0.4 s, below the floor of 1000 bytes per 0.4 s \\(after 2 attempts\\)$`));
      expect(hits("/big.bin")).toBe(2);
      // The same drip passes when the floor allows it: the rule, not the stall timer, ended it.
      const lenient = client({ timeoutMs: 1000, retries: 0, minThroughput: { bytes: 1, windowMs: 400 } });
      server.setFault("/small.txt", { dripMs: 20 });
      expect(Buffer.from(await getBytes(lenient, `${server.url}/small.txt`)).toString()).toBe("small file\n");
    } finally {
      server.setFault("/big.bin", undefined);
      server.setFault("/small.txt", undefined);
    }
  });

  it("reads the floor as BYTES/SECONDS, or 0 for none", () => {
    expect(parseMinThroughput("32768/30")).toEqual({ bytes: 32768, windowMs: 30_000 });
    expect(parseMinThroughput(" 100/0.5 ")).toEqual({ bytes: 100, windowMs: 500 });
    expect(parseMinThroughput("0")).toMatchObject({ bytes: 0 });
    for (const bad of ["", "10", "10/0", "-1/3", "1k/30", "10/30s"]) expect(parseMinThroughput(bad)).toBeUndefined();
  });

  it("times out waiting for headers, then succeeds when the server recovers", async () => {
    server.setFault("/small.txt", { delayMs: 2000, times: 1 });
    expect(Buffer.from(await getBytes(client(), `${server.url}/small.txt`)).toString()).toBe("small file\n");
    expect(hits("/small.txt")).toBe(2);
    server.setFault("/small.txt", undefined);
  });

  it("retries a connection reset, and reports a persistent one", async () => {
    server.setFault("/small.txt", { reset: true, times: 1 });
    expect(Buffer.from(await getBytes(client(), `${server.url}/small.txt`)).toString()).toBe("small file\n");
    expect(hits("/small.txt")).toBe(2);
    server.setFault("/small.txt", { reset: true });
    const e = await failure(getBytes(client(), `${server.url}/small.txt`));
    expect(e.message).toContain("3 attempts");
    expect(hits("/small.txt")).toBe(5);
    server.setFault("/small.txt", undefined);
  });

  it("retries a refused connection", async () => {
    const other = await serveDirectory(root);
    const url = `${other.url}/small.txt`;
    await other.close();
    const e = await failure(getBytes(client({ retries: 1 }), url));
    expect(e.message).toContain("2 attempts");
    expect(e.message).toContain("refused");
  });

  it("follows redirects, but at most 5 and no loops", async () => {
    server.setFault("/old.txt", { status: 302, headers: { location: "/small.txt" } });
    expect(Buffer.from(await getBytes(client(), `${server.url}/old.txt`)).toString()).toBe("small file\n");
    for (let i = 0; i < 7; i++) server.setFault(`/r${i}`, { status: 301, headers: { location: `/r${i + 1}` } });
    const e = await failure(getBytes(client(), `${server.url}/r0`));
    expect(e.message).toContain("too many redirects");
    // The first request and 5 redirects, then no retry.
    expect(server.requests.filter((p) => p.startsWith("/r"))).toEqual(["/r0", "/r1", "/r2", "/r3", "/r4", "/r5"]);
    server.setFault("/loop", { status: 307, headers: { location: "/loop" } });
    const loop = await failure(getBytes(client(), `${server.url}/loop`));
    expect(loop.message).toContain("redirect loop");
    expect(hits("/loop")).toBe(1);
    for (const p of ["/old.txt", "/loop", ...[0, 1, 2, 3, 4, 5, 6].map((i) => `/r${i}`)]) server.setFault(p, undefined);
  });

  it("refuses URLs other than http:, https: and file: without any request", async () => {
    const e = await failure(getBytes(client(), "ftp://archive.example.invalid/debian/InRelease"));
    expect(e.message).toContain("unsupported URL scheme ftp:");
    await failure(getBytes(client(), "not a url"));
    expect(server.requests).toEqual([]);
  });

  it("passes a sink's own error through unchanged and does not retry", async () => {
    const boom = new Error("disk full");
    const got = await client()
      .get(`${server.url}/big.bin`, () => {
        throw boom;
      })
      .catch((e: unknown) => e);
    expect(got).toBe(boom);
    expect(hits("/big.bin")).toBe(1);
  });

  it("keeps at most `concurrency` requests in flight across the client", async () => {
    // A server of its own, so that its in-flight count sees only this test's requests.
    const own = await serveDirectory(root);
    const paths = [0, 1, 2, 3, 4, 5].map((i) => `/c/${i}.bin`);
    for (const p of paths) own.setFault(p, { delayMs: 150 });
    try {
      const c = client({ concurrency: 2, timeoutMs: 5000 });
      const bodies = await Promise.all(paths.map((p) => getBytes(c, own.url + p)));
      bodies.forEach((b, i) => expect(Buffer.from(b).equals(Buffer.from(bytesOf(1000, i + 1)))).toBe(true));
      expect(own.maxInFlight).toBe(2);
      expect([...own.requests].sort()).toEqual(paths);
    } finally {
      await own.close();
    }
  });
});
