/**
 * `scratch-pkgs layer`: from the lock alone, rebuild each requested architecture's layer,
 * check it against what the lock promises, and write it with its provenance manifest beside
 * it: every file of every architecture whole, or none (util/atomic-write.ts).
 */
import { readLockfile } from "../lockfile/read.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ContentCache } from "../fetch/cache.js";
import { mirrorsFor } from "../sources/mirrors.js";
import type { LayerCompression } from "../codec/compress.js";
import { requireVerifiedLayer, type VerifiedLayer } from "../layer/verify.js";
import { checkOutputFiles, writeFilesAtomic, type OutputFile } from "../util/atomic-write.js";
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

  // Build and check every architecture before writing any: a refused layer leaves nothing
  // behind, not even the layers of the architectures that came before it.
  const done: Array<{ arch: string; verified: VerifiedLayer }> = [];
  for (const arch of arches) {
    const verified = await requireVerifiedLayer(opts.lockfile, lock, arch, { fetcher: opts.fetcher, mirrors, ...(opts.cache ? { cache: opts.cache } : {}), compressions: [opts.compress] });
    done.push({ arch, verified });
  }

  // The commit order: for each architecture in turn, its provenance, then its layer. A kill
  // during the renames leaves a prefix of it replaced: a layer is never newer than the
  // provenance beside it, and a provenance newer than its layer differs from the copy inside it.
  const files: OutputFile[] = [];
  const results: LayerResult[] = [];
  for (const { arch, verified } of done) {
    const { built } = verified;
    const blob = verified.blobs.get(opts.compress)!;
    const p = paths.get(arch);
    if (p) files.push({ path: p.provenance, data: built.provenance.text }, { path: p.output, data: blob.bytes });
    results.push({ arch, diffId: built.diffId, size: built.size, compression: opts.compress, digest: blob.digest, compressedSize: blob.size, output: p?.output, provenance: p?.provenance, matchesLock: true });
  }
  await writeFilesAtomic(files);
  return results;
}

/** Where one architecture's layer and provenance go; undefined when nothing is written. */
function outputPaths(opts: LayerOptions, arch: string): { output: string; provenance: string } | undefined {
  if (!opts.output || opts.check) return undefined;
  const output = opts.output.replaceAll("{arch}", arch);
  return { output, provenance: output + ".provenance.jsonl" };
}
