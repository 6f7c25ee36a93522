import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:http";
import { symlink } from "node:fs/promises";
import { join } from "node:path";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { removeDir, tempDir, writeTree } from "./helpers.js";

/** A raw request, so that paths reach the server exactly as written (no client-side normalising). */
function raw(server: TestServer, method: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const { port } = new URL(server.url);
  return new Promise((ok, fail) => {
    const req = request({ host: "127.0.0.1", port: Number(port), method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", fail);
    });
    req.on("error", fail);
    req.end();
  });
}

describe("test server", () => {
  let base: string;
  let server: TestServer;
  beforeAll(async () => {
    base = await tempDir("server");
    await writeTree(base, { "root/dists/a.txt": "hello\n", "secret.txt": "outside\n" });
    await symlink(join(base, "secret.txt"), join(base, "root/escape.txt"));
    server = await serveDirectory(join(base, "root"));
  });
  afterAll(async () => {
    await server.close();
    await removeDir(base);
  });

  it("serves files with GET and HEAD and records request paths", async () => {
    const get = await raw(server, "GET", "/dists/a.txt");
    expect(get.status).toBe(200);
    expect(get.body.toString()).toBe("hello\n");
    const head = await raw(server, "HEAD", "/dists/a.txt");
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe("6");
    expect(head.body.length).toBe(0);
    expect(server.requests.slice(-2)).toEqual(["/dists/a.txt", "/dists/a.txt"]);
  });

  it("answers 404 for missing files, directories, traversal and symlinks leaving the root", async () => {
    for (const p of ["/missing", "/dists", "/../secret.txt", "/dists/%2e%2e/%2e%2e/secret.txt", "/escape.txt", "/%00"]) {
      const r = await raw(server, "GET", p);
      expect(r.status, p).toBe(404);
      expect(r.body.toString()).not.toContain("outside");
    }
  });

  it("applies a fault the given number of times, then serves normally", async () => {
    server.setFault("/dists/a.txt", { status: 503, times: 1 });
    expect((await raw(server, "GET", "/dists/a.txt")).status).toBe(503);
    expect((await raw(server, "GET", "/dists/a.txt")).status).toBe(200);
    server.setFault("/dists/a.txt", { body: new TextEncoder().encode("other") });
    expect((await raw(server, "GET", "/dists/a.txt")).body.toString()).toBe("other");
    server.setFault("/dists/a.txt", undefined);
    expect((await raw(server, "GET", "/dists/a.txt")).body.toString()).toBe("hello\n");
  });

  it("close() ends a stalled response", async () => {
    const own = await serveDirectory(join(base, "root"));
    own.setFault("/dists/a.txt", { stall: true });
    const pending = raw(own, "GET", "/dists/a.txt").then(
      () => "finished",
      () => "failed",
    );
    // Wait until the request has arrived, then close the server under it.
    while (own.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await own.close();
    expect(["finished", "failed"]).toContain(await pending);
  });
});
