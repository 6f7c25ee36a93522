/**
 * Rebuilding a lock's layer and comparing it with what the lock promises: the one path `layer`,
 * `image` and `audit` take, so that all three judge a layer by the same rules.
 */
import type { LockedLayer, Lockfile } from "../model/lock.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ContentCache } from "../fetch/cache.js";
import type { MirrorPlan } from "../sources/mirrors.js";
import { buildLayer, type BuiltLayer } from "./build.js";
import { NO_COMPRESSION, type ChunkSink, type LayerCompression } from "../codec/compress.js";
import { streamLayerBlobs, type LayerBlob } from "./blobs.js";
import { keepProvenance, lockedBlob, openBlobKeeper, openCachedBlob } from "./layer-cache.js";
import { packageUrls } from "./urls.js";
import { canonicalJson, sortKeys } from "../util/canonical-json.js";
import { CheckFailedError, LockfileError } from "../model/errors.js";

export interface VerifyLayerOptions {
  fetcher: Fetcher;
  mirrors: MirrorPlan;
  /** Where decoded control.tar and data.tar members are found by the digests the lock records; none: decode every .deb. */
  cache?: ContentCache;
  /** The blobs wanted, each compared with the lock's digest and settings ("none": the tar, whose digest is the diff_id). */
  compressions: readonly LayerCompression[];
  /**
   * Where a blob's bytes go as they are made (a staged output file), by compression; none:
   * only digested. The receiver must not use them unless the layer proves to be the lock's.
   */
  into?: (kind: LayerCompression) => ChunkSink | undefined;
  /**
   * Built layers' blobs by the lock's digests (layer-cache.ts): once the rebuilt layer proved to
   * be the lock's (derivations, provenance, diff_id), a blob the cache holds is served from it
   * instead of compressed again, and a blob this run makes is kept there when it is the lock's.
   * None (`audit`, `layer --check`): every blob is made from the rebuilt tar.
   */
  layerCache?: ContentCache;
  /** Read the packages' copyright files into the built layer (LayerPlan.copyrights): `image`'s SBOM. */
  copyrights?: boolean;
}

export type { LayerBlob } from "./blobs.js";

export interface VerifiedLayer {
  /** The layer, already released: its blobs were streamed to `into`. */
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
    { arch, packages: locked.packages, derivations: locked.derivations.map((d) => ({ recipe: d.recipe, options: d.options })), mtime: lock.sourceDateEpoch, copyrights: opts.copyrights === true },
    { fetcher: opts.fetcher, urlsFor: (p) => packageUrls(lock.sources, opts.mirrors, p), ...(opts.cache ? { cache: opts.cache } : {}) },
  );
  const problems = treeDifferences(lock, arch, built);
  // The one pass that reads the package files, hashing the tar for its diff_id as it streams
  // the blobs out: released after it, whatever happens. Its receivers discard what they got
  // unless the diff_id checked here proves to be the lock's.
  const blobs = await layerBlobs(built, locked.layer, problems.length === 0, opts).finally(() => built.release());
  if (built.diffId !== locked.layer.diffId) problems.push(`diff_id ${built.diffId}, the lock says ${locked.layer.diffId}`);
  for (const [kind, blob] of blobs) problems.push(...compressedAsLocked(lock, arch, built, kind, blob));
  return { built, blobs, problems };
}

/**
 * Each requested blob: from the layer cache when the layer is the lock's and the cache holds
 * it, else made in one pass over the tar, and then kept in the cache (the tar with it) when it
 * is the lock's. `treeAsLocked`: the derivations and provenance are the lock's (the diff_id
 * is known after a pass).
 */
async function layerBlobs(built: BuiltLayer, layer: LockedLayer, treeAsLocked: boolean, opts: VerifyLayerOptions): Promise<Map<LayerCompression, LayerBlob>> {
  const kinds = [...new Set(opts.compressions)];
  const cache = treeAsLocked ? opts.layerCache : undefined;
  const out = new Map<LayerCompression, LayerBlob>();
  if (cache) {
    await keepProvenance(cache, layer, built.provenance.data);
    for (const kind of kinds) {
      const want = lockedBlob(layer, kind);
      const hit = want && (await openCachedBlob(cache, want));
      if (!hit) continue;
      // A cached blob stands for this build only once its tar proved to be the lock's: a pass that only hashes.
      if (built.diffId !== layer.diffId) {
        await hit.close();
        break;
      }
      try {
        const sink = opts.into?.(kind);
        if (sink) await hit.copyTo(sink);
      } finally {
        await hit.close();
      }
      out.set(kind, { ...want, settings: kind === "none" ? NO_COMPRESSION : layer.compressed[kind]!.settings });
    }
  }
  const make = kinds.filter((k) => !out.has(k));
  if (make.length === 0) return out;
  const keep: LayerCompression[] = cache && !out.has("none") ? [...new Set([...make, "none" as const])] : make;
  const keeper = cache && (await openBlobKeeper(cache, keep));
  try {
    // The digests are compared with the lock's (the diff_id above, the blobs by compressedAsLocked): the members need no hashing of their own.
    const made = await streamLayerBlobs(built, keep, (kind) => (keeper ? keeper.into(kind, opts.into?.(kind)) : opts.into?.(kind)), { wholeTarChecked: true });
    if (built.diffId === layer.diffId) await keeper?.keep(made, layer);
    else await keeper?.drop();
    for (const kind of make) out.set(kind, made.get(kind)!);
  } catch (e) {
    await keeper?.drop();
    throw e;
  }
  return out;
}

/** verifiedLayer for the commands that refuse a differing layer: it throws the mismatch, naming the lock file. */
export async function requireVerifiedLayer(lockfile: string, lock: Lockfile, arch: string, opts: VerifyLayerOptions): Promise<VerifiedLayer> {
  const v = await verifiedLayer(lock, arch, opts);
  if (v.problems.length > 0) throw layerMismatch(lockfile, arch, v.problems);
  return v;
}

/** What differs between a rebuilt layer's tree and the lock, before its tar is written: derivations (naming their outputs), provenance. */
function treeDifferences(lock: Lockfile, arch: string, built: BuiltLayer): string[] {
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
  return out;
}

/** How a blob differs from the lock's digest and compressor settings for its compression ("none": from the built tar's diff_id). */
function compressedAsLocked(lock: Lockfile, arch: string, built: BuiltLayer, kind: LayerCompression, blob: LayerBlob): string[] {
  if (kind === "none") return blob.digest === built.diffId ? [] : [`the tar streamed again has digest ${blob.digest}, not its diff_id ${built.diffId}`];
  const want = lock.architectures[arch]!.layer.compressed[kind];
  if (!want) return [`the lock records no ${kind} digest`];
  // The digest is the promise; the settings only explain a differing one. A compressor that
  // changed its name but not its bytes (pako to the same zlib in WASM) keeps the lock good.
  if (want.digest === blob.digest) return [];
  const problems = [`${kind} digest ${blob.digest}, the lock says ${want.digest}`];
  if (canonicalJson(want.settings) !== canonicalJson(blob.settings)) problems.push(`${kind} made by ${JSON.stringify(sortKeys(blob.settings))}, the lock by ${JSON.stringify(sortKeys(want.settings))}`);
  return problems;
}

function layerMismatch(lockfile: string, arch: string, problems: string[]): CheckFailedError {
  return new CheckFailedError(`the ${arch} layer built from ${lockfile} is not the one the lock promises:\n  ${problems.join("\n  ")}`, {
    hint: "if scratch-pkgs was upgraded, run scratch-pkgs lock to record the new layer; otherwise report this as a reproducibility bug (scratch-pkgs audit shows the differing paths)",
  });
}
