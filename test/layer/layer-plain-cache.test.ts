/**
 * The decompressed control.tar and data.tar kept in the cache by the digests the lock records: a second build reads them instead
 * of decoding xz again and gives the same bytes; a corrupted stored copy is noticed (re-hashed)
 * and replaced, never used.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { layerArchive, PROJECT } from "./fixture.js";
import { lockWith, removeDir, tempDir, writeProject } from "./helpers.js";
import { runLayer } from "../../src/commands/layer.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { silentProgress } from "../../src/fetch/progress.js";
import type { Lockfile } from "../../src/model/lock.js";

let work: string;
let server: TestServer;
let project: Awaited<ReturnType<typeof writeProject>>;

beforeAll(async () => {
  work = await tempDir("scratch-plain-");
  const made = await layerArchive(work);
  server = await serveDirectory(made.www);
  project = await writeProject(join(work, "project"), made.key.armoredPublicKey, PROJECT);
  await lockWith({ config: project.config, lockfile: project.lockfile, cache: project.cache, mirrors: [server.url] });
});
afterAll(async () => {
  await server?.close();
  await removeDir(work);
});

async function build(out: string) {
  const http = new HttpClient({ retries: 0 });
  const cache = new ContentCache(project.cache);
  try {
    return await runLayer({
      lockfile: project.lockfile, arches: ["amd64"], output: out, compress: "none", check: false,
      mirrors: [], envMirror: undefined, aptSources: undefined, cache,
      // From the decoded members every time: a layer kept in the cache would skip them.
      rebuild: true,
      fetcher: new Fetcher({ cache, http, offline: true, progress: silentProgress }),
    });
  } finally {
    await http.close();
  }
}

describe("decompressed .deb members kept in the cache", () => {
  it("is stored on the first build, used on the next, and a corrupt copy is never used", async () => {
    const lock = JSON.parse(await readFile(project.lockfile, "utf8")) as Lockfile;
    const cache = new ContentCache(project.cache);
    await build(join(work, "a.tar"));
    const pkg = lock.architectures.amd64!.packages[0]!;
    for (const member of ["control.tar", "data.tar"] as const) {
      const stored = await cache.get(pkg.decoded![member].sha256, pkg.decoded![member].size);
      expect(stored, `the decompressed ${member} is stored by the digest the lock records`).toBe(cache.pathFor(pkg.decoded![member].sha256));
    }

    await build(join(work, "b.tar"));
    expect(Buffer.compare(await readFile(join(work, "a.tar")), await readFile(join(work, "b.tar")))).toBe(0);

    // Corrupt every stored tar: the build must notice (the cache re-hashes) and still match the lock.
    for (const sha of lock.architectures.amd64!.packages.flatMap((p) => [p.decoded!["control.tar"].sha256, p.decoded!["data.tar"].sha256])) {
      const path = cache.pathFor(sha);
      const bytes = await readFile(path);
      const mid = Math.floor(bytes.length / 2);
      bytes.writeUInt8(bytes.readUInt8(mid) ^ 0x55, mid);
      await writeFile(path, bytes);
    }
    const [r] = await build(join(work, "c.tar"));
    expect(r!.diffId).toBe(lock.architectures.amd64!.layer.diffId);
    expect(Buffer.compare(await readFile(join(work, "a.tar")), await readFile(join(work, "c.tar")))).toBe(0);
    expect((await readdir(join(project.cache, "tmp"))).filter((f) => f.endsWith(".part"))).toEqual([]);
  });
});
