/**
 * `scratch-pkgs layer`: from the lock alone, rebuild each requested architecture's layer,
 * check it against what the lock promises, and write it with its provenance manifest beside
 * it: every file of every architecture whole, or none (util/atomic-write.ts), one architecture
 * in memory at a time and no layer ever held whole.
 */
import { readLockfile } from "../lockfile/read.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ContentCache } from "../fetch/cache.js";
import { mirrorsFor } from "../sources/mirrors.js";
import type { LayerCompression } from "../codec/compress.js";
import { requireVerifiedLayer, type VerifiedLayer, type VerifyLayerOptions } from "../layer/verify.js";
import { checkOutputFiles, inOrder, stageFiles, type StagedOutputs } from "../util/atomic-write.js";
import { UsageError } from "../model/errors.js";

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
  fetcher: Fetcher;
  /** Keeps decompressed .deb data between runs (optional). */
  cache?: ContentCache;
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

  // Each architecture is built and checked in turn, its layer streamed into a staged file as
  // it is compressed (never held whole); nothing is moved into place before every one passed:
  // a refused layer leaves nothing behind, not even the layers of the architectures before it.
  // The commit order: for each architecture in turn, its provenance, then its layer. A kill
  // during the renames leaves a prefix of it replaced: a layer is never newer than the
  // provenance beside it, and a provenance newer than its layer differs from the copy inside it.
  const staged: StagedOutputs[] = [];
  const results: LayerResult[] = [];
  const verify = (arch: string, into?: VerifyLayerOptions["into"]) =>
    requireVerifiedLayer(opts.lockfile, lock, arch, { fetcher: opts.fetcher, mirrors, ...(opts.cache ? { cache: opts.cache } : {}), compressions: [opts.compress], ...(into ? { into } : {}) });
  try {
    for (const arch of arches) {
      const p = paths.get(arch);
      // Building and compressing are one stream here: the phase names both.
      opts.fetcher.progress.phase(`building the ${arch} layer`, `${lock.architectures[arch]!.packages.length} packages${opts.compress === "none" ? "" : `, ${opts.compress}`}`);
      let verified: VerifiedLayer | undefined;
      if (p) {
        const layerFile = await stageFiles([
          {
            path: p.output,
            data: async (write) => {
              verified = await verify(arch, (kind) => (kind === opts.compress ? write : undefined));
            },
          },
        ]);
        staged.push(await stageFiles([{ path: p.provenance, data: verified!.built.provenance.text }]).catch(async (e: unknown) => {
          await layerFile.discard();
          throw e;
        }), layerFile);
      } else verified = await verify(arch);
      const { built } = verified!;
      const blob = verified!.blobs.get(opts.compress)!;
      results.push({ arch, diffId: built.diffId, size: built.size, compression: opts.compress, digest: blob.digest, compressedSize: blob.size, output: p?.output, provenance: p?.provenance, matchesLock: true });
    }
  } catch (e) {
    await inOrder(staged).discard();
    throw e;
  }
  await inOrder(staged).commit();
  return results;
}

/** Where one architecture's layer and provenance go; undefined when nothing is written. */
function outputPaths(opts: LayerOptions, arch: string): { output: string; provenance: string } | undefined {
  if (!opts.output || opts.check) return undefined;
  const output = opts.output.replaceAll("{arch}", arch);
  return { output, provenance: output + ".provenance.jsonl" };
}
