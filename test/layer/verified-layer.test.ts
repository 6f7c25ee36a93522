/**
 * The one verified-layer path (layer/verify.ts) as `layer`, `image` and `audit` take it: a
 * tampered lock is refused by all three with the problems verifiedLayer lists; `image` reads
 * the decoded-member cache and reads each .deb once (its SBOM's copyright files come from the
 * layer build's own pass); `audit` deliberately never reads the decoded-member cache.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLayer } from "../../src/commands/layer.js";
import { runAudit } from "../../src/commands/audit.js";
import { verifiedLayer } from "../../src/layer/verify.js";
import { planMirrors } from "../../src/sources/mirrors.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher, type PinnedRequest } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { CheckFailedError } from "../../src/model/errors.js";
import type { Lockfile } from "../../src/model/lock.js";
import { readLock, rejection, removeDir } from "../lock/helpers.js";
import { imageFixture, imageWith, type ImageFixture } from "../image/helpers.js";

/** A cache that records which entries were read or opened (by sha256) and which of those it held. */
class RecordingCache extends ContentCache {
  readonly hits: string[] = [];
  readonly misses: string[] = [];
  override async read(sha256: string): Promise<Buffer | undefined> {
    const bytes = await super.read(sha256);
    (bytes ? this.hits : this.misses).push(sha256);
    return bytes;
  }
  // Decoded members are opened (and re-hashed through the handle) rather than read whole.
  override async openVerified(sha256: string, size?: number): Promise<Awaited<ReturnType<ContentCache["openVerified"]>>> {
    const hit = await super.openVerified(sha256, size);
    (hit ? this.hits : this.misses).push(sha256);
    return hit;
  }
}

/** A fetcher that counts the requests for each pinned sha256 (each is one read of that .deb). */
class CountingFetcher extends Fetcher {
  readonly pinned = new Map<string, number>();
  override fetchPinned(req: PinnedRequest): Promise<string> {
    this.pinned.set(req.sha256, (this.pinned.get(req.sha256) ?? 0) + 1);
    return super.fetchPinned(req);
  }
}

const ZERO = "sha256:" + "0".repeat(64);
/** The decoded control.tar and data.tar digests the lock records: the names the layer path reads them by. */
const decodedDigests = (): Set<string> => new Set(Object.values(lock.architectures).flatMap((a) => a.packages.flatMap((p) => [p.decoded!["control.tar"].sha256, p.decoded!["data.tar"].sha256])));
const decodedReads = (shas: readonly string[]) => shas.filter((s) => decodedDigests().has(s));

let f: ImageFixture;
let lock: Lockfile;
let http: HttpClient;
let n = 0;
const out = (name: string) => join(f.work, "out", `${n++}-${name}`);
const fetcher = (cache = new ContentCache(f.cache)) => new Fetcher({ cache, http, offline: false, progress: silentProgress });

beforeAll(async () => {
  f = await imageFixture("verified-layer");
  lock = await readLock(f.lockfile);
  await mkdir(join(f.work, "out"));
  http = new HttpClient({ timeoutMs: 5000, backoffMs: 10, retries: 1 });
});
afterAll(async () => {
  await http?.close();
  await f?.close();
  if (f) await removeDir(f.work);
});

// Each tamper, and the line it must produce, written out here from the lock itself.
const TAMPERS: Array<{ what: string; tamper: (l: Lockfile) => void; problem: (l: Lockfile) => string | string[] }> = [
  { what: "diff_id", tamper: (l) => void (l.architectures.amd64!.layer.diffId = ZERO), problem: (l) => `diff_id ${l.architectures.amd64!.layer.diffId}, the lock says ${ZERO}` },
  { what: "gzip digest", tamper: (l) => void (l.architectures.amd64!.layer.compressed.gzip!.digest = ZERO), problem: (l) => `gzip digest ${l.architectures.amd64!.layer.compressed.gzip!.digest}, the lock says ${ZERO}` },
  {
    what: "gzip digest and compressor",
    tamper: (l) => {
      const g = l.architectures.amd64!.layer.compressed.gzip!;
      g.digest = ZERO;
      g.settings = { ...g.settings, compressor: "pako@3.0.3" };
    },
    problem: (l) => {
      const g = l.architectures.amd64!.layer.compressed.gzip!;
      // Key order as canonical JSON writes it (sorted), which is how the lock stores them.
      const sorted = (o: object) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))));
      return [`gzip digest ${g.digest}, the lock says ${ZERO}`, `gzip made by ${sorted(g.settings)}, the lock by ${sorted({ ...g.settings, compressor: "pako@3.0.3" })}`];
    },
  },
  {
    what: "provenance sha256",
    tamper: (l) => void (l.architectures.amd64!.layer.provenance.sha256 = "0".repeat(64)),
    problem: (l) => `provenance manifest sha256 ${l.architectures.amd64!.layer.provenance.sha256}, the lock says ${"0".repeat(64)}`,
  },
  {
    what: "derivation output",
    tamper: (l) => void (l.architectures.amd64!.derivations[0]!.outputs[0]!.sha256 = "0".repeat(64)),
    problem: (l) => {
      const d = l.architectures.amd64!.derivations[0]!;
      return `derivation ${d.recipe} ${d.version} differs (outputs: ${d.outputs[0]!.path})`;
    },
  },
];

describe("a tampered lock", () => {
  it.each(TAMPERS)("($what) is refused by layer, image and audit with the problems verifiedLayer lists", async ({ what, tamper, problem }) => {
    const tampered = structuredClone(lock);
    tamper(tampered);
    const lockfile = join(f.work, `tampered-${what.replace(/\W+/g, "-")}.lock`);
    await writeFile(lockfile, JSON.stringify(tampered, null, 2) + "\n");

    const mirrors = planMirrors(tampered.sources, { mirrors: [f.server.url] });
    const { problems } = await verifiedLayer(tampered, "amd64", { fetcher: fetcher(), mirrors, compressions: ["gzip"] });
    expect(problems).toEqual([problem(lock)].flat());
    const refusal = `the amd64 layer built from ${lockfile} is not the one the lock promises:\n  ${problems.join("\n  ")}`;

    const before = await readdir(join(f.work, "out"));
    const layerError = await rejection(
      runLayer({ lockfile, arches: ["amd64"], output: out("l.tar"), compress: "gzip", check: false, mirrors: [f.server.url], envMirror: undefined, aptSources: undefined, fetcher: fetcher(), cache: new ContentCache(f.cache) }),
    );
    const imageError = await rejection(imageWith({ ...f, lockfile }, { arches: ["amd64"], output: out("img") }));
    for (const e of [layerError, imageError]) {
      expect(e).toBeInstanceOf(CheckFailedError);
      expect(e.exitCode).toBe(1);
      expect(e.message).toBe(refusal);
    }
    // The layer streamed into its staged output in the pass that found the mismatch: discarded,
    // nothing left (no output, no provenance, no temp).
    expect(await readdir(join(f.work, "out"))).toEqual(before);

    const report = await runAudit({
      lockfile, config: join(f.work, "project", "scratch.json"), mirrors: [f.server.url], envMirror: undefined, aptSources: undefined,
      fetcher: fetcher(), cache: new ContentCache(f.cache), now: new Date(), provenance: [],
    });
    const layerCheck = report.checks.find((c) => c.name === "layer amd64")!;
    expect(layerCheck.status).toBe("fail");
    expect(layerCheck.detail.startsWith(problems.join("; ") + "; ")).toBe(true);
    expect(report.checks.find((c) => c.name === "layer arm64")!.status).toBe("ok");
  });
});

describe("a lock whose compressor is named differently but whose digests hold", () => {
  it("is the layer the lock promises (the digest is the promise; pako's settings name the same zlib stream)", async () => {
    const renamed = structuredClone(lock);
    const g = renamed.architectures.amd64!.layer.compressed.gzip!;
    g.settings = { compressor: "pako@3.0.3", level: 6, windowBits: 15, memLevel: 8, strategy: "default", hash: "zlib", mtime: 0, os: 3 };
    const mirrors = planMirrors(renamed.sources, { mirrors: [f.server.url] });
    const v = await verifiedLayer(renamed, "amd64", { fetcher: fetcher(), mirrors, compressions: ["gzip"] });
    expect(v.problems).toEqual([]);
  });
});

describe("image", () => {
  it("reads the decoded .deb members from the cache, and each .deb once (copyright files included)", async () => {
    const packages = Object.values(lock.architectures).flatMap((a) => a.packages);
    const wanted = [...decodedDigests()].sort();
    const image = async (name: string) => {
      const cache = new RecordingCache(f.cache);
      const counting = new CountingFetcher({ cache, http, offline: false, progress: silentProgress });
      const sbom = out(`sbom-${name}-{arch}.json`);
      await imageWith(f, { output: out(name), sbom, cache }, () => counting);
      return { cache, counting, sbom };
    };

    // The first run looks every decoded member up (storing what it lacks); the second finds them all.
    const first = await image("first");
    expect([...new Set(decodedReads([...first.cache.hits, ...first.cache.misses]))].sort()).toEqual(wanted);
    const second = await image("second");
    expect(decodedReads(second.cache.misses)).toEqual([]);
    expect([...new Set(decodedReads(second.cache.hits))].sort()).toEqual(wanted);

    // One request per .deb per architecture that locks it: the SBOM's licenses needed no second read.
    const perArch = new Map<string, number>();
    for (const p of packages) perArch.set(p.sha256, (perArch.get(p.sha256) ?? 0) + 1);
    for (const run of [first, second]) expect(Object.fromEntries(run.counting.pinned)).toEqual(Object.fromEntries(perArch));

    // The licenses read from the cached data.tar are those of an image that decodes every .deb.
    const plainSbom = out("sbom-plain-{arch}.json");
    await imageWith(f, { output: out("plain"), sbom: plainSbom, cache: undefined });
    for (const arch of Object.keys(lock.architectures)) {
      const text = await readFile(second.sbom.replace("{arch}", arch), "utf8");
      expect(text).toBe(await readFile(plainSbom.replace("{arch}", arch), "utf8"));
      expect(text).toBe(await readFile(first.sbom.replace("{arch}", arch), "utf8"));
      const hello = (JSON.parse(text) as { packages: Array<{ name: string; licenseDeclared: string }> }).packages.find((p) => p.name === "hello")!;
      expect(hello.licenseDeclared).toBe("GPL-3.0-or-later");
    }
  });
});

describe("audit", () => {
  it("rebuilds every layer without reading the decoded-member cache", async () => {
    const cache = new RecordingCache(f.cache);
    const report = await runAudit({
      lockfile: f.lockfile, config: join(f.work, "project", "scratch.json"), mirrors: [f.server.url], envMirror: undefined, aptSources: undefined,
      fetcher: fetcher(cache), cache, now: new Date(), provenance: [],
    });
    expect(report.checks.filter((c) => c.name.startsWith("layer ")).map((c) => c.status)).toEqual(["ok", "ok"]);
    expect(decodedReads([...cache.hits, ...cache.misses])).toEqual([]);
  });
});
