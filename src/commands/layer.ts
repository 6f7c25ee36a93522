/**
 * `scratch-pkgs layer`: from the lock alone, rebuild each requested architecture's layer,
 * check it against what the lock promises, and write it (atomically) with its provenance
 * manifest beside it.
 */
import { readLockfile } from "../lockfile/read.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ContentCache } from "../fetch/cache.js";
import { mirrorsFor } from "../sources/mirrors.js";
import type { LayerCompression } from "../codec/compress.js";
import { requireVerifiedLayer, type VerifiedLayer } from "../layer/verify.js";
import { writeFileAtomic } from "../util/atomic-write.js";
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
  const mirrors = await mirrorsFor(lock.sources, opts);

  // Build and check every architecture before writing any: a refused layer leaves nothing
  // behind, not even the layers of the architectures that came before it.
  const done: Array<{ arch: string; verified: VerifiedLayer }> = [];
  for (const arch of arches) {
    const verified = await requireVerifiedLayer(opts.lockfile, lock, arch, { fetcher: opts.fetcher, mirrors, ...(opts.cache ? { cache: opts.cache } : {}), compressions: [opts.compress] });
    done.push({ arch, verified });
  }

  const results: LayerResult[] = [];
  for (const { arch, verified } of done) {
    const { built } = verified;
    const blob = verified.blobs.get(opts.compress)!;
    let output: string | undefined;
    let provenance: string | undefined;
    if (opts.output && !opts.check) {
      output = opts.output.replaceAll("{arch}", arch);
      provenance = output + ".provenance.jsonl";
      await writeFileAtomic(provenance, built.provenance.text);
      await writeFileAtomic(output, blob.bytes);
    }
    results.push({ arch, diffId: built.diffId, size: built.size, compression: opts.compress, digest: blob.digest, compressedSize: blob.size, output, provenance, matchesLock: true });
  }
  return results;
}
