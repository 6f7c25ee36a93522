/**
 * OCI image layout (image-spec v1.1): content-addressed blobs, per-architecture image
 * manifests, one multi-arch image index, and `index.json` naming that index by tag. Each
 * architecture's SBOM is an artifact manifest (artifactType application/spdx+json) whose
 * `subject` is that architecture's image manifest, listed untagged in index.json as OCI 1.1
 * lays out referrers in a layout. JSON is written compactly with a fixed key order, so the
 * same inputs give the same digests.
 */
import { chmod, lstat, mkdir, readdir, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { digestBytes } from "../layer/digest.js";
import { checkParentDir, fsyncDir, prepared, stageFiles, writeFilesAtomic, writeSynced, type OutputFile, type StagedOutputs, type StreamedData } from "../util/atomic-write.js";
import { OUTPUT_SWEEP, sweepStaleTemp, tempFileName, tempFileOwner } from "../util/temp-files.js";
import { IOError, UsageError } from "../model/errors.js";
import type { OciPlatform } from "./config.js";

export const MEDIA = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  layerTar: "application/vnd.oci.image.layer.v1.tar",
  empty: "application/vnd.oci.empty.v1+json",
  spdx: "application/spdx+json",
} as const;

const REF_NAME = "org.opencontainers.image.ref.name";
const CREATED = "org.opencontainers.image.created";
const TITLE = "org.opencontainers.image.title";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface Blob extends Descriptor {
  /** In memory, or (a layer) streamed from where it was spooled. */
  bytes: Uint8Array | StreamedData;
}

/** A blob held in memory: a config, a manifest, an SBOM. */
export interface MemoryBlob extends Blob {
  bytes: Uint8Array;
}

export function blob(mediaType: string, bytes: Uint8Array): MemoryBlob {
  const d = digestBytes(bytes);
  return { mediaType, digest: d.digest, size: d.size, bytes };
}

/** Compact JSON (the object's own key order, which callers fix). */
export function jsonBlob(mediaType: string, value: unknown): MemoryBlob {
  return blob(mediaType, Buffer.from(JSON.stringify(value), "utf8"));
}

function descriptorOf(b: Descriptor): Descriptor {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size };
}

export function imageManifest(config: Descriptor, layers: readonly Descriptor[]): Blob {
  return jsonBlob(MEDIA.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: descriptorOf(config),
    layers: layers.map(descriptorOf),
  });
}

export function platformJson(p: OciPlatform): Record<string, string> {
  return { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) };
}

/** The multi-arch index; entries in the given order (callers sort by architecture). */
export function imageIndex(entries: ReadonlyArray<{ manifest: Descriptor; platform: OciPlatform }>): Blob {
  return jsonBlob(MEDIA.index, {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: entries.map((e) => ({ ...descriptorOf(e.manifest), platform: platformJson(e.platform) })),
  });
}

/** "{}": the config of artifact manifests (image-spec 1.1 "empty descriptor"). */
const EMPTY_CONFIG: Blob = blob(MEDIA.empty, Buffer.from("{}", "utf8"));

export interface Artifact {
  manifest: Blob;
  blobs: Blob[];
}

/** An SBOM as an artifact manifest referring to (subject) one image manifest. */
export function sbomArtifact(sbom: Uint8Array, fileName: string, subject: Descriptor, created: string): Artifact {
  const layer = blob(MEDIA.spdx, sbom);
  const manifest = jsonBlob(MEDIA.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    artifactType: MEDIA.spdx,
    config: { ...descriptorOf(EMPTY_CONFIG), data: "e30=" },
    layers: [{ ...descriptorOf(layer), annotations: { [TITLE]: fileName } }],
    subject: descriptorOf(subject),
    annotations: { [CREATED]: created },
  });
  return { manifest, blobs: [layer, EMPTY_CONFIG] };
}

/**
 * index.json: the multi-arch index tagged `tag`; each image manifest tagged `<tag>-<arch>`
 * (Debian architecture name), for tools that cannot pick a platform from an index (umoci);
 * then the SBOM referrers, untagged.
 */
export function layoutIndex(index: Descriptor, tag: string, images: ReadonlyArray<{ arch: string; manifest: Descriptor }>, referrers: readonly Artifact[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      { ...descriptorOf(index), annotations: { [REF_NAME]: tag } },
      ...images.map((i) => ({ ...descriptorOf(i.manifest), annotations: { [REF_NAME]: archTag(tag, i.arch) } })),
      ...referrers.map((r) => ({ ...descriptorOf(r.manifest), artifactType: MEDIA.spdx })),
    ],
  });
}

export function archTag(tag: string, arch: string): string {
  return `${tag}-${arch}`;
}

const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: "1.0.0" });
const BLOB_NAME = /^[0-9a-f]{64}$/;
const TARGET_HINT = "give a new directory name, an empty directory, or an OCI layout this tool wrote (or a FILE.tar for a docker-archive)";

/** What is at an image --output: nothing (or an empty directory), or a layout of ours to update. */
export type LayoutTarget = "new" | "layout";

/**
 * Stage the layout at `dir`; commit makes it the new image. At every instant index.json names
 * complete blobs. A new layout (no directory, or an empty one) is built as a temp directory of
 * ours beside `dir` and renamed into place. An existing one is updated in place: each blob
 * written to a temp and renamed to its name (content-addressed, so the old index still finds
 * what it names), then commit replaces oci-layout and index.json atomically and only then
 * removes the blobs the new index no longer names.
 */
export async function stageOciLayout(output: string, blobs: readonly Blob[], indexJson: string): Promise<StagedOutputs> {
  const dir = output.replace(/(.)\/+$/, "$1");
  const target = await checkTarget(dir);
  const unique = [...new Map(blobs.map((b) => [b.digest, b])).values()];
  const files = (root: string): OutputFile[] => [
    ...unique.map((b) => ({ path: join(root, "blobs", "sha256", hexOf(b.digest)), data: b.bytes, exactMode: true })),
    { path: join(root, "oci-layout"), data: OCI_LAYOUT, exactMode: true },
    { path: join(root, "index.json"), data: indexJson, exactMode: true },
  ];
  try {
    return target === "new" ? await stageNewLayout(dir, files) : await stageLayoutUpdate(dir, files(dir), new Set(unique.map((b) => hexOf(b.digest))));
  } catch (e) {
    if (e instanceof UsageError || e instanceof IOError) throw e;
    throw new IOError(`cannot write the OCI layout ${dir}: ${(e as Error).message}`, { cause: e, hint: "check that the directory is writable and has space" });
  }
}

const hexOf = (digest: string): string => digest.slice("sha256:".length);

async function stageNewLayout(dir: string, files: (root: string) => OutputFile[]): Promise<StagedOutputs> {
  const parent = dirname(dir);
  // An empty directory with a dead run's temps in it is still empty to us, once they are gone.
  for (const d of [parent, dir]) await sweepStaleTemp(d, Date.now(), OUTPUT_SWEEP);
  const tmp = join(parent, tempFileName());
  const discard = async () => rm(tmp, { recursive: true, force: true });
  const prepare = async () => {
    await mkdir(join(tmp, "blobs", "sha256"), { recursive: true });
    for (const f of files(tmp)) await writeSynced(f.path, f.data, 0o644, true);
    // Directory modes do not follow the umask either.
    for (const d of [join(tmp, "blobs", "sha256"), join(tmp, "blobs"), tmp]) {
      await chmod(d, 0o755);
      await fsyncDir(d);
    }
  };
  return prepared(prepare, discard, async () => {
    // rename(2) replaces an empty directory atomically, so there is never a moment without one.
    await rename(tmp, dir).catch(async (e: unknown) => {
      await discard();
      throw new IOError(`cannot move the new OCI layout into ${dir}: ${(e as Error).message}`, { cause: e, hint: "the directory must be empty or absent; nothing was changed" });
    });
    await fsyncDir(parent);
  });
}

async function stageLayoutUpdate(dir: string, files: OutputFile[], keep: ReadonlySet<string>): Promise<StagedOutputs> {
  const blobDir = join(dir, "blobs", "sha256");
  if (!(await lstat(blobDir).catch(() => undefined))) {
    await mkdir(blobDir, { recursive: true });
    for (const d of [join(dir, "blobs"), blobDir]) await chmod(d, 0o755);
  }
  // A new layout's build directory, if a run was killed and the layout appeared since.
  await sweepStaleTemp(dirname(dir), Date.now(), OUTPUT_SWEEP);
  // The blobs go into place now: no index names a new one before commit.
  await writeFilesAtomic(files.slice(0, -2));
  const tops = await stageFiles(files.slice(-2));
  return {
    discard: tops.discard,
    commit: async () => {
      await tops.commit();
      // Best effort: the new image is in place; a blob left over goes with the next run.
      for (const name of await readdir(blobDir).catch(() => [])) {
        if (!BLOB_NAME.test(name) || keep.has(name)) continue;
        const path = join(blobDir, name);
        if ((await lstat(path).catch(() => undefined))?.isFile()) await unlink(path).catch(() => {});
      }
      await fsyncDir(blobDir);
    },
  };
}

/**
 * What is at `dir`: nothing or an empty directory ("new"), or an OCI layout holding nothing but
 * what this tool writes ("layout": oci-layout, index.json, blobs/sha256/<hex>, our temps).
 * Anything else is refused (exit 2) and left as it is: updating would remove its blobs.
 */
export async function checkTarget(output: string): Promise<LayoutTarget> {
  const dir = output.replace(/(.)\/+$/, "$1");
  const st = await lstat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw new IOError(`cannot look at ${dir}: ${e.message}`, { cause: e });
  });
  if (!st) {
    await checkParentDir(dir, "--output");
    return "new";
  }
  if (!st.isDirectory()) throw new UsageError(`--output ${dir} exists and is not a directory`, { hint: TARGET_HINT });
  const names = (await readdir(dir)).filter((n) => tempFileOwner(n) === undefined);
  if (names.length === 0) return "new";
  if (!names.includes("oci-layout")) {
    throw new UsageError(`--output ${dir} is a non-empty directory that is not an OCI image layout (no oci-layout file); refusing to replace it`, { hint: TARGET_HINT });
  }
  const foreign = await foreignEntry(dir, names);
  if (foreign) throw new UsageError(`--output ${dir} holds ${foreign}, which is not part of an OCI layout this tool writes; refusing to update it (its blobs would be removed)`, { hint: TARGET_HINT });
  return "layout";
}

/** The first entry of the layout at `dir` that this tool would not have written, if any. */
async function foreignEntry(dir: string, names: readonly string[]): Promise<string | undefined> {
  for (const n of [...names].sort()) {
    const st = await lstat(join(dir, n));
    if ((n === "oci-layout" || n === "index.json") && st.isFile()) continue;
    if (n !== "blobs" || !st.isDirectory()) return join(dir, n);
  }
  if (!names.includes("blobs")) return undefined;
  for (const n of (await readdir(join(dir, "blobs"))).sort()) {
    if (n !== "sha256" || !(await lstat(join(dir, "blobs", n))).isDirectory()) return join(dir, "blobs", n);
  }
  for (const n of (await readdir(join(dir, "blobs", "sha256")).catch(() => [])).sort()) {
    if (tempFileOwner(n) !== undefined) continue;
    if (!BLOB_NAME.test(n) || !(await lstat(join(dir, "blobs", "sha256", n))).isFile()) return join(dir, "blobs", "sha256", n);
  }
  return undefined;
}
