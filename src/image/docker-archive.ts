/**
 * A docker-archive (the `docker save` / `docker load` format) of one architecture's image:
 * manifest.json naming the config and the layer files, and the blobs under blobs/sha256/ as
 * Docker 25+ writes them. Layers are stored uncompressed, as `docker save` does, so every
 * docker version (and skopeo's docker-archive transport) reads them without decompressing and
 * each layer file's digest is its diff_id. The tar itself is written by the layer tar writer:
 * sorted entries, fixed modes, every mtime the lock's SOURCE_DATE_EPOCH.
 */
import { streamLayerTar, type TarSink } from "../layer/tar-writer.js";
import type { FileExtent, LayerNode } from "../model/layer.js";

export interface DockerArchiveInput {
  /** The config JSON bytes (the same blob the OCI layout holds: the image ID is its digest). */
  config: { digest: string; bytes: Uint8Array };
  /** Uncompressed layer tars in order, with their diff_ids: where each was spooled or is kept. */
  layers: ReadonlyArray<{ diffId: string; tar: FileExtent }>;
  /** "name:tag" references to record (RepoTags); may be empty. */
  repoTags: readonly string[];
  mtime: number;
}

const blobPath = (digest: string): string => `blobs/sha256/${digest.slice("sha256:".length)}`;

/**
 * Writes the archive into a sink, streaming the layer tars (image.ts stages it with the SBOMs,
 * whole or not at all).
 */
export function dockerArchive(input: DockerArchiveInput): (sink: TarSink) => void {
  const manifest = [
    {
      Config: blobPath(input.config.digest),
      RepoTags: [...input.repoTags],
      Layers: input.layers.map((l) => blobPath(l.diffId)),
    },
  ];
  const node = (path: string, bytes?: Uint8Array | FileExtent): LayerNode =>
    bytes
      ? { path, type: "file", mode: 0o644, uid: 0, gid: 0, ...(bytes instanceof Uint8Array ? { content: bytes } : { extent: bytes }), origin: { kind: "implicit", reason: "docker-archive" } }
      : { path, type: "dir", mode: 0o755, uid: 0, gid: 0, origin: { kind: "implicit", reason: "docker-archive" } };
  const files = new Map<string, Uint8Array | FileExtent>();
  files.set(`/${blobPath(input.config.digest)}`, input.config.bytes);
  for (const l of input.layers) files.set(`/${blobPath(l.diffId)}`, l.tar);
  const nodes: LayerNode[] = [node("/blobs"), node("/blobs/sha256"), ...[...files].map(([p, c]) => node(p, c)), node("/manifest.json", Buffer.from(JSON.stringify(manifest), "utf8"))];
  return (sink) => void streamLayerTar(nodes, { mtime: input.mtime }, sink);
}
