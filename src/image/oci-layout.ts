/**
 * OCI image layout (image-spec v1.1): content-addressed blobs, per-architecture image
 * manifests, one multi-arch image index, and `index.json` naming that index by tag. Each
 * architecture's SBOM is an artifact manifest (artifactType application/spdx+json) whose
 * `subject` is that architecture's image manifest, listed untagged in index.json as OCI 1.1
 * lays out referrers in a layout. JSON is written compactly with a fixed key order, so the
 * same inputs give the same digests.
 *
 * The directory is built in a temp dir beside the target and renamed into place.
 */
import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { digestBytes } from "../layer/digest.js";
import { fsyncDir } from "../util/atomic-write.js";
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
  bytes: Uint8Array;
}

export function blob(mediaType: string, bytes: Uint8Array): Blob {
  const d = digestBytes(bytes);
  return { mediaType, digest: d.digest, size: d.size, bytes };
}

/** Compact JSON (the object's own key order, which callers fix). */
export function jsonBlob(mediaType: string, value: unknown): Blob {
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

/**
 * Write the layout to `dir`: blobs (deduplicated by digest), oci-layout, index.json. Built in
 * a temp dir beside `dir` and renamed into place; an existing OCI layout at `dir` is replaced,
 * an empty directory is taken, anything else is refused.
 */
export async function writeOciLayout(dir: string, blobs: readonly Blob[], indexJson: string): Promise<void> {
  await checkTarget(dir);
  const parent = dirname(dir);
  const tmp = join(parent, `.${basename(dir)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await mkdir(join(tmp, "blobs", "sha256"), { recursive: true });
    const seen = new Set<string>();
    for (const b of blobs) {
      if (seen.has(b.digest)) continue;
      seen.add(b.digest);
      await writeFixed(join(tmp, "blobs", "sha256", b.digest.slice("sha256:".length)), b.bytes);
    }
    await writeFixed(join(tmp, "oci-layout"), OCI_LAYOUT);
    await writeFixed(join(tmp, "index.json"), indexJson);
    // Directory modes do not follow the umask either.
    for (const d of [join(tmp, "blobs", "sha256"), join(tmp, "blobs"), tmp]) await chmod(d, 0o755);
    await fsyncDir(join(tmp, "blobs", "sha256"));
    await replaceDir(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    if (e instanceof UsageError || e instanceof IOError) throw e;
    throw new IOError(`cannot write the OCI layout ${dir}: ${(e as Error).message}`, { cause: e, hint: "check that the parent directory exists and is writable" });
  }
}

async function writeFixed(path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(path, data, { mode: 0o644, flag: "wx" });
  await chmod(path, 0o644);
}

/** Refuses a target that exists and is neither an empty directory nor an OCI layout. */
export async function checkTarget(dir: string): Promise<void> {
  const st = await lstat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw new IOError(`cannot look at ${dir}: ${e.message}`, { cause: e });
  });
  if (!st) return;
  const hint = "give a new directory name, an empty directory, or an existing OCI layout to replace (or a FILE.tar for a docker-archive)";
  if (!st.isDirectory()) throw new UsageError(`--output ${dir} exists and is not a directory`, { hint });
  const names = await readdir(dir);
  if (names.length > 0 && !names.includes("oci-layout")) {
    throw new UsageError(`--output ${dir} is a non-empty directory that is not an OCI image layout (no oci-layout file); refusing to replace it`, { hint });
  }
}

/** Put `tmp` at `dir`, moving any old layout aside first and removing it after. */
async function replaceDir(tmp: string, dir: string): Promise<void> {
  const exists = await lstat(dir).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await rename(tmp, dir);
  } else {
    const old = `${tmp}.old`;
    await rename(dir, old);
    try {
      await rename(tmp, dir);
    } catch (e) {
      await rename(old, dir).catch(() => {});
      throw e;
    }
    await rm(old, { recursive: true, force: true });
  }
  await fsyncDir(dirname(dir));
}
