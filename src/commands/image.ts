/**
 * `scratch-pkgs image`: the lock's layer (rebuilt from the .debs and checked against the lock's
 * digests) plus any --add layers → an OCI image layout with a multi-arch index, or a
 * single-architecture docker-archive; an SPDX SBOM per architecture. With --no-lock, a file
 * carrier: the --add layers alone.
 */
import { basename } from "node:path";
import { parseLockfile, readLockfileBytes } from "../lockfile/read.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ContentCache } from "../fetch/cache.js";
import { mirrorsFor } from "../sources/mirrors.js";
import { requireVerifiedLayer } from "../layer/verify.js";
import { checkOutputFiles, stageFiles, stageInOrder, type OutputFile, type PlannedOutput, type StreamedData } from "../util/atomic-write.js";
import { streamExtent } from "../util/file-extent.js";
import { sha256Hex } from "../util/hash.js";
import { LockfileError, UsageError } from "../model/errors.js";
import { debianArchOfPlatform, imageConfig, lockAccounts, lockFacts, NO_LOCK_FACTS, ociPlatform, parseExecForm, parseKeyValues, rfc3339, type ConfigFlags, type HistoryEntry, type LockFacts, type OciPlatform } from "../image/config.js";
import { accountsOver, checkImageUser } from "../image/user.js";
import { checkAddedOver, loadAddedLayer, type AddedLayer } from "../image/add-layer.js";
import type { LookUp } from "../deb/member-rules.js";
import { copyrightLicense, type DeclaredLicense } from "../image/copyright.js";
import { buildSbom, sbomText, type SbomImage } from "../image/sbom.js";
import { supplierOf } from "../image/supplier.js";
import { archTag, checkTarget, imageIndex, imageManifest, jsonBlob, layoutIndex, MEDIA, sbomArtifact, stageOciLayout, type Artifact, type Blob } from "../image/oci-layout.js";
import { dockerArchive } from "../image/docker-archive.js";
import { createSpoolFile, type SpoolFile } from "../util/spool-file.js";
import type { FileExtent } from "../model/layer.js";
import { withLockedDebFallback } from "../sources/snapshot-files.js";

export interface ImageOptions {
  lockfile: string;
  /** A file carrier: no lock is read; the image holds only the --add tars, for the --arch platforms. */
  noLock?: boolean;
  /** A file carrier's `created` (SOURCE_DATE_EPOCH), in seconds; default 0. A lock brings its own. */
  sourceDateEpoch?: number;
  /** Architectures; empty: every one in the lock (a docker-archive needs exactly one; --no-lock needs some). */
  arches: string[];
  /** More architectures, named by OCI platform ("linux/arm64"). */
  platforms?: string[];
  /** A directory (OCI layout) or a path ending in .tar (docker-archive). */
  output: string;
  /** Extra layer tars, in order; "{arch}" is replaced by the architecture. */
  add: string[];
  /** Let the --add tars hold device nodes and fifos (refused by default, as in a .deb). */
  allowDevices?: boolean;
  entrypoint: string[];
  cmd: string[];
  user: string | undefined;
  env: string[];
  workdir: string | undefined;
  labels: string[];
  /** OCI layout: the ref name (default "latest"). docker-archive: the RepoTag (default none). */
  tag: string | undefined;
  /** Also write each SPDX SBOM here; "{arch}" is replaced. */
  sbom: string | undefined;
  /** The SBOM's supplier of the image and its --add layers, SPDX form ("Organization: …" or "Person: …"). */
  supplier?: string | undefined;
  mirrors: string[];
  envMirror: string | undefined;
  aptSources: string | undefined;
  /** Suites the apt sources lack come from the lock's URLs instead of being refused. */
  aptSourcesFallback?: boolean;
  /** The snapshot service that serves the lock's .debs its URLs no longer serve (--snapshot-fallback); undefined: not asked. */
  snapshotFallback?: string | undefined;
  fetcher: Fetcher;
  /** Keeps decompressed .deb data and built layer blobs between runs (optional), as for `layer`. */
  cache?: ContentCache;
}

export interface ImageArchResult {
  arch: string;
  platform: OciPlatform;
  /** OCI layout only: the image manifest, and the ref name that names it alone ("<tag>-<arch>"). */
  manifest: { digest: string; size: number; tag: string } | undefined;
  /** The config blob: its digest is the image ID. */
  config: { digest: string; size: number };
  layers: Array<{ digest: string; size: number; diffId: string; from: string }>;
  sbom: string | undefined;
}

export interface ImageResult {
  format: "oci" | "docker-archive";
  output: string;
  tag: string | undefined;
  /** OCI layout only: the multi-arch index that the tag names. */
  index: { digest: string; size: number } | undefined;
  images: ImageArchResult[];
}

export type OutputFormat = "oci" | "docker-archive";

function outputFormat(output: string): OutputFormat {
  return /\.tar$/i.test(output) ? "docker-archive" : "oci";
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9._\-:/@+]*$/;

export async function runImage(opts: ImageOptions): Promise<ImageResult> {
  // Flags first: a usage error should not cost a layer build.
  const flags: ConfigFlags = {
    entrypoint: parseExecForm("entrypoint", opts.entrypoint),
    cmd: parseExecForm("cmd", opts.cmd),
    user: opts.user,
    env: parseKeyValues("env", opts.env),
    workdir: opts.workdir,
    labels: parseKeyValues("label", opts.labels),
  };
  if (flags.user !== undefined) checkImageUser(flags.user, "not yet");
  if (flags.workdir !== undefined && !flags.workdir.startsWith("/")) throw new UsageError(`--workdir ${flags.workdir} must be an absolute path`, { hint: "e.g. --workdir /home/nonroot" });
  if (opts.tag !== undefined && !TAG.test(opts.tag)) throw new UsageError(`--tag ${JSON.stringify(opts.tag)} is not a valid image reference`, { hint: "use letters, digits and . _ - : / @ +, e.g. --tag example/app:1.0" });
  if (opts.supplier !== undefined) checkSupplier(opts.supplier, opts.noLock === true);
  const format = outputFormat(opts.output);
  const chosen = [...opts.arches, ...(opts.platforms ?? []).map(debianArchOfPlatform)];

  // The temp files and open files the layers are read from while the image is written.
  const spools: Spooled[] = [];
  try {
    return await writeImage(opts, flags, format, chosen, spools);
  } finally {
    for (const s of spools) s.remove();
  }
}

type Spooled = Pick<SpoolFile, "remove">;

async function writeImage(opts: ImageOptions, flags: ConfigFlags, format: OutputFormat, chosen: readonly string[], spools: Spooled[]): Promise<ImageResult> {
  // The lock's layer is spooled to a temp file as it is made: an OCI layout's gzip blob, a
  // docker-archive's tar.
  const source = opts.noLock ? carrierSource(opts, chosen) : await lockSource(opts, chosen, { kind: format === "oci" ? "gzip" : "none", spools });
  const { arches } = source;
  if (format === "docker-archive" && arches.length !== 1) {
    throw new UsageError(`a docker-archive (--output ${opts.output}) holds one architecture, and ${source.archesFrom} ${arches.join(", ")}`, { hint: "pick one with --arch, or write an OCI layout (an --output without .tar) for all of them" });
  }
  if (opts.sbom !== undefined && arches.length > 1 && !opts.sbom.includes("{arch}")) {
    throw new UsageError(`--sbom ${opts.sbom} would receive ${arches.length} SBOMs (${arches.join(", ")})`, { hint: "put {arch} in the name, e.g. --sbom sbom-{arch}.spdx.json" });
  }
  const platforms = new Map(arches.map((a) => [a, ociPlatform(a)]));
  // Every output path is checked before any work: a refused one costs no layer build.
  const sbomPaths = new Map(opts.sbom === undefined || opts.noLock ? [] : arches.map((a) => [a, opts.sbom!.replaceAll("{arch}", a)]));
  const planned: PlannedOutput[] = [...sbomPaths.values()].map((path) => ({ path, flag: "--sbom" }));
  if (format === "oci") await checkTarget(opts.output);
  else planned.push({ path: opts.output, flag: "--output" });
  await checkOutputFiles(planned);
  const created = rfc3339(source.created);

  const addedByPath = new Map<string, Promise<AddedLayer>>();
  const blobs: Blob[] = [];
  const referrers: Artifact[] = [];
  const indexEntries: Array<{ arch: string; manifest: Blob; platform: OciPlatform }> = [];
  const images: ImageArchResult[] = [];
  const sbomFiles: OutputFile[] = [];
  let archive: ((sink: (chunk: Uint8Array) => void) => void) | undefined;

  for (const arch of arches) {
    const platform = platforms.get(arch)!;
    const base = await source.base(arch);
    const added: AddedLayer[] = [];
    // Each tar is checked alone once, and over the layers below it for each architecture.
    let below = base.below;
    for (const a of opts.add) {
      const file = a.replaceAll("{arch}", arch);
      let p = addedByPath.get(file);
      if (!p) {
        p = loadAddedLayer(file, { allowDevices: opts.allowDevices ?? false, keep: format === "oci" ? "blob" : "tar" }).then((l) => (spools.push(l), l));
        addedByPath.set(file, p);
      }
      const layer = await p;
      below = checkAddedOver(layer, below);
      added.push(layer);
    }
    const layers: ImageLayer[] = [
      ...(base.layer ? [base.layer] : []),
      ...added.map((a) => ({
        blob: { mediaType: MEDIA.layerGzip, digest: a.digest, size: a.size, bytes: a.blob ? extentData(a.blob) : notSpooled },
        tar: a.tar ?? notSpooled,
        diffId: a.diffId,
        from: a.file,
        history: { created_by: `scratch-pkgs image --add ${a.name}` },
      })),
    ];
    const config = jsonBlob(
      MEDIA.config,
      imageConfig({
        platform,
        created: source.created,
        facts: base.facts,
        accounts: accountsOver(lockAccounts(base.facts), added.map((a) => a.accounts)),
        flags,
        diffIds: layers.map((l) => l.diffId),
        history: layers.map((l) => l.history),
      }),
    );
    const layerList = layers.map((l) => ({ digest: l.blob.digest, size: l.blob.size, diffId: l.diffId, from: l.from }));
    // The manifest before the SBOM, which names it; a docker-archive has none of its own, so
    // its SBOM names the manifest the same image has in an OCI layout.
    const manifest = imageManifest(config, layers.map((l) => l.blob));
    const ociTag = archTag(opts.tag ?? "latest", arch);
    const sbom = base.sbom?.(added, {
      named: format === "oci" ? { ref: ociTag } : { repoTag: opts.tag === undefined ? undefined : repoTag(opts.tag) },
      manifestDigest: manifest.digest,
      configDigest: config.digest,
    });

    let manifestInfo: ImageArchResult["manifest"];
    if (format === "oci") {
      blobs.push(...layers.map((l) => l.blob), config, manifest);
      if (sbom) {
        const artifact = sbomArtifact(sbom, `sbom-${arch}.spdx.json`, manifest, created);
        blobs.push(artifact.manifest, ...artifact.blobs);
        referrers.push(artifact);
      }
      indexEntries.push({ arch, manifest, platform });
      manifestInfo = { digest: manifest.digest, size: manifest.size, tag: ociTag };
    } else {
      archive = dockerArchive({
        config: { digest: config.digest, bytes: config.bytes },
        layers: layers.map((l) => ({ diffId: l.diffId, tar: spooled(l.tar) })),
        repoTags: opts.tag === undefined ? [] : [repoTag(opts.tag)],
        mtime: source.created,
      });
    }
    const sbomPath = sbom ? sbomPaths.get(arch) : undefined;
    if (sbomPath !== undefined && sbom) sbomFiles.push({ path: sbomPath, data: sbom });
    images.push({ arch, platform, manifest: manifestInfo, config: { digest: config.digest, size: config.size }, layers: layerList, sbom: sbomPath });
  }

  // The SBOMs first, the image last: an SBOM newer than the image beside it names a manifest
  // that image does not have.
  const sboms = () => stageFiles(sbomFiles);
  if (format === "oci") {
    const index = imageIndex(indexEntries);
    const tag = opts.tag ?? "latest";
    await (await stageInOrder([sboms, () => stageOciLayout(opts.output, [...blobs, index], layoutIndex(index, tag, indexEntries, referrers))])).commit();
    return { format, output: opts.output, tag, index: { digest: index.digest, size: index.size }, images };
  }
  await (await stageInOrder([sboms, () => stageFiles([{ path: opts.output, data: async (write) => archive!(write) }])])).commit();
  return { format, output: opts.output, tag: opts.tag, index: undefined, images };
}

/** One layer of the image: the gzip blob of the OCI layout, the tar of a docker-archive. */
interface ImageLayer {
  blob: Blob;
  /** The tar (a docker-archive holds it; an OCI layout only the blob). */
  tar: FileExtent | typeof notSpooled;
  diffId: string;
  /** Where it came from, for the result: the lock and architecture, or the --add file. */
  from: string;
  history: HistoryEntry;
}

/** Stands for the lock layer's form that this image's format does not keep. */
const notSpooled = async (): Promise<void> => {
  throw new Error("image: a layer form that was not spooled was asked for");
};

function spooled(tar: ImageLayer["tar"]): FileExtent {
  if (typeof tar === "function") throw new Error("image: the layer tar was not spooled");
  return tar;
}

/** An extent as an output's data, re-hashed as it is read. */
function extentData(e: FileExtent): StreamedData {
  return async (write) => streamExtent(e, write);
}

/** What one architecture's image has before the --add layers. */
interface ArchBase {
  facts: LockFacts;
  /** The lock's layer; a file carrier has none. */
  layer: ImageLayer | undefined;
  /** What that layer holds at a path, for the --add tars' checks. */
  below: LookUp;
  /** The SPDX SBOM of the image with these added layers and this manifest; a file carrier has none. */
  sbom: ((added: readonly AddedLayer[], image: SbomImageNaming) => Uint8Array) | undefined;
}

/** How the image an SBOM describes is named (an OCI layout's ref or a docker-archive's RepoTag), and its digests. */
interface SbomImageNaming {
  named: { ref: string } | { repoTag: string | undefined };
  manifestDigest: string;
  configDigest: string;
}

/** SPDX 2.3's supplier field (clause 7.5): "Person: " or "Organization: " and a name, on one line. */
const SUPPLIER = /^(Person|Organization): \S[^\n\r]*$/;

function checkSupplier(supplier: string, noLock: boolean): void {
  if (noLock) throw new UsageError(`--supplier ${JSON.stringify(supplier)}: a file-carrier image (--no-lock) has no SBOM to name it in`, { hint: "drop --supplier, or build from a lock to get an SBOM" });
  if (!SUPPLIER.test(supplier)) {
    throw new UsageError(`--supplier ${JSON.stringify(supplier)} is not an SPDX supplier`, { hint: 'write "Organization: NAME (EMAIL)" or "Person: NAME (EMAIL)", e.g. --supplier "Organization: Example Ltd (ops@example.com)"' });
  }
}

/** Where the images start: a lock, or nothing at all (a file carrier). */
interface ImageSource {
  arches: string[];
  /** Says where the architectures came from, before the list, in errors: "scratch.lock has". */
  archesFrom: string;
  /** Seconds since the epoch: every `created` and the docker-archive's mtimes. */
  created: number;
  base(arch: string): Promise<ArchBase>;
}

const NO_LOCK_HINT = "run `scratch-pkgs lock` to create it, or pass its path with --lockfile FILE; for an image of only your own files, give --no-lock --add TAR --arch ARCH";

/** `spool`: which blob of each layer the image holds ("none": the tar), kept in a temp file added to `spools`. */
async function lockSource(opts: ImageOptions, chosen: readonly string[], spool: { kind: "gzip" | "none"; spools: Spooled[] }): Promise<ImageSource> {
  const lockBytes = await readLockfileBytes(opts.lockfile, NO_LOCK_HINT);
  const lockSha256 = sha256Hex(lockBytes);
  const lock = parseLockfile(lockBytes.toString("utf8"), opts.lockfile);

  const all = Object.keys(lock.architectures).sort();
  const arches = chosen.length > 0 ? [...new Set(chosen)].sort() : all;
  for (const a of arches) {
    if (!lock.architectures[a]) throw new UsageError(`${opts.lockfile} has no architecture ${a} (it has ${all.join(", ")})`, { hint: "add it to scratch.json's architectures and run scratch-pkgs lock" });
  }
  if (arches.length === 0) throw new LockfileError(`${opts.lockfile} has no architectures`, { hint: "run scratch-pkgs lock" });
  const mirrors = await mirrorsFor(lock.sources, opts);
  const fetcher = withLockedDebFallback(lock, opts.fetcher, opts.snapshotFallback);
  const lockName = basename(opts.lockfile);
  const licenses = new Map<string, DeclaredLicense>();
  const suppliers = new Map<string, string>();

  return {
    arches,
    archesFrom: `${opts.lockfile} has`,
    created: lock.sourceDateEpoch,
    base: async (arch) => {
      const file = await createSpoolFile();
      spool.spools.push(file);
      fetcher.progress.phase(`building the ${arch} layer`, `${lock.architectures[arch]!.packages.length} packages, gzip`);
      // The gzip digest is the layer's in the manifest, for either format.
      const verified = await requireVerifiedLayer(opts.lockfile, lock, arch, {
        fetcher,
        mirrors,
        // The cache holds decoded members and, by the lock's digests, the layer's blobs.
        ...(opts.cache ? { cache: opts.cache, layerCache: opts.cache } : {}),
        compressions: ["gzip", spool.kind],
        copyrights: true,
        into: (kind) => (kind === spool.kind ? (c) => file.write(c) : undefined),
      });
      const { built } = verified;
      const gzip = verified.blobs.get("gzip")!;
      const locked = lock.architectures[arch]!;
      for (const pkg of locked.packages) {
        // The copyright file was read in the layer build's own pass over the .deb.
        if (!licenses.has(pkg.sha256)) licenses.set(pkg.sha256, copyrightLicense(built.copyright.get(pkg.name)));
        if (!suppliers.has(pkg.sha256)) suppliers.set(pkg.sha256, supplierOf(built.control.get(pkg.name)));
      }
      const nodes = new Map(built.nodes.map((n) => [n.path, n]));
      const where = `the layer of ${lockName} (${arch})`;
      return {
        facts: lockFacts(lock, arch),
        below: (path) => {
          const n = nodes.get(path);
          return n && { type: n.type, target: n.target, where };
        },
        layer: {
          // Each format reads only what it spooled: the gzip blob (OCI) or the tar (docker-archive).
          blob: { mediaType: MEDIA.layerGzip, digest: gzip.digest, size: gzip.size, bytes: spool.kind === "gzip" ? file.data : notSpooled },
          tar: spool.kind === "none" ? file.extent(built.size, built.diffId.slice("sha256:".length), `the ${arch} layer spooled for ${opts.output}`) : notSpooled,
          diffId: built.diffId,
          from: `${lockName} (${arch})`,
          history: { created_by: `scratch-pkgs layer (${lockName} sha256:${lockSha256})`, comment: `${arch}: ${locked.packages.length} packages, ${locked.derivations.length} derivations` },
        },
        sbom: (added, { named, manifestDigest, configDigest }) => {
          const image: SbomImage = { ...sbomImageRef(lockName, named), manifestDigest, configDigest, supplier: opts.supplier };
          return Buffer.from(sbomText(buildSbom({ arch, lock, lockName, lockSha256, image, licenses, suppliers, nodes: built.nodes, added })), "utf8");
        },
      };
    },
  };
}

/**
 * A file carrier (--no-lock): an image of nothing but the --add tars, for the --arch platforms,
 * to be pushed and used with `COPY --from`. It holds no Debian package, so it has no SBOM and
 * its config nothing the lock would imply.
 */
function carrierSource(opts: ImageOptions, chosen: readonly string[]): ImageSource {
  if (opts.add.length === 0) throw new UsageError("--no-lock makes an image of only the --add tars, and no --add was given", { hint: "give your files as --add TAR (repeatable), or drop --no-lock to build from scratch.lock" });
  if (chosen.length === 0) throw new UsageError("--no-lock needs --arch (or --platform) to name the image's platforms (there is no lock to take them from)", { hint: "e.g. --arch amd64 --arch arm64, or --platform linux/amd64" });
  if (opts.sbom !== undefined) throw new UsageError(`--sbom ${opts.sbom}: a file-carrier image (--no-lock) has no SBOM, as it holds no Debian packages`, { hint: "drop --sbom, or build from a lock to get one" });
  return {
    arches: [...new Set(chosen)].sort(),
    archesFrom: "--arch and --platform name",
    created: opts.sourceDateEpoch ?? 0,
    base: async () => ({ facts: NO_LOCK_FACTS, layer: undefined, below: () => undefined, sbom: undefined }),
  };
}

/**
 * The image's purl name and tag in the SBOM: a docker-archive's RepoTag gives both
 * ("example/app:1.0" → app, 1.0); an OCI layout has only a ref name, so the name is the lock's
 * ("scratch.lock" → scratch).
 */
function sbomImageRef(lockName: string, named: { ref: string } | { repoTag: string | undefined }): { name: string; tag: string | undefined } {
  const fromLock = lockName.replace(/\.lock$/i, "").toLowerCase() || "image";
  if ("ref" in named) return { name: fromLock, tag: named.ref };
  if (named.repoTag === undefined) return { name: fromLock, tag: undefined };
  const colon = named.repoTag.lastIndexOf(":");
  return { name: named.repoTag.slice(0, colon).split("/").pop()!.toLowerCase(), tag: named.repoTag.slice(colon + 1) };
}

/** "example/app" → "example/app:latest"; a reference with a tag stays as it is. */
function repoTag(tag: string): string {
  return /:[^/]*$/.test(tag) ? tag : `${tag}:latest`;
}
