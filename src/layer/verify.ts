/**
 * Rebuilding a lock's layer and comparing it with what the lock promises: the one path `layer`,
 * `image` and `audit` take, so that all three judge a layer by the same rules.
 */
import type { Lockfile } from "../model/lock.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ContentCache } from "../fetch/cache.js";
import type { MirrorPlan } from "../sources/mirrors.js";
import { buildLayer, type BuiltLayer } from "./build.js";
import { compressLayer, type CompressedLayer, type LayerCompression } from "../codec/compress.js";
import { digestBytes } from "./digest.js";
import { packageUrls } from "./urls.js";
import { canonicalJson } from "../util/canonical-json.js";
import { CheckFailedError, LockfileError } from "../model/errors.js";

export interface VerifyLayerOptions {
  fetcher: Fetcher;
  mirrors: MirrorPlan;
  /** Where decoded control.tar and data.tar members are found by the digests the lock records; none: decode every .deb. */
  cache?: ContentCache;
  /** The blobs wanted, each compared with the lock's digest and settings ("none": the tar, whose digest is the diff_id). */
  compressions: readonly LayerCompression[];
}

/** A compressed layer with its digest and size. */
export interface LayerBlob extends CompressedLayer {
  digest: string;
  size: number;
}

export interface VerifiedLayer {
  built: BuiltLayer;
  /** One blob per requested compression. */
  blobs: ReadonlyMap<LayerCompression, LayerBlob>;
  /** Every way the rebuilt layer differs from the lock; empty: it is the layer the lock promises. */
  problems: string[];
}

/** Build an architecture's layer as the lock describes it, compress it, and list what differs from the lock. */
export async function verifiedLayer(lock: Lockfile, arch: string, opts: VerifyLayerOptions): Promise<VerifiedLayer> {
  const locked = lock.architectures[arch]!;
  if (!locked.layer) throw new LockfileError(`the lock has no layer digests for ${arch}`, { hint: "run scratch-pkgs lock (with this version) to record them" });
  const built = await buildLayer(
    { arch, packages: locked.packages, derivations: locked.derivations.map((d) => ({ recipe: d.recipe, options: d.options })), mtime: lock.sourceDateEpoch },
    { fetcher: opts.fetcher, urlsFor: (p) => packageUrls(lock.sources, opts.mirrors, p), ...(opts.cache ? { cache: opts.cache } : {}) },
  );
  const problems = layerDifferences(lock, arch, built);
  const blobs = new Map<LayerCompression, LayerBlob>();
  for (const kind of opts.compressions) {
    const c = await compressedAsLocked(lock, arch, built, kind);
    blobs.set(kind, c.blob);
    problems.push(...c.problems);
  }
  return { built, blobs, problems };
}

/** verifiedLayer for the commands that refuse a differing layer: it throws the mismatch, naming the lock file. */
export async function requireVerifiedLayer(lockfile: string, lock: Lockfile, arch: string, opts: VerifyLayerOptions): Promise<VerifiedLayer> {
  const v = await verifiedLayer(lock, arch, opts);
  if (v.problems.length > 0) throw layerMismatch(lockfile, arch, v.problems);
  return v;
}

/** What differs between a rebuilt layer and the lock: derivations (naming their outputs), provenance, diff_id. */
function layerDifferences(lock: Lockfile, arch: string, built: BuiltLayer): string[] {
  const locked = lock.architectures[arch]!;
  const out: string[] = [];
  locked.derivations.forEach((want, i) => {
    const got = built.derivations[i];
    if (got && canonicalJson(got) === canonicalJson(want)) return;
    const gotOut = new Map((got?.outputs ?? []).map((o) => [o.path, o.sha256]));
    const diff = want.outputs.filter((o) => gotOut.get(o.path) !== o.sha256).map((o) => o.path);
    out.push(
      `derivation ${want.recipe} ${want.version} differs` +
        (diff.length ? ` (outputs: ${diff.slice(0, 5).join(", ")}${diff.length > 5 ? ", …" : ""})` : got ? ` (inputs, or now ${got.recipe} ${got.version})` : " (missing)"),
    );
  });
  if (built.provenance.sha256 !== locked.layer.provenance.sha256) out.push(`provenance manifest sha256 ${built.provenance.sha256}, the lock says ${locked.layer.provenance.sha256}`);
  if (built.diffId !== locked.layer.diffId) out.push(`diff_id ${built.diffId}, the lock says ${locked.layer.diffId}`);
  return out;
}

/** Compress the layer and compare the blob with the lock's digest and compressor settings for that compression. */
async function compressedAsLocked(lock: Lockfile, arch: string, built: BuiltLayer, kind: LayerCompression): Promise<{ blob: LayerBlob; problems: string[] }> {
  const compressed = await compressLayer(built.tar, kind);
  if (kind === "none") return { blob: { ...compressed, digest: built.diffId, size: built.size }, problems: [] };
  const blob = { ...compressed, ...digestBytes(compressed.bytes) };
  const want = lock.architectures[arch]!.layer.compressed[kind];
  const problems: string[] = [];
  if (!want) problems.push(`the lock records no ${kind} digest`);
  else if (canonicalJson(want.settings) !== canonicalJson(compressed.settings)) {
    problems.push(`${kind} settings ${JSON.stringify(compressed.settings)}, the lock says ${JSON.stringify(want.settings)}`);
  } else if (want.digest !== blob.digest) problems.push(`${kind} digest ${blob.digest}, the lock says ${want.digest}`);
  return { blob, problems };
}

function layerMismatch(lockfile: string, arch: string, problems: string[]): CheckFailedError {
  return new CheckFailedError(`the ${arch} layer built from ${lockfile} is not the one the lock promises:\n  ${problems.join("\n  ")}`, {
    hint: "if scratch-pkgs was upgraded, run scratch-pkgs lock to record the new layer; otherwise report this as a reproducibility bug (scratch-pkgs audit shows the differing paths)",
  });
}
