/**
 * Rebuilding a lock's layer and comparing it with what the lock promises: shared by `layer`,
 * `image` and `audit`, so that all three judge a layer by the same rules.
 */
import type { Lockfile } from "../model/lock.js";
import type { MirrorPlan } from "../sources/mirrors.js";
import { buildLayer, type BuiltLayer, type LayerSources } from "./build.js";
import { compressLayer, type CompressedLayer, type LayerCompression } from "../codec/compress.js";
import { digestBytes } from "./digest.js";
import { packageUrls } from "./urls.js";
import { canonicalJson } from "../util/canonical-json.js";
import { CheckFailedError, LockfileError } from "../model/errors.js";

/** Build an architecture's layer exactly as the lock describes it (packages, rules, derivation steps, mtime). */
export function buildLockedLayer(lock: Lockfile, arch: string, sources: Omit<LayerSources, "urlsFor"> & { mirrors: MirrorPlan }): Promise<BuiltLayer> {
  const locked = lock.architectures[arch]!;
  if (!locked.layer) throw new LockfileError(`the lock has no layer digests for ${arch}`, { hint: "run scratch-pkgs lock (with this version) to record them" });
  return buildLayer(
    { arch, packages: locked.packages, derivations: locked.derivations.map((d) => ({ recipe: d.recipe, options: d.options })), mtime: lock.sourceDateEpoch },
    { fetcher: sources.fetcher, urlsFor: (p) => packageUrls(lock.sources, sources.mirrors, p), ...(sources.cache ? { cache: sources.cache } : {}) },
  );
}

/** What differs between a rebuilt layer and the lock: derivations (naming their outputs), provenance, diff_id. */
export function layerDifferences(lock: Lockfile, arch: string, built: BuiltLayer): string[] {
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
export async function compressedAsLocked(
  lock: Lockfile,
  arch: string,
  built: BuiltLayer,
  kind: LayerCompression,
): Promise<{ compressed: CompressedLayer; digest: string; size: number; problems: string[] }> {
  const compressed = await compressLayer(built.tar, kind);
  if (kind === "none") return { compressed, digest: built.diffId, size: built.size, problems: [] };
  const { digest, size } = digestBytes(compressed.bytes);
  const want = lock.architectures[arch]!.layer.compressed[kind];
  const problems: string[] = [];
  if (!want) problems.push(`the lock records no ${kind} digest`);
  else if (canonicalJson(want.settings) !== canonicalJson(compressed.settings)) {
    problems.push(`${kind} settings ${JSON.stringify(compressed.settings)}, the lock says ${JSON.stringify(want.settings)}`);
  } else if (want.digest !== digest) problems.push(`${kind} digest ${digest}, the lock says ${want.digest}`);
  return { compressed, digest, size, problems };
}

export function layerMismatch(lockfile: string, arch: string, problems: string[]): CheckFailedError {
  return new CheckFailedError(`the ${arch} layer built from ${lockfile} is not the one the lock promises:\n  ${problems.join("\n  ")}`, {
    hint: "if scratch-pkgs was upgraded, run scratch-pkgs lock to record the new layer; otherwise report this as a reproducibility bug (scratch-pkgs audit shows the differing paths)",
  });
}
