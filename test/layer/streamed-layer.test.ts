// A layer with a member several times larger than a read chunk, built by buildLayer from a
// generated .deb: the member's bytes stay in the decoded data.tar (an extent, never a buffer),
// the built layer holds no tar, and the tar and gzip blob stream out in bounded chunks —
// checked against GNU tar, gzip and sha256sum, which read what was streamed. And a layer whose
// packages are read as they are added: a read that fails in the middle of the lock fails the
// build with that read's error, after every other read settled and released its decoded tar.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLayer } from "../../src/layer/build.js";
import { streamLayerBlobs } from "../../src/layer/blobs.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import type { LockedPackage } from "../../src/model/lock.js";
import { DebFormatError, readDeb } from "../../src/deb/read-deb.js";
import { buildDeb, type DebEntry } from "../fixtures/deb.js";
import { removeDir, sha256, tempDir } from "../lock/helpers.js";

const BIG = 5 * 1024 * 1024 + 123;
const CHUNK = 1 << 20;

let dir: string;
let big: Uint8Array;
let debPath: string;

beforeAll(async () => {
  dir = await tempDir("scratch-streamed-layer-");
  big = randomBytes(BIG);
  const deb = await buildDeb({
    control: { Package: "bigpkg", Version: "1.0", Architecture: "amd64", Maintainer: "T <t@test.invalid>", Description: "big" },
    files: [
      { path: "./usr/lib/big.bin", type: "file", content: big },
      { path: "./usr/lib/small.txt", type: "file", content: "small\n" },
      { path: "./usr/lib/big-again.bin", type: "hardlink", target: "./usr/lib/big.bin" },
    ],
    dataCompression: "xz",
  });
  debPath = join(dir, "bigpkg_1.0_amd64.deb");
  writeFileSync(debPath, deb);
});
afterAll(async () => {
  await removeDir(dir);
});

describe("a layer with a member larger than a chunk", () => {
  it("is built without holding the member or the tar, and streams out in bounded chunks that tar, gzip and sha256sum read back", async () => {
    const http = new HttpClient({ retries: 0 });
    const fetcher = new Fetcher({ cache: new ContentCache(join(dir, "cache")), http, offline: false, progress: silentProgress });
    const url = pathToFileURL(debPath).href;
    const pkg: LockedPackage = {
      name: "bigpkg", version: "1.0", architecture: "amd64", source: "debian", suite: "bookworm", component: "main",
      url, size: readFileSync(debPath).length, sha256: sha256(readFileSync(debPath)), reasons: [],
      select: [{ set: "all", include: ["/usr/lib/**"], exclude: [] }],
    };
    const built = await buildLayer({ arch: "amd64", packages: [pkg], derivations: [], mtime: 0 }, { fetcher, urlsFor: () => [url] }).finally(() => http.close());
    try {
      expect("tar" in built).toBe(false);
      const node = built.nodes.find((n) => n.path === "/usr/lib/big.bin")!;
      expect(node.content).toBeUndefined();
      expect(node.extent).toMatchObject({ size: BIG, sha256: sha256(big) });

      const tarPath = join(dir, "layer.tar");
      const gzPath = join(dir, "layer.tar.gz");
      const tarChunks: Uint8Array[] = [];
      const gzChunks: Uint8Array[] = [];
      let largest = 0;
      const blobs = await streamLayerBlobs(built, ["none", "gzip"], (kind) => (c) => {
        largest = Math.max(largest, c.length);
        (kind === "none" ? tarChunks : gzChunks).push(Uint8Array.prototype.slice.call(c));
      });
      // No chunk carries the member whole: it went past in pieces, the headers and small files
      // coalesced with them into full chunks (every sink pays per call), only the last one short.
      expect(largest).toBeLessThanOrEqual(CHUNK);
      expect(tarChunks.slice(0, -1).map((c) => c.length)).toEqual(tarChunks.slice(0, -1).map(() => CHUNK));
      writeFileSync(tarPath, Buffer.concat(tarChunks));
      writeFileSync(gzPath, Buffer.concat(gzChunks));

      const tarSha = execFileSync("sha256sum", [tarPath], { encoding: "utf8" }).split(" ")[0];
      expect(built.diffId).toBe(`sha256:${tarSha}`);
      expect(blobs.get("none")!.digest).toBe(built.diffId);
      // A pass returns the digest of what it wrote: the one the layer was hashed by in that pass.
      expect(built.writeTar(() => {})).toEqual({ digest: `sha256:${tarSha}`, size: built.size });
      expect(blobs.get("gzip")!.digest).toBe(`sha256:${execFileSync("sha256sum", [gzPath], { encoding: "utf8" }).split(" ")[0]}`);
      expect(sha256(execFileSync("gzip", ["-dc", gzPath], { maxBuffer: 1 << 26 }))).toBe(tarSha);
      // GNU tar reads the member's bytes from the stream: carried by the path that sorts first
      // ("-" < "."), the other a hard link to it (one inode).
      expect(sha256(execFileSync("tar", ["-xOf", tarPath, "usr/lib/big-again.bin"], { maxBuffer: 1 << 26 }))).toBe(sha256(big));
      expect(execFileSync("tar", ["-tvf", tarPath], { encoding: "utf8" })).toMatch(/usr\/lib\/big\.bin link to usr\/lib\/big-again\.bin/);
    } finally {
      await built.release();
    }
  });
});

/** The files this process holds open (a decoded tar is one, unlinked: "… (deleted)"), sorted. */
function openFiles(): string[] {
  const fds = readdirSync("/proc/self/fd");
  return fds.flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return []; // the directory listing's own descriptor, closed by now
    }
  }).filter((t) => t.startsWith("/")).sort();
}

describe("a layer whose read fails in the middle of the lock", () => {
  it("fails with the first failed read in lock order, as readDeb gives it, and leaves no decoded tar open", async () => {
    const control = (name: string) => ({ Package: name, Version: "1.0", Architecture: "amd64", Maintainer: "T <t@test.invalid>", Description: name });
    const good = (name: string): DebEntry[] => [{ path: `./usr/share/${name}/data`, type: "file", content: `${name}\n` }];
    // A "..": refused by the reader once it gets there, after a member that takes a while to decode
    // (the first bad package), or at once (the second, which fails first in time).
    const bad = (name: string, before: DebEntry[]): DebEntry[] => [
      { path: "./", type: "dir" }, { path: "./usr/", type: "dir" }, ...before,
      { path: "./usr/../../etc/escaped", type: "file", content: "x" },
    ];
    const specs: Array<{ name: string; files: DebEntry[]; exactFiles?: boolean }> = [
      { name: "p0", files: good("p0") },
      { name: "p1", files: good("p1") },
      { name: "p2", files: bad("p2", [{ path: "./usr/slow.bin", type: "file", content: randomBytes(4 * BIG) }]), exactFiles: true },
      { name: "p3", files: good("p3") },
      { name: "p4", files: bad("p4", []), exactFiles: true },
      ...["p5", "p6", "p7", "p8", "p9"].map((name) => ({ name, files: good(name) })),
    ];
    const packages: LockedPackage[] = [];
    for (const s of specs) {
      const path = join(dir, `${s.name}_1.0_amd64.deb`);
      writeFileSync(path, await buildDeb({ control: control(s.name), files: s.files, exactFiles: s.exactFiles, dataCompression: "gz" }));
      const bytes = readFileSync(path);
      packages.push({
        name: s.name, version: "1.0", architecture: "amd64", source: "debian", suite: "bookworm", component: "main",
        url: pathToFileURL(path).href, size: bytes.length, sha256: sha256(bytes), reasons: [],
        select: [{ set: "all", include: ["/usr/**"], exclude: [] }],
      });
    }
    const expected = await readDeb(join(dir, "p2_1.0_amd64.deb"), { label: "p2_1.0_amd64.deb" }).then(() => undefined, (e: unknown) => e);
    expect(expected).toBeInstanceOf(DebFormatError);

    const http = new HttpClient({ retries: 0 });
    const fetcher = new Fetcher({ cache: new ContentCache(join(dir, "mid-cache")), http, offline: false, progress: silentProgress });
    const before = openFiles();
    const failed = await buildLayer({ arch: "amd64", packages, derivations: [], mtime: 0 }, { fetcher, urlsFor: (p) => [p.url] })
      .then(() => undefined, (e: unknown) => e)
      .finally(() => http.close());
    expect(failed).toBeInstanceOf(DebFormatError);
    expect((failed as DebFormatError).message).toBe((expected as DebFormatError).message);
    expect((failed as DebFormatError).member).toBe("./usr/../../etc/escaped");
    expect(openFiles()).toEqual(before);
  });
});
