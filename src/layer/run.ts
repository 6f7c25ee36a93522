/**
 * `scratch-pkgs layer`: from the lock alone, rebuild each requested architecture's layer,
 * check it against what the lock promises, and write it (atomically) with its provenance
 * manifest beside it.
 */
import { readLockfile } from "../lock/read.js";
import type { Lockfile, LockedArchitecture } from "../lock/types.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ContentCache } from "../fetch/cache.js";
import { planMirrors } from "../sources/mirrors.js";
import { readAptSources } from "../sources/apt-sources.js";
import { buildLayer, type BuiltLayer } from "./build.js";
import { compressLayer, type LayerCompression } from "./compress.js";
import { digestBytes } from "./digest.js";
import { packageUrls, sourcesForMirrors } from "./urls.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { canonicalJson } from "../util/canonical-json.js";
import { CheckFailedError, LockfileError, UsageError } from "../errors.js";

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
  const apt = opts.aptSources === undefined ? undefined : await readAptSources(opts.aptSources || undefined);
  const mirrors = planMirrors(sourcesForMirrors(lock.sources), { mirrors: opts.mirrors, ...(opts.envMirror ? { envMirror: opts.envMirror } : {}), ...(apt ? { apt } : {}) });

  // Build and check every architecture before writing any: a refused layer leaves nothing
  // behind, not even the layers of the architectures that came before it.
  const done: Array<{ arch: string; built: BuiltLayer; bytes: Uint8Array; digest: { digest: string; size: number } }> = [];
  for (const arch of arches) {
    const locked = lock.architectures[arch]!;
    const built = await buildLayer(
      { arch, packages: locked.packages, derivations: locked.derivations.map((d) => ({ recipe: d.recipe, options: d.options })), mtime: lock.sourceDateEpoch },
      { fetcher: opts.fetcher, urlsFor: (p) => packageUrls(lock.sources, mirrors, p), ...(opts.cache ? { cache: opts.cache } : {}) },
    );
    const compressed = await compressLayer(built.tar, opts.compress);
    const digest = opts.compress === "none" ? { digest: built.diffId, size: built.size } : digestBytes(compressed.bytes);
    const problems = compareWithLock(lock, arch, locked, built, opts.compress, digest.digest, compressed.settings);
    if (problems.length > 0) {
      throw new CheckFailedError(`the ${arch} layer built from ${opts.lockfile} is not the one the lock promises:\n  ${problems.join("\n  ")}`, {
        hint: "if scratch-pkgs was upgraded, run scratch-pkgs lock to record the new layer; otherwise report this as a reproducibility bug (scratch-pkgs audit shows the differing paths)",
      });
    }
    done.push({ arch, built, bytes: compressed.bytes, digest });
  }

  const results: LayerResult[] = [];
  for (const { arch, built, bytes, digest } of done) {
    let output: string | undefined;
    let provenance: string | undefined;
    if (opts.output && !opts.check) {
      output = opts.output.replaceAll("{arch}", arch);
      provenance = output + ".provenance.jsonl";
      await writeFileAtomic(provenance, built.provenance.text);
      await writeFileAtomic(output, bytes);
    }
    results.push({ arch, diffId: built.diffId, size: built.size, compression: opts.compress, digest: digest.digest, compressedSize: digest.size, output, provenance, matchesLock: true });
  }
  return results;
}

function compareWithLock(
  lock: Lockfile,
  arch: string,
  locked: LockedArchitecture,
  built: BuiltLayer,
  compression: LayerCompression,
  digest: string,
  settings: object,
): string[] {
  if (!locked.layer) throw new LockfileError(`the lock has no layer digests for ${arch}`, { hint: "run scratch-pkgs lock (with this version) to record them" });
  const out: string[] = [];
  locked.derivations.forEach((want, i) => {
    const got = built.derivations[i];
    if (!got || canonicalJson(got) !== canonicalJson(want)) {
      const gotOut = new Map((got?.outputs ?? []).map((o) => [o.path, o.sha256]));
      const diff = want.outputs.filter((o) => gotOut.get(o.path) !== o.sha256).map((o) => o.path);
      out.push(`derivation ${want.recipe} ${want.version} differs${diff.length ? ` (outputs: ${diff.slice(0, 5).join(", ")}${diff.length > 5 ? ", …" : ""})` : ` (now ${got?.recipe} ${got?.version})`}`);
    }
  });
  if (built.provenance.sha256 !== locked.layer.provenance.sha256) out.push(`provenance manifest sha256 ${built.provenance.sha256}, lock says ${locked.layer.provenance.sha256}`);
  if (built.diffId !== locked.layer.diffId) out.push(`diff_id ${built.diffId}, lock says ${locked.layer.diffId}`);
  if (compression !== "none") {
    const want = locked.layer.compressed[compression];
    if (!want) out.push(`the lock records no ${compression} digest`);
    else if (canonicalJson(want.settings) !== canonicalJson(settings)) out.push(`${compression} settings ${JSON.stringify(settings)}, lock says ${JSON.stringify(want.settings)}`);
    else if (want.digest !== digest) out.push(`${compression} digest ${digest}, lock says ${want.digest}`);
  }
  void lock;
  return out;
}
