/**
 * One architecture's layer, from the lock alone: fetch and verify the .debs, take the selected
 * members, run the derivations in their fixed order, write the provenance manifest, and
 * serialise the tree as a deterministic tar. `lock` and `layer` both come here, so the digests
 * the lock promises are the ones `layer` produces.
 */
import { availableParallelism } from "node:os";
import type { Fetcher } from "../fetch/fetcher.js";
import { Limiter } from "../fetch/limiter.js";
import type { DecodedMembers, LockedDerivation, LockedPackage } from "../model/lock.js";
import { readDeb, type DebContents } from "../deb/read-deb.js";
import { checkDecoded, decodedMemberStore, type DecodedMemberPlaces } from "./decoded-members.js";
import { LayerTree } from "./tree.js";
import { checkEveryGlobTakes, selectMembers, selector } from "./select.js";
import type { FileSetPlan } from "../resolve/filesets.js";
import type { LayerNode } from "../model/layer.js";
import { streamLayerTar, type TarSink, type TarWriteOptions } from "./tar-writer.js";
import { createDigestSink, type BlobDigest } from "./digest.js";
import { runDerivation, type DerivationStep, type PackageFiles } from "./derivations.js";
import { provenanceManifest, PROVENANCE_PATH } from "./provenance.js";
import { comparePaths } from "../util/byte-order.js";
import { checkCopyrights, copyrightPath } from "./copyright.js";
import { readExtent, streamExtent } from "../util/file-extent.js";
import type { StreamedData } from "../util/atomic-write.js";

export interface LayerPlan {
  arch: string;
  packages: readonly LockedPackage[];
  derivations: readonly DerivationStep[];
  /** Seconds since the epoch: every entry's mtime. */
  mtime: number;
  /** File sets each of whose globs must take something of their packages (`lock` passes the user's). */
  everyGlobTakes?: ReadonlyArray<Pick<FileSetPlan, "name" | "packages">>;
}

/** How one pass writes the tar (see TarWriteOptions). */
export type TarPassOptions = Pick<TarWriteOptions, "wholeTarChecked">;

export interface BuiltLayer {
  /**
   * Write the layer's tar into `sink`, synchronously, in chunks: the tar is never held whole.
   * Returns the digest of what it wrote. Every call writes the same bytes (with
   * `wholeTarChecked`, only if the decoded files did not change on disk: the caller compares).
   */
  writeTar(sink: TarSink, opts?: TarPassOptions): BlobDigest;
  /**
   * The tar's digest and size: those of the first writeTar pass, so that a layer is hashed in
   * the pass that writes it; asked before any pass, a pass that only hashes.
   */
  readonly diffId: string;
  readonly size: number;
  /**
   * The provenance manifest, in a nameless temp file (readable after release too): streamed
   * (`data`) to an output, or read whole (`bytes`, checked against its sha256) where needed whole.
   */
  provenance: { path: string; sha256: string; entries: number; size: number; data: StreamedData; bytes(): Uint8Array };
  derivations: LockedDerivation[];
  /** Every node of the layer but the root, sorted by path bytes. */
  nodes: LayerNode[];
  /**
   * Each package's copyright file (a regular file at copyrightPath), by package name, read in
   * the same pass as its members whether or not the layer takes it: the SBOM's licenses.
   */
  copyright: ReadonlyMap<string, Uint8Array>;
  /** Each package's control file text, by package name, from the same pass: the SBOM's suppliers. */
  control: ReadonlyMap<string, string>;
  /** Each package's decoded control.tar and data.tar digests, by package name: what `lock` records. */
  decoded: ReadonlyMap<string, DecodedMembers>;
  /** Close the decoded tars the package files are read from: writeTar cannot run after this. */
  release(): Promise<void>;
}

/** Where decoded control.tar and data.tar members are kept between runs (audit passes neither: it re-derives). */
export interface LayerSources extends DecodedMemberPlaces {
  fetcher: Fetcher;
  /** URLs to fetch a locked package from, in order (mirrors first). */
  urlsFor(pkg: LockedPackage): string[];
}

/** .debs being read at once in this process, whichever layers they are for: one per core. */
const decoding = new Limiter(availableParallelism());

export async function buildLayer(plan: LayerPlan, sources: LayerSources): Promise<BuiltLayer> {
  // Download everything first (in parallel, bounded by the HTTP client), then read in lock
  // order so that the tree, and any conflict message, never depends on download timing.
  const paths = await Promise.all(
    plan.packages.map((p) => sources.fetcher.fetchPinned({ urls: sources.urlsFor(p), sha256: p.sha256, size: p.size, label: p.url })),
  );
  // Read (decompress, untar) the .debs in parallel, one per core (each decoder runs in its own
  // process or thread), then add to the tree in lock order, whatever order they finished in.
  // The largest start first: one big .deb (libc6) started last would be decoded alone at the end.
  const takes = plan.packages.map((pkg) => selector(pkg.select));
  const reading = new Array<Promise<DebContents>>(plan.packages.length);
  for (const i of largestFirst(plan.packages)) {
    const pkg = plan.packages[i]!;
    reading[i] = decoding.run(() => readDeb(paths[i]!, {
      label: `${pkg.name}_${pkg.version}_${pkg.architecture}.deb`,
      // A copyright file that is a link declares nothing: only a regular one is read for it.
      want: (path, type) => takes[i]!(path) || (type === "file" && path === copyrightPath(pkg.name)),
      plain: decodedMemberStore(pkg, sources),
    }));
  }
  const read = await Promise.allSettled(reading);
  const failed = read.find((r): r is PromiseRejectedResult => r.status === "rejected");
  const debs = read.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  // Neither the settled results nor the promises may keep the member lists alive.
  read.length = 0;
  reading.length = 0;
  // The members' bytes stay in the decoded tars, open until the layer is released. Only the
  // release functions are kept: the member lists (a few hundred bytes a path) go once assembled.
  const releases = debs.map((d) => d.release);
  const release = async () => {
    await Promise.all(releases.map((r) => r()));
  };
  try {
    if (failed) throw failed.reason;
    return Object.assign(assemble(plan, takes, debs), { release });
  } catch (e) {
    await release();
    throw e;
  }
}

/** Indexes of `packages`, the largest .deb first (ties in lock order): the order their reads start in. */
function largestFirst(packages: readonly LockedPackage[]): number[] {
  return packages.map((_, i) => i).sort((a, b) => packages[b]!.size - packages[a]!.size || a - b);
}

/** The layer from the packages as read: selection, derivations, provenance, the tar's digest. */
function assemble(plan: LayerPlan, takes: ReadonlyArray<(path: string) => boolean>, debs: DebContents[]): Omit<BuiltLayer, "release"> {
  // Before anything of a package is used: a member that is not the one the lock records fails the build.
  plan.packages.forEach((pkg, i) => checkDecoded(pkg, debs[i]!.decoded, plan.arch));
  if (plan.everyGlobTakes) checkEveryGlobTakes(plan.everyGlobTakes, plan.packages.map((pkg, i) => ({ pkg, members: debs[i]!.data })), plan.arch);
  const tree = new LayerTree();
  const files: PackageFiles[] = [];
  const selected: Array<{ pkg: LockedPackage; taken: LayerNode[] }> = [];
  const copyright = new Map<string, Uint8Array>();
  const control = new Map<string, string>();
  const decoded = new Map<string, DecodedMembers>();
  for (const [i, pkg] of plan.packages.entries()) {
    const deb = debs[i]!;
    decoded.set(pkg.name, deb.decoded);
    const own = deb.data.find((m) => m.type === "file" && m.path === copyrightPath(pkg.name));
    if (own?.extent) copyright.set(pkg.name, readExtent(own.extent));
    control.set(pkg.name, deb.control);
    const nodes = selectMembers(deb.data, takes[i]!, pkg);
    for (const n of nodes) tree.add(n);
    selected.push({ pkg, taken: nodes });
    files.push({ name: pkg.name, control: deb.control, md5sums: deb.md5sums, files: nodes.filter((n) => n.type !== "dir").map((n) => n.path) });
  }
  // Everything the layer needs of the .debs is taken: their member lists can go.
  debs.length = 0;

  checkCopyrights(tree.nodes, selected, plan.arch);

  const derivations: LockedDerivation[] = [];
  for (const step of plan.derivations) {
    const d = runDerivation(step, { nodes: tree.nodes }, files);
    for (const n of d.nodes) tree.add(n);
    derivations.push(d.record);
  }

  // The manifest's own directory first, so that the manifest lists it like every other path.
  tree.add({ path: PROVENANCE_PATH.slice(0, PROVENANCE_PATH.lastIndexOf("/")), type: "dir", mode: 0o755, uid: 0, gid: 0, origin: { kind: "implicit", reason: "parent directory" } });
  const manifest = provenanceManifest(tree.list(), derivations);
  tree.add(manifest.node);
  const nodes = tree.list();

  let first: BlobDigest | undefined;
  const writeTar = (sink: TarSink, opts: TarPassOptions = {}): BlobDigest => {
    const digest = createDigestSink(sink);
    streamLayerTar(nodes, { mtime: plan.mtime, ...opts }, digest.sink);
    const written = digest.result();
    first ??= written;
    return written;
  };
  const tar = (): BlobDigest => first ?? writeTar(() => {});
  const provenanceExtent = manifest.node.extent!;
  return {
    writeTar,
    get diffId() {
      return tar().digest;
    },
    get size() {
      return tar().size;
    },
    provenance: {
      path: PROVENANCE_PATH,
      sha256: manifest.sha256,
      entries: manifest.entries,
      size: manifest.size,
      data: async (write) => streamExtent(provenanceExtent, write),
      bytes: () => readExtent(provenanceExtent),
    },
    derivations,
    nodes: nodes.sort((a, b) => comparePaths(a.path, b.path)),
    copyright,
    control,
    decoded,
  };
}
