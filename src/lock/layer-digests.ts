/**
 * What a lock records about each architecture's layer: it builds the layer through the same
 * code as `layer` (memoised by everything the bytes depend on) and keeps the derivations, the
 * digests, each package's decoded-member digests and, in the cache, the provenance manifest
 * that `audit` compares paths against.
 */
import { appliesOn, type Manifest } from "../model/manifest.js";
import type { MirrorPlan, MirrorSource } from "../sources/mirrors.js";
import { compressorSettings, LOCKED_COMPRESSIONS } from "../codec/compressor-settings.js";
import { derivationSteps } from "../layer/derivations.js";
import { packageUrls } from "../layer/urls.js";
import { storeBlob } from "../fetch/blob-store.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ContentCache } from "../fetch/cache.js";
import type { ResolutionMemo } from "./memo.js";
import { fileSetPlans } from "./plan.js";
import type { DecodedMembers, LockedArchitecture, LockedLayer, LockedPackage, LockedPathOrigin } from "../model/lock.js";

/** What lockLayer adds to an architecture: its packages with their decoded digests, derivations and layer. */
type LockedLayerParts = Pick<LockedArchitecture, "packages" | "derivations" | "layer">;
/** What the memo keeps: the decoded digests in package order. */
type Memoised = Pick<LockedArchitecture, "derivations" | "layer"> & { decoded: DecodedMembers[] };

/** What building a lock's layers needs from the run. */
export interface LayerDigestContext {
  fetcher: Fetcher;
  /** Where the provenance manifests and the built layer's blobs are kept (the cache). */
  blobs?: ContentCache;
  memo?: ResolutionMemo;
}

/** Build the layer through the same code as `layer`, to record what it must produce (memoised). */
export async function lockLayer(
  manifest: Manifest,
  arch: string,
  packages: LockedPackage[],
  mtime: number,
  opts: LayerDigestContext,
  mirrors: MirrorPlan,
  sources: readonly MirrorSource[],
  /** This architecture's packages of path-only sets (contents-paths.ts): their paths must be taken too. */
  origins: readonly LockedPathOrigin[] = [],
): Promise<LockedLayerParts> {
  const steps = derivationSteps({
    arch,
    fileSets: manifest.fileSets.map((s) => ({ name: s.name, ...(s.kind === "tzdata" ? { timezone: s.timezone } : {}) })),
    dpkgStatus: manifest.dpkgStatus,
  });
  // The compressors are dependencies, not our code: their versions and every setting that
  // shapes their bytes key the memo too, or an upgraded or reconfigured compressor would leave
  // stale compressed digests in the lock. Known without loading the compressors (a hit uses none).
  const compressors = LOCKED_COMPRESSIONS.map((kind) => compressorSettings(kind));
  const everyGlobTakes = fileSetPlans(manifest, origins)
    .filter((s) => s.everyGlobMustMatch)
    .map((s) => ({ name: s.name, packages: s.packages.filter((p) => appliesOn(p, arch)) }));
  const key = opts.memo?.key({ kind: "layer", arch, mtime, steps, compressors, everyGlobTakes, packages: packages.map((p) => ({ name: p.name, sha256: p.sha256, select: p.select })) }, "layer");
  const hit = key ? await opts.memo!.get<Memoised>(key) : undefined;
  if (hit && hit.decoded?.length === packages.length) return withDecoded(packages, hit);
  // Loaded on a miss only: a warm lock builds nothing. The packages come from the signed
  // indexes, not from a lock: their decoded members are found only behind the user's authenticated refs.
  const [{ buildLayer }, { lockedLayer }] = await Promise.all([import("../layer/build.js"), import("../layer/expected.js")]);
  opts.fetcher.progress.phase(`building the ${arch} layer`, `${packages.length} packages`);
  const built = await buildLayer(
    { arch, packages, derivations: steps, mtime, everyGlobTakes },
    { fetcher: opts.fetcher, urlsFor: (p) => packageUrls(sources, mirrors, p), ...(opts.memo ? { derived: opts.memo.refs } : {}) },
  );
  opts.fetcher.progress.phase(`compressing the ${arch} layer`, LOCKED_COMPRESSIONS.join(" and "));
  let layer: LockedLayer;
  try {
    layer = await lockedLayer(built, opts.blobs);
    // Kept so that `audit` can name the paths of a layer that no longer matches.
    if (opts.blobs) await storeBlob(opts.blobs, built.provenance.sha256, built.provenance.data);
  } finally {
    await built.release();
  }
  const result: Memoised = { derivations: built.derivations, layer, decoded: packages.map((p) => built.decoded.get(p.name)!) };
  if (key) await opts.memo!.set(key, result);
  return withDecoded(packages, result);
}

function withDecoded(packages: LockedPackage[], m: Memoised): LockedLayerParts {
  return { packages: packages.map((p, i) => ({ ...p, decoded: m.decoded[i]! })), derivations: m.derivations, layer: m.layer };
}
