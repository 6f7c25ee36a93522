// A poisoned cache never decides what a lock pins or what a layer holds (issue 13, item 1).
// Each kind of derived entry — decoded data.tar and control.tar, the resolution memo, the layer
// memo — is planted, retargeted, replaced or swapped for a symlink the way anyone who can write
// the cache could (plain file writes, no scratch-pkgs code), and every lock, layer and image run
// must give the bytes of an unpoisoned run. The expected bytes are the unpoisoned run's; the
// decoded digests the lock records are checked against gunzip of the .deb's own members.
import { execFileSync } from "node:child_process";
import { cp, mkdir, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { ResolutionMemo } from "../../src/lock/memo.js";
import { runLock } from "../../src/commands/lock.js";
import { runLayer } from "../../src/commands/layer.js";
import { runImage } from "../../src/commands/image.js";
import { runAudit } from "../../src/commands/audit.js";
import { openCachedBlob } from "../../src/layer/layer-cache.js";
import type { Lockfile, LockedPackage } from "../../src/model/lock.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { cleanEnv, compileCli, runCommand } from "../fixtures/cli.js";
import { buildDeb, buildTar, renderControl, withParentDirs, type DebEntry } from "../fixtures/deb.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";
import { ARCHIVE_URL, KEY_DATE, MAINTAINER, V, buildTwoSuites, rejection, removeDir, sha256, tempDir, writeProject, type TwoSuiteArchive } from "./helpers.js";

// Counts every tar member decoded from a .deb: a warm run must decode none.
const decodes = vi.hoisted(() => ({ count: 0 }));
// Counts every layer compressor started: an image whose gzip blob the cache holds starts none.
const compressors = vi.hoisted(() => ({ count: 0 }));
vi.mock("../../src/codec/compress.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/codec/compress.js")>();
  return {
    ...real,
    createLayerCompressor: (...args: Parameters<typeof real.createLayerCompressor>) => {
      compressors.count++;
      return real.createLayerCompressor(...args);
    },
  };
});
vi.mock("../../src/deb/decompress.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/deb/decompress.js")>();
  return {
    ...real,
    decompressMember: (...args: Parameters<typeof real.decompressMember>) => {
      decodes.count++;
      return real.decompressMember(...args);
    },
  };
});

let work: string;
let key: TestKey;
let archive: TwoSuiteArchive;
let server: TestServer;
let project: { config: string };
let n = 0;
/** The unpoisoned run: its lock's text, the lock, and the layer's bytes; its cache and key. */
let clean: { text: string; lock: Lockfile; layer: Buffer; cache: string; keyFile: string };
/** The .deb of hello, the package every decoded-member case poisons. */
let hello: LockedPackage;
/** A .deb served at a pool path that no signed index lists. */
let evil: { url: string; size: number; sha256: string };

const fresh = (name: string): string => join(work, `${n++}-${name}`);
const keyFor = (name: string): string => join(fresh(`state-${name}`), "scratch-pkgs", "cache-key");

const file = (path: string, content: string, mode = 0o644): DebEntry => ({ path, type: "file", content, mode });
/** What an attacker wants in the layer instead of hello's files. */
const craftedData = (): Promise<Uint8Array> =>
  buildTar(withParentDirs([file("./usr/bin/hello", "trojan\n", 0o755), file("./usr/bin/injected", "trojan\n", 0o755), file("./usr/share/doc/hello/copyright", "hello copyright\n")]));
const craftedControl = (): Promise<Uint8Array> =>
  buildTar(withParentDirs([file("./control", renderControl({ Package: "hello", Version: V.hello, Architecture: "amd64", Maintainer: "Mallory <mallory@test.invalid>", Description: "trojan" }))]));

beforeAll(async () => {
  work = await tempDir("cache-poison");
  key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
  const www = join(work, "www");
  archive = await buildTwoSuites(www, key, "v1");
  const evilDeb = await buildDeb({
    control: { Package: "evil", Version: "1.0", Architecture: "amd64", Maintainer: MAINTAINER, Description: "not in any index" },
    files: [file("./usr/bin/evil", "evil\n", 0o755), file("./usr/share/doc/evil/copyright", "evil copyright\n")],
    dataCompression: "gz",
    controlCompression: "gz",
  });
  await mkdir(join(www, "pool/main/e/evil"), { recursive: true });
  await writeFile(join(www, "pool/main/e/evil/evil_1.0_amd64.deb"), evilDeb);
  evil = { url: `${ARCHIVE_URL}/pool/main/e/evil/evil_1.0_amd64.deb`, size: evilDeb.length, sha256: sha256(evilDeb) };
  server = await serveDirectory(www);
  // dpkgStatus: the control file reaches the layer (the status file), so a poisoned control.tar would show.
  const p = await writeProject(join(work, "project"), key, { architectures: ["amd64"], packages: ["hello"] });
  const manifest = JSON.parse(await readFile(p.config, "utf8")) as Record<string, unknown>;
  await writeFile(p.config, JSON.stringify({ ...manifest, dpkgStatus: true }, null, 2) + "\n");
  project = p;

  const cache = fresh("clean-cache");
  const keyFile = keyFor("clean");
  const { text, lockfile } = await lockIn(cache, keyFile);
  const lock = JSON.parse(text) as Lockfile;
  clean = { text, lock, layer: await layerIn(cache, lockfile), cache, keyFile };
  hello = lock.architectures.amd64!.packages.find((x) => x.name === "hello")!;
});

afterAll(async () => {
  await server?.close();
  if (work) await removeDir(work);
});

beforeEach(() => {
  decodes.count = 0;
});

async function withFetcher<T>(cache: string, run: (fetcher: Fetcher, c: ContentCache) => Promise<T>, offline = false): Promise<T> {
  const http = new HttpClient({ timeoutMs: 2000, backoffMs: 10, retries: 1 });
  const c = new ContentCache(cache);
  try {
    return await run(new Fetcher({ cache: c, http, offline, progress: silentProgress }), c);
  } finally {
    await http.close();
  }
}

/** `lock` as the CLI wires it (memo and blobs in the cache), writing a new lock; its text. */
async function lockIn(cache: string, keyFile: string): Promise<{ text: string; lockfile: string }> {
  const dir = fresh("lock");
  await mkdir(dir);
  const lockfile = join(dir, "scratch.lock");
  await withFetcher(cache, (fetcher, c) =>
    runLock({ config: project.config, lockfile, check: false, update: undefined, mirrors: [server.url], envMirror: undefined, aptSources: undefined, fetcher, blobs: c, memo: new ResolutionMemo(c, { keyFile }), now: new Date(), note: () => {} }),
  );
  return { text: await readFile(lockfile, "utf8"), lockfile };
}

/**
 * `layer` with the decoded-member cache; the layer's bytes. A rebuild from the .debs unless
 * `reuse` (as the CLI runs it: the layer served from the cache when it holds it, else kept there).
 */
async function layerIn(cache: string, lockfile: string, o: { reuse?: boolean; offline?: boolean; output?: string } = {}): Promise<Buffer> {
  const output = o.output ?? join(fresh("layer"), "layer.tar");
  await mkdir(join(output, ".."), { recursive: true });
  await withFetcher(cache, (fetcher, c) => runLayer({ lockfile, arches: [], output, compress: "none", check: false, mirrors: [server.url], envMirror: undefined, aptSources: undefined, fetcher, cache: c, rebuild: !o.reuse }), o.offline);
  return readFile(output);
}

/** A copy of the unpoisoned run's warm cache. */
async function warmCopy(): Promise<string> {
  const dir = fresh("warm");
  await cp(clean.cache, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

interface RefFile {
  file: string;
  key: string;
  sha256: string;
  mac?: string;
}

/** Every ref of a cache, read as plain JSON files. */
async function refsOf(cache: string): Promise<RefFile[]> {
  const dir = join(cache, "refs");
  const names = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(names.map(async (name) => ({ file: join(dir, name), ...(JSON.parse(await readFile(join(dir, name), "utf8")) as Omit<RefFile, "file">) })));
}

async function refNamed(cache: string, key: string): Promise<RefFile> {
  const ref = (await refsOf(cache)).find((r) => r.key === key);
  if (!ref) throw new Error(`no ref ${key} in ${cache}`);
  return ref;
}

const entryPath = (cache: string, sha: string): string => join(cache, "sha256", sha.slice(0, 2), sha);

/** Put `bytes` in the cache under their sha256 and point `key`'s ref at them, as a file writer would (keeping `mac` when given). */
async function plant(cache: string, key: string, bytes: Uint8Array | string, mac?: string): Promise<string> {
  const sha = sha256(bytes);
  await mkdir(join(cache, "sha256", sha.slice(0, 2)), { recursive: true });
  await writeFile(entryPath(cache, sha), bytes);
  await mkdir(join(cache, "refs"), { recursive: true });
  await writeFile(join(cache, "refs", sha256(key)), JSON.stringify({ key, sha256: sha, ...(mac ? { mac } : {}) }) + "\n");
  return sha;
}

/** Drop the layer memo, so that `lock` builds the layer (and reads decoded members) again. */
async function forgetLayerMemo(cache: string): Promise<void> {
  for (const r of await refsOf(cache)) if (r.key.startsWith("layer:")) await rm(r.file);
}

/** The run gives what the unpoisoned run gave. */
async function expectCleanLock(cache: string, keyFile: string): Promise<string> {
  const { text, lockfile } = await lockIn(cache, keyFile);
  expect(text).toBe(clean.text);
  return lockfile;
}
async function expectCleanLayer(cache: string, lockfile: string): Promise<void> {
  expect(Buffer.compare(await layerIn(cache, lockfile), clean.layer)).toBe(0);
}

describe("the lock records each package's decoded members", () => {
  it("as the sha256 and size of the .deb's own control.tar and data.tar, decompressed (gunzip of ar's members)", async () => {
    const deb = join(work, "hello.deb");
    await writeFile(deb, await readFile(archive.debs.get(`hello_${V.hello}_amd64`)!.absPath));
    for (const member of ["control.tar", "data.tar"] as const) {
      const tar = gunzipSync(execFileSync("ar", ["p", deb, `${member}.gz`], { maxBuffer: 1 << 26 }));
      expect(hello.decoded![member]).toEqual({ sha256: sha256(tar), size: tar.length });
    }
    expect(clean.lock.lockfileVersion).toBe("1.3.0");
  });
});

describe("decoded .deb members", () => {
  it.each(["data.tar", "control.tar"] as const)("a %s planted in a cache restored from elsewhere reaches neither the lock nor the layer nor the image", async (member) => {
    const cache = fresh("restored");
    await plant(cache, `deb-${member}:${hello.sha256}`, member === "data.tar" ? await craftedData() : await craftedControl());
    const lockfile = await expectCleanLock(cache, keyFor("restored"));
    await expectCleanLayer(cache, lockfile);
    if (member !== "data.tar") return;
    const image = await withFetcher(cache, (fetcher, c) =>
      runImage({ lockfile, arches: [], output: fresh("image"), add: [], entrypoint: [], cmd: [], user: undefined, env: [], workdir: undefined, labels: [], tag: undefined, sbom: undefined, mirrors: [server.url], envMirror: undefined, aptSources: undefined, fetcher, cache: c }),
    );
    expect(image.images[0]!.layers[0]!.diffId).toBe(clean.lock.architectures.amd64!.layer.diffId);
  });

  it("a ref retargeted to a crafted data.tar (keeping the old MAC) is ignored and recomputed", async () => {
    const cache = await warmCopy();
    const ref = await refNamed(cache, `deb-data.tar:${hello.sha256}`);
    await plant(cache, ref.key, await craftedData(), ref.mac);
    await forgetLayerMemo(cache);
    const lockfile = await expectCleanLock(cache, clean.keyFile);
    await expectCleanLayer(cache, lockfile);
    // Recomputed and stored again: the next run finds a vouched-for entry and decodes nothing.
    await forgetLayerMemo(cache);
    decodes.count = 0;
    await expectCleanLock(cache, clean.keyFile);
    expect(decodes.count).toBe(0);
  });

  it("the decoded data.tar's bytes replaced in place, or by a symlink to other bytes, are never used", async () => {
    const crafted = join(work, `crafted-${n++}.tar`);
    await writeFile(crafted, await craftedData());
    for (const how of ["overwritten", "symlinked"] as const) {
      // Each command on its own poisoned copy: whichever runs first stores the right bytes again.
      for (const command of ["layer", "lock"] as const) {
        const cache = await warmCopy();
        const path = entryPath(cache, hello.decoded!["data.tar"].sha256);
        await rm(path);
        if (how === "overwritten") await writeFile(path, await readFile(crafted));
        else await symlink(crafted, path);
        // layer looks the member up by the lock's digest; lock (its layer memo gone) through its ref.
        if (command === "layer") await expectCleanLayer(cache, await lockfileOfClean());
        else {
          await forgetLayerMemo(cache);
          await expectCleanLock(cache, clean.keyFile);
        }
      }
      expect(await readFile(crafted)).toEqual(Buffer.from(await craftedData()));
    }
  });

  it("a ref replaced by a symlink to a crafted ref is a miss", async () => {
    const cache = await warmCopy();
    const ref = await refNamed(cache, `deb-control.tar:${hello.sha256}`);
    const elsewhere = fresh("elsewhere");
    await plant(elsewhere, ref.key, await craftedControl(), ref.mac);
    await cp(join(elsewhere, "sha256"), join(cache, "sha256"), { recursive: true });
    await rm(ref.file);
    await symlink(join(elsewhere, "refs", sha256(ref.key)), ref.file);
    await forgetLayerMemo(cache);
    const lockfile = await expectCleanLock(cache, clean.keyFile);
    await expectCleanLayer(cache, lockfile);
  });
});

describe("memoised results", () => {
  it("a resolution memo edited to pin a .deb that no signed index lists is ignored", async () => {
    const cache = await warmCopy();
    // Every one: a lock memoises the resolution under its own pins and under the next run's.
    const refs = (await refsOf(cache)).filter((r) => r.key.startsWith("resolution:"));
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const memo = JSON.parse(await readFile(entryPath(cache, ref.sha256), "utf8")) as { packages: LockedPackage[] };
      const { decoded: _fromTheLock, ...asResolved } = hello;
      memo.packages.push({ ...asResolved, ...evil, name: "evil", version: "1.0" });
      await plant(cache, ref.key, JSON.stringify(memo), ref.mac);
    }
    const lockfile = await expectCleanLock(cache, clean.keyFile);
    expect((JSON.parse(await readFile(lockfile, "utf8")) as Lockfile).architectures.amd64!.packages.map((p) => p.name)).not.toContain("evil");
  });

  it("a layer memo edited to record digests nobody built is ignored", async () => {
    const cache = await warmCopy();
    const ref = (await refsOf(cache)).find((r) => r.key.startsWith("layer:"))!;
    const memo = JSON.parse(await readFile(entryPath(cache, ref.sha256), "utf8")) as { layer: { diffId: string } };
    memo.layer.diffId = "sha256:" + "e".repeat(64);
    await plant(cache, ref.key, JSON.stringify(memo), ref.mac);
    await expectCleanLock(cache, clean.keyFile);
  });

  it("a warm lock decodes nothing; with another user's key it recomputes, and layer still decodes nothing", async () => {
    await expectCleanLock(clean.cache, clean.keyFile);
    expect(decodes.count).toBe(0);
    const restored = await warmCopy();
    await expectCleanLock(restored, keyFor("other-user"));
    expect(decodes.count).toBeGreaterThan(0);
    decodes.count = 0;
    // The decoded members are found by the digests the lock records, whoever stored them.
    await expectCleanLayer(await warmCopy(), await lockfileOfClean());
    expect(decodes.count).toBe(0);
  });
});

describe("a lock whose decoded digest was edited", () => {
  it("fails layer (naming the package) and audit, even with the edited digest's bytes in the cache", async () => {
    const lock = JSON.parse(clean.text) as Lockfile;
    const crafted = await craftedData();
    const pkg = lock.architectures.amd64!.packages.find((p) => p.name === "hello")!;
    pkg.decoded!["data.tar"] = { sha256: sha256(crafted), size: crafted.length };
    const lockfile = join(fresh("edited"), "scratch.lock");
    await mkdir(join(lockfile, ".."));
    await writeFile(lockfile, JSON.stringify(lock, null, 2) + "\n");
    // No cached copy: decoded from the .deb, which is not what the lock says.
    const err = await rejection(layerIn(fresh("empty"), lockfile));
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain(`hello ${V.hello}: the decoded data.tar of ${hello.url} has sha256 ${hello.decoded!["data.tar"].sha256}`);
    // The edited digest's bytes in the cache build another layer, which the lock's diff_id refuses.
    const planted = fresh("planted");
    await plant(planted, "unused", crafted);
    expect((await rejection(layerIn(planted, lockfile))).exitCode).toBe(1);
    const report = await withFetcher(planted, (fetcher, c) =>
      runAudit({ lockfile, config: project.config, mirrors: [server.url], envMirror: undefined, aptSources: undefined, fetcher, cache: c, now: new Date(), provenance: [] }),
    );
    const layerCheck = report.checks.find((c) => c.name === "layer amd64")!;
    expect(layerCheck.status).toBe("fail");
    expect(layerCheck.detail).toContain("hello");
  });

  it("the CLI exits 1 naming the package", async () => {
    const lock = JSON.parse(clean.text) as Lockfile;
    lock.architectures.amd64!.packages.find((p) => p.name === "hello")!.decoded!["control.tar"].sha256 = "0".repeat(64);
    const dir = fresh("cli");
    await mkdir(dir);
    await writeFile(join(dir, "scratch.lock"), JSON.stringify(lock, null, 2) + "\n");
    const bin = await compileCli(join(dir, "build"));
    const run = await runCommand(process.execPath, [bin, "layer", "--lockfile", join(dir, "scratch.lock"), "--check", "--mirror", server.url, "--cache", join(dir, "cache")], {
      cwd: dir,
      env: cleanEnv({ XDG_STATE_HOME: join(dir, "state") }),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`hello ${V.hello}: the decoded control.tar`);
  });
});

describe("built layers in the cache, by the lock's digests", () => {
  const layerOf = () => clean.lock.architectures.amd64!.layer;
  const hex = (digest: string): string => digest.slice("sha256:".length);
  const sha256sum = (path: string): string => "sha256:" + execFileSync("sha256sum", [path], { encoding: "utf8" }).split(" ")[0];
  /** A warm copy whose cache also holds the layer and its provenance manifest, kept by a reusing run. */
  async function withLayer(): Promise<{ cache: string; lockfile: string }> {
    const cache = await warmCopy();
    const lockfile = await lockfileOfClean();
    expect(Buffer.compare(await layerIn(cache, lockfile, { reuse: true }), clean.layer)).toBe(0);
    return { cache, lockfile };
  }

  it("a warm layer is copied from the cache, offline and with no .deb to build from, byte for byte", async () => {
    const { cache, lockfile } = await withLayer();
    for (const p of clean.lock.architectures.amd64!.packages) {
      for (const sha of [p.sha256, p.decoded!["control.tar"].sha256, p.decoded!["data.tar"].sha256]) await rm(entryPath(cache, sha), { force: true });
    }
    const output = join(fresh("warm-layer"), "layer.tar");
    expect(Buffer.compare(await layerIn(cache, lockfile, { reuse: true, offline: true, output }), clean.layer)).toBe(0);
    expect(sha256sum(output)).toBe(layerOf().diffId);
    expect(sha256sum(output + ".provenance.jsonl")).toBe(`sha256:${layerOf().provenance.sha256}`);
  });

  it("lock keeps the tar and both blobs it made: the first layer after it is a copy, offline, building and compressing nothing", async () => {
    // The unpoisoned cache has seen only `lock` and rebuilding layers, which keep nothing.
    const cache = await warmCopy();
    const lockfile = await lockfileOfClean();
    for (const kind of ["gzip", "zstd"] as const) {
      const blob = layerOf().compressed[kind]!;
      expect(sha256sum(entryPath(cache, hex(blob.digest))), `the ${kind} blob the lock records`).toBe(blob.digest);
    }
    for (const p of clean.lock.architectures.amd64!.packages) {
      for (const sha of [p.sha256, p.decoded!["control.tar"].sha256, p.decoded!["data.tar"].sha256]) await rm(entryPath(cache, sha), { force: true });
    }
    compressors.count = 0;
    const output = join(fresh("first-layer"), "layer.tar");
    await layerIn(cache, lockfile, { reuse: true, offline: true, output });
    expect(compressors.count).toBe(0);
    expect(decodes.count).toBe(0);
    expect(sha256sum(output)).toBe(layerOf().diffId);
  });

  it.each(["overwritten", "truncated", "symlinked"] as const)("a cached layer (and provenance manifest) %s is not served: the run rebuilds the lock's layer and keeps it again", async (how) => {
    const { cache, lockfile } = await withLayer();
    const poisoned = [];
    for (const sha of [hex(layerOf().diffId), layerOf().provenance.sha256]) {
      const path = entryPath(cache, sha);
      const right = await readFile(path);
      const wrong = Buffer.from(right);
      wrong[wrong.length >> 1]! ^= 0x55;
      const elsewhere = join(work, `elsewhere-${n++}`);
      await writeFile(elsewhere, wrong);
      if (how === "truncated") await writeFile(path, right.subarray(0, right.length >> 1));
      else if (how === "symlinked") {
        await rm(path);
        await symlink(elsewhere, path);
      } else await writeFile(path, wrong);
      poisoned.push({ path, right, wrong, elsewhere });
    }
    const output = join(fresh("rebuilt"), "layer.tar");
    expect(Buffer.compare(await layerIn(cache, lockfile, { reuse: true, output }), clean.layer)).toBe(0);
    expect(sha256sum(output + ".provenance.jsonl")).toBe(`sha256:${layerOf().provenance.sha256}`);
    for (const p of poisoned) {
      expect(await readFile(p.path), "the rebuild stored the right bytes again (a link replaced by a file)").toEqual(p.right);
      expect(await readFile(p.elsewhere), "a link's target is left alone").toEqual(p.wrong);
    }
  });

  it("a cached blob whose bytes change while it is copied out fails, naming the entry", async () => {
    const { cache } = await withLayer();
    const c = new ContentCache(cache);
    const hit = (await openCachedBlob(c, { digest: layerOf().diffId, size: layerOf().size }))!;
    const changed = Buffer.from(clean.layer);
    changed[0]! ^= 1;
    await writeFile(c.pathFor(hex(layerOf().diffId)), changed);
    const err = await rejection(hit.copyTo(() => {}).finally(() => hit.close()));
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain(c.pathFor(hex(layerOf().diffId)));
  });

  it("image takes the gzip blob from the cache once a build kept it; both give the lock's digest", async () => {
    const cache = await warmCopy();
    // The blob `lock` kept, removed: the first image has to make it.
    await rm(entryPath(cache, hex(layerOf().compressed.gzip!.digest)));
    const lockfile = await lockfileOfClean();
    const image = async (): Promise<string> => {
      const output = fresh("image");
      await withFetcher(cache, (fetcher, c) =>
        runImage({ lockfile, arches: [], output, add: [], entrypoint: [], cmd: [], user: undefined, env: [], workdir: undefined, labels: [], tag: undefined, sbom: undefined, mirrors: [server.url], envMirror: undefined, aptSources: undefined, fetcher, cache: c }),
      );
      return output;
    };
    compressors.count = 0;
    const built = await image();
    expect(compressors.count, "the first image compresses the layer").toBeGreaterThan(0);
    compressors.count = 0;
    const served = await image();
    expect(compressors.count, "the second takes the gzip blob from the cache").toBe(0);
    const gzip = layerOf().compressed.gzip!.digest;
    for (const dir of [built, served]) expect(sha256sum(join(dir, "blobs", "sha256", hex(gzip)))).toBe(gzip);
    expect((await readdir(join(served, "blobs", "sha256"))).sort()).toEqual((await readdir(join(built, "blobs", "sha256"))).sort());
    expect(await readFile(join(served, "index.json"))).toEqual(await readFile(join(built, "index.json")));
  });

  it("audit rebuilds and compresses from the .debs, whatever the layer cache holds", async () => {
    const { cache, lockfile } = await withLayer();
    await writeFile(entryPath(cache, hex(layerOf().diffId)), "poisoned\n");
    compressors.count = 0;
    const report = await withFetcher(cache, (fetcher, c) =>
      runAudit({ lockfile, config: project.config, mirrors: [server.url], envMirror: undefined, aptSources: undefined, fetcher, cache: c, now: new Date(), provenance: [] }),
    );
    expect(report.checks.filter((c) => c.status !== "ok")).toEqual([]);
    expect(report.checks.find((c) => c.name === "layer amd64")?.status).toBe("ok");
    expect(compressors.count).toBeGreaterThan(0);
  });
});

/** The unpoisoned lock, written anew (each run's lock file is its own). */
async function lockfileOfClean(): Promise<string> {
  const dir = fresh("clean-lock");
  await mkdir(dir);
  await writeFile(join(dir, "scratch.lock"), clean.text);
  return join(dir, "scratch.lock");
}
