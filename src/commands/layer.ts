/**
 * `scratch-pkgs layer`: from the lock alone, rebuild each requested architecture's layer,
 * check it against what the lock promises, and write it with its provenance manifest beside
 * it: every file of every architecture whole, or none (util/atomic-write.ts), one architecture
 * in memory at a time and no layer ever held whole. A layer the cache holds by the lock's
 * digests is copied from there, re-hashed on the way (layer/layer-cache.ts), without a build.
 */
import { readLockfile } from "../lockfile/read.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ContentCache } from "../fetch/cache.js";
import { mirrorsFor } from "../sources/mirrors.js";
import type { LayerCompression } from "../codec/compress.js";
// The builder (and the compressors it loads) is imported only when a layer has to be built.
import type { VerifiedLayer, VerifyLayerOptions } from "../layer/verify.js";
import type { BlobDigest } from "../layer/digest.js";
import { checkOutputFiles, inOrder, stageFiles, type StagedOutputs, type StreamedData } from "../util/atomic-write.js";
import { cachedProvenance, lockedBlob, openCachedBlob } from "../layer/layer-cache.js";
import type { LockedLayer } from "../model/lock.js";
import { UsageError } from "../model/errors.js";
import { withLockedDebFallback } from "../sources/snapshot-files.js";

export interface LayerOptions {
  lockfile: string;
  /** Architectures to build; empty: every architecture in the lock. */
  arches: string[];
  /** Output path; "{arch}" is replaced by the architecture. Undefined with check: write nothing. */
  output: string | undefined;
  compress: LayerCompression;
  check: boolean;
  mirrors: string[];
  envMirror: string | undefined;
  aptSources: string | undefined;
  /** Suites the apt sources lack come from the lock's URLs instead of being refused. */
  aptSourcesFallback?: boolean;
  /** The snapshot service that serves the lock's .debs its URLs no longer serve (--snapshot-fallback); undefined: not asked. */
  snapshotFallback?: string | undefined;
  fetcher: Fetcher;
  /** Keeps decompressed .deb data and built layers between runs (optional). */
  cache?: ContentCache;
  /** Build from the .debs even when the cache holds the lock's layer (`check` always does). */
  rebuild?: boolean;
}

export interface LayerResult {
  arch: string;
  diffId: string;
  size: number;
  compression: LayerCompression;
  digest: string;
  compressedSize: number;
  output: string | undefined;
  provenance: string | undefined;
  matchesLock: boolean;
}

export async function runLayer(opts: LayerOptions): Promise<LayerResult[]> {
  const lock = await readLockfile(opts.lockfile);
  const arches = opts.arches.length > 0 ? opts.arches : Object.keys(lock.architectures).sort();
  for (const a of arches) {
    if (!lock.architectures[a]) {
      throw new UsageError(`${opts.lockfile} has no architecture ${a} (it has ${Object.keys(lock.architectures).sort().join(", ")})`, { hint: "add it to scratch.json's architectures and run scratch-pkgs lock" });
    }
  }
  if (opts.output && arches.length > 1 && !opts.output.includes("{arch}")) {
    throw new UsageError(`--output ${opts.output} would receive ${arches.length} layers (${arches.join(", ")})`, { hint: "pick one with --arch, or put {arch} in the output name" });
  }
  const paths = new Map(arches.map((arch) => [arch, outputPaths(opts, arch)]));
  await checkOutputFiles([...paths.values()].flatMap((p) => (p ? [{ path: p.output, flag: "--output" }, { path: p.provenance, flag: "--output (its .provenance.jsonl)" }] : [])));
  const mirrors = await mirrorsFor(lock.sources, opts);
  const fetcher = withLockedDebFallback(lock, opts.fetcher, opts.snapshotFallback);

  // Each architecture is built and checked in turn, its layer streamed into a staged file as
  // it is compressed (never held whole); nothing is moved into place before every one passed:
  // a refused layer leaves nothing behind, not even the layers of the architectures before it.
  // The commit order: for each architecture in turn, its provenance, then its layer. A kill
  // during the renames leaves a prefix of it replaced: a layer is never newer than the
  // provenance beside it, and a provenance newer than its layer differs from the copy inside it.
  const staged: StagedOutputs[] = [];
  const results: LayerResult[] = [];
  // A check is a rebuild by definition: it never takes the layer from the cache.
  const reuse = opts.check || opts.rebuild ? undefined : opts.cache;
  const verify = async (arch: string, into?: VerifyLayerOptions["into"]) =>
    (await import("../layer/verify.js")).requireVerifiedLayer(opts.lockfile, lock, arch, {
      fetcher,
      mirrors,
      ...(opts.cache ? { cache: opts.cache } : {}),
      ...(reuse ? { layerCache: reuse } : {}),
      compressions: [opts.compress],
      ...(into ? { into } : {}),
    });
  try {
    for (const arch of arches) {
      const p = paths.get(arch);
      const locked = lock.architectures[arch]!.layer as LockedLayer | undefined;
      const cached = p && reuse && locked ? await stageCached(reuse, locked, opts.compress, p) : undefined;
      if (cached) {
        staged.push(...cached.staged);
        results.push(result(arch, opts.compress, locked!, cached.blob, p));
        continue;
      }
      // Building and compressing are one stream here: the phase names both.
      fetcher.progress.phase(`building the ${arch} layer`, `${lock.architectures[arch]!.packages.length} packages${opts.compress === "none" ? "" : `, ${opts.compress}`}`);
      let verified: VerifiedLayer | undefined;
      if (p) {
        staged.push(...(await stageLayer(p, async (write) => {
          verified = await verify(arch, (kind) => (kind === opts.compress ? write : undefined));
        }, () => verified!.built.provenance.data)));
      } else verified = await verify(arch);
      const { built } = verified!;
      results.push(result(arch, opts.compress, built, verified!.blobs.get(opts.compress)!, p));
    }
  } catch (e) {
    await inOrder(staged).discard();
    throw e;
  }
  await inOrder(staged).commit();
  return results;
}

/**
 * One architecture's layer and provenance staged (the provenance first in commit order), both
 * or neither: `layer` streams the tar or blob, `provenance` is asked for once it is written.
 */
async function stageLayer(p: { output: string; provenance: string }, layer: StreamedData, provenance: () => string | Uint8Array | StreamedData): Promise<StagedOutputs[]> {
  const layerFile = await stageFiles([{ path: p.output, data: layer }]);
  const provenanceFile = await stageFiles([{ path: p.provenance, data: provenance() }]).catch(async (e: unknown) => {
    await layerFile.discard();
    throw e;
  });
  return [provenanceFile, layerFile];
}

/** The lock's layer staged from the cache (blob and provenance by the lock's digests); undefined when the cache lacks either. */
async function stageCached(cache: ContentCache, layer: LockedLayer, kind: LayerCompression, p: { output: string; provenance: string }): Promise<{ staged: StagedOutputs[]; blob: BlobDigest } | undefined> {
  const blob = lockedBlob(layer, kind);
  const provenance = blob && (await cachedProvenance(cache, layer));
  const hit = provenance && (await openCachedBlob(cache, blob));
  if (!hit) return undefined;
  try {
    return { staged: await stageLayer(p, (write) => hit.copyTo(write), () => provenance), blob };
  } finally {
    await hit.close();
  }
}

function result(arch: string, compression: LayerCompression, layer: { diffId: string; size: number }, blob: BlobDigest, p: { output: string; provenance: string } | undefined): LayerResult {
  return { arch, diffId: layer.diffId, size: layer.size, compression, digest: blob.digest, compressedSize: blob.size, output: p?.output, provenance: p?.provenance, matchesLock: true };
}

/** Where one architecture's layer and provenance go; undefined when nothing is written. */
function outputPaths(opts: LayerOptions, arch: string): { output: string; provenance: string } | undefined {
  if (!opts.output || opts.check) return undefined;
  const output = opts.output.replaceAll("{arch}", arch);
  return { output, provenance: output + ".provenance.jsonl" };
}
