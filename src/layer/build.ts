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
import { EveryGlobTakes, selectMembers, selector } from "./select.js";
import type { FileSetPlan } from "../resolve/filesets.js";
import type { LayerNode } from "../model/layer.js";
import { streamLayerTar, type TarSink, type TarWriteOptions } from "./tar-writer.js";
import { createDigestSink, type BlobDigest } from "./digest.js";
import { runDerivation, type DerivationStep, type PackageFiles } from "./derivations.js";
import { provenanceManifest, PROVENANCE_PATH } from "./provenance.js";
import { comparePaths } from "../util/byte-order.js";
import { checkCopyrights, copyrightPath } from "./copyright.js";
import { readExtent, streamExtent } from "../util/file-extent.js";
import { createAnonymousFile, type AnonymousFile } from "../util/spool-file.js";
import type { StreamedData } from "../util/atomic-write.js";
import { collectGarbage } from "../util/collect-garbage.js";

export interface LayerPlan {
  arch: string;
  packages: readonly LockedPackage[];
  derivations: readonly DerivationStep[];
  /** Seconds since the epoch: every entry's mtime. */
  mtime: number;
  /** File sets each of whose globs must take something of their packages (`lock` passes the user's). */
  everyGlobTakes?: ReadonlyArray<Pick<FileSetPlan, "name" | "packages">>;
  /**
   * Read each package's copyright file, taken or not, into BuiltLayer.copyright (`image`, for
   * its SBOM). Only when asked: a large layer's are tens of MB, which `layer` and `lock` never use.
   */
  copyrights?: boolean;
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
   * the same pass as its members whether or not the layer takes it: the SBOM's licenses. Empty
   * unless the plan asks for `copyrights`.
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

/**
 * How far a layer's reads run ahead of the package being added to its tree: a read starts only
 * once the package this many before it is added. Twice the decoders, so that the other cores
 * keep decoding while the tree waits on one slow package (a libc6); no more, so that the member
 * lists alive at once are those of a few packages, never the closure's. At least 2: one read
 * ahead of the one being added, even on one core.
 */
const READ_AHEAD = Math.max(2, 2 * availableParallelism());

export async function buildLayer(plan: LayerPlan, sources: LayerSources): Promise<BuiltLayer> {
  // Download everything first (in parallel, bounded by the HTTP client), then read in lock
  // order so that the tree, and any conflict message, never depends on download timing.
  const paths = await Promise.all(
    plan.packages.map((p) => sources.fetcher.fetchPinned({ urls: sources.urlsFor(p), sha256: p.sha256, size: p.size, label: p.url })),
  );
  // Read (decompress, untar) the .debs in parallel, one per core (each decoder runs in its own
  // process or thread), started in lock order, and add each to the tree in lock order as soon as
  // it is read, whatever order they finish in: its member list goes once the tree holds what it takes.
  const takes = plan.packages.map((pkg) => selector(pkg.select));
  const reading = new Array<Promise<DebContents> | undefined>(plan.packages.length);
  const start = (i: number) => {
    const pkg = plan.packages[i];
    if (!pkg) return;
    const read = decoding.run(() => readDeb(paths[i]!, {
      label: `${pkg.name}_${pkg.version}_${pkg.architecture}.deb`,
      // A copyright file that is a link declares nothing: only a regular one is read for it.
      want: (path, type) => takes[i]!(path) || (plan.copyrights === true && type === "file" && path === copyrightPath(pkg.name)),
      plain: decodedMemberStore(pkg, sources),
    }));
    // Awaited in its turn: a read that fails before then is not an unhandled rejection.
    read.catch(() => {});
    reading[i] = read;
  };
  for (let i = 0; i < READ_AHEAD; i++) start(i);
  // The members' bytes stay in the decoded tars, open until the layer is released: only the
  // release functions are kept of what was read.
  const releases: Array<() => Promise<void>> = [];
  const release = async () => {
    await Promise.all(releases.map((r) => r()));
  };
  const assembly = new LayerAssembly(plan, takes);
  for (const i of plan.packages.keys()) {
    let deb: DebContents;
    try {
      deb = await reading[i]!;
    } catch (e) {
      // The first failed read in lock order (every earlier one was added). Every read started
      // still settles, and every decoded tar opened is closed, before the build fails.
      const rest = await Promise.allSettled(reading.slice(i + 1).filter((r) => r !== undefined));
      for (const r of rest) if (r.status === "fulfilled") releases.push(r.value.release);
      await release();
      throw e;
    }
    // Neither the promise nor this loop may keep the member list alive once it is added.
    reading[i] = undefined;
    releases.push(deb.release);
    start(i + READ_AHEAD);
    assembly.add(i, deb);
  }
  try {
    // The manifest's temp file, made here: the assembly's end is synchronous.
    const spool = await createAnonymousFile();
    try {
      return Object.assign(assembly.finish(spool), { release });
    } catch (e) {
      spool.discard();
      throw e;
    }
  } catch (e) {
    await release();
    throw e;
  }
}

/**
 * The layer from the packages, added one by one in lock order as they are read, then selection's
 * checks, derivations, provenance and the tar's digest. A package's failure is kept until every
 * package is read, so that the build fails as when all were read before any was used: a failed
 * read first (the caller's), then a decoded member that is not the locked one, then a glob that
 * takes nothing, then the tree's refusal, each the first in lock order.
 */
class LayerAssembly {
  private readonly tree = new LayerTree();
  private readonly files: PackageFiles[] = [];
  private readonly selected: Array<{ pkg: LockedPackage; taken: LayerNode[] }> = [];
  private readonly copyright = new Map<string, Uint8Array>();
  private readonly control = new Map<string, string>();
  private readonly decoded = new Map<string, DecodedMembers>();
  private readonly globs: EveryGlobTakes | undefined;
  private badDecoded: { error: unknown } | undefined;
  private refused: { error: unknown } | undefined;

  constructor(private readonly plan: LayerPlan, private readonly takes: ReadonlyArray<(path: string) => boolean>) {
    this.globs = plan.everyGlobTakes && new EveryGlobTakes(plan.everyGlobTakes, plan.arch);
  }

  /** Package `i` as read: what the layer takes of it. Its member list is not kept. */
  add(i: number, deb: DebContents): void {
    if (this.badDecoded) return;
    const pkg = this.plan.packages[i]!;
    try {
      // Before anything of a package is used: a member that is not the one the lock records fails the build.
      checkDecoded(pkg, deb.decoded, this.plan.arch);
    } catch (error) {
      this.badDecoded = { error };
      return;
    }
    this.globs?.feed(pkg, deb.data);
    if (this.refused) return;
    try {
      this.decoded.set(pkg.name, deb.decoded);
      if (this.plan.copyrights) {
        const own = deb.data.find((m) => m.type === "file" && m.path === copyrightPath(pkg.name));
        if (own?.extent) this.copyright.set(pkg.name, readExtent(own.extent));
      }
      this.control.set(pkg.name, deb.control);
      const nodes = selectMembers(deb.data, this.takes[i]!, pkg);
      for (const n of nodes) this.tree.add(n);
      this.selected.push({ pkg, taken: nodes });
      this.files.push({ name: pkg.name, control: deb.control, md5sums: deb.md5sums, files: nodes.filter((n) => n.type !== "dir").map((n) => n.path) });
    } catch (error) {
      this.refused = { error };
    }
  }

  /** Once every package is added. */
  finish(spool: AnonymousFile): Omit<BuiltLayer, "release"> {
    if (this.badDecoded) throw this.badDecoded.error;
    this.globs?.check();
    if (this.refused) throw this.refused.error;
    const { plan, tree, files, selected, copyright, control, decoded } = this;
    // Every package is read: the member lists and read buffers of all of them are garbage that
    // V8 would keep beside the derivations' and the provenance's (collect-garbage.ts).
    collectGarbage();

    checkCopyrights(tree.nodes, selected, plan.arch);

    const derivations: LockedDerivation[] = [];
    for (const step of plan.derivations) {
      const d = runDerivation(step, { nodes: tree.nodes }, files);
      for (const n of d.nodes) tree.add(n);
      derivations.push(d.record);
    }

    // The manifest's own directory first, so that the manifest lists it like every other path.
    tree.add({ path: PROVENANCE_PATH.slice(0, PROVENANCE_PATH.lastIndexOf("/")), type: "dir", mode: 0o755, uid: 0, gid: 0, origin: { kind: "implicit", reason: "parent directory" } });
    const manifest = provenanceManifest(tree.list(), derivations, spool);
    tree.add(manifest.node);
    const nodes = tree.list();
    // The provenance pass's garbage (a JSON line per path, ~40 MB for 140,000 paths) goes
    // before the tar pass, which runs synchronously to its end, adds its own.
    collectGarbage();

    let first: BlobDigest | undefined;
    const writeTar = (sink: TarSink, opts: TarPassOptions = {}): BlobDigest => {
      const digest = createDigestSink(sink);
      streamLayerTar(nodes, { mtime: plan.mtime, byPath: tree.nodes, ...opts }, digest.sink);
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
}
