/**
 * What a binary needs from Debian (model/binary-needs.ts), found through the manifest's suites:
 * the interpreter and every DT_NEEDED, each looked up at the paths ld.so would try in the
 * signed Contents indexes, the owning package's .deb read (pinned by its Packages sha256, the
 * record chosen by the lock's resolver) to follow the path's links and the library's own
 * DT_NEEDED in turn. Contents is scanned once per breadth-first level, for every path that
 * level asks, so a binary costs as many passes as its dependency chain is deep (two or three);
 * only Contents-<arch>, since every path asked is an ELF file of that architecture. The first
 * pass also asks the binary's own name in the program directories: a package shipping the very
 * same bytes there is the one the binary is a file of (`shippedBy`).
 */
import { createHash } from "node:crypto";
import * as posix from "node:path/posix";
import type { ContentsHit } from "../debian/contents-lookup.js";
import { lookupContentsAcross } from "../sources/contents.js";
import { comparePaths } from "../util/byte-order.js";
import type { VerifiedSuite } from "../sources/archive.js";
import { chooseIndexes } from "../sources/index-choice.js";
import { mirrorsFor, type MirrorFlags, type MirrorPlan } from "../sources/mirrors.js";
import type { Fetcher } from "../fetch/fetcher.js";
import { readDeb, type DebContents } from "../deb/read-deb.js";
import type { DebMember } from "../model/layer.js";
import { Universe } from "../resolve/universe.js";
import { resolve } from "../resolve/resolver.js";
import { packageUrls } from "../layer/urls.js";
import { decodedMemberStore } from "../layer/decoded-members.js";
import { readIndexes } from "../lock/indexes.js";
import { verifySuites } from "../lock/suites.js";
import type { ResolutionMemo } from "../lock/memo.js";
import { ElfError, parseElf, type ElfInfo } from "../doctor/elf.js";
import { candidatePaths, searchDirs } from "../doctor/library-search.js";
import { followInDeb, membersByPath } from "../doctor/deb-links.js";
import { runtimeHints } from "../doctor/runtime-hints.js";
import { loadManifest } from "../manifest/load.js";
import type { LoadedManifest } from "../model/manifest.js";
import type { Lockfile } from "../model/lock.js";
import { parseLockfile, readLockfileBytesIfAny } from "../lockfile/read.js";
import type { BinaryNeeds, NeededFile, UnresolvedNeed } from "../model/binary-needs.js";
import { FileTooLargeError, NotRegularFileError, readRegularFile } from "../util/regular-file.js";
import { readExtent } from "../util/file-extent.js";
import { IOError, ResolveError, UsageError } from "../model/errors.js";

/** One need as the walk met it: the interpreter, a soname, or a link target another package ships. */
export interface TracedNeed {
  kind: "interpreter" | "library" | "link";
  /** The interpreter's path, the soname, or the link target's path. */
  name: string;
  /** The binary's path, or the sonames of the libraries that list it (for a link: whose file it is). */
  neededBy: string[];
  /** The paths looked up, in ld.so's order. */
  searched: string[];
  /** The path as Contents spells it, and the package shipping it, when one was chosen. */
  path?: string;
  package?: string;
  /** Two or more packages ship it and the lock does not decide: all of them. */
  candidates?: string[];
  /** Found, but ld.so could not load it (not ELF, another architecture, a broken link). */
  unusable?: string;
}

export interface NeedsTrace {
  needs: BinaryNeeds;
  /** Every need in the order the walk met them (breadth first from the binary). */
  trace: TracedNeed[];
  /** How many times the Contents indexes were read (one pass reads each suite's). */
  contentsPasses: number;
}

export interface TraceInput {
  binary: string;
  elf: ElfInfo;
  /** The binary's bytes, for the run-time file hints. */
  bytes: Uint8Array;
  loaded: LoadedManifest;
  fetcher: Fetcher;
  mirrors: MirrorPlan;
  now: Date;
  /** The lock's packages of the binary's architecture, name → version: chosen where several packages ship a path, and their versions read. */
  locked?: ReadonlyMap<string, string> | undefined;
  memo?: ResolutionMemo | undefined;
}

export interface FindBinaryNeedsOptions extends MirrorFlags {
  /** The binary to read. */
  binary: string;
  /** The manifest (scratch.json) whose sources and suites are searched. */
  config: string;
  fetcher: Fetcher;
  now: Date;
  /** A lock whose packages (of the binary's architecture) are preferred and kept at their versions; no file there is no lock. */
  lockfile?: string | undefined;
  memo?: ResolutionMemo | undefined;
}

/** What `add` calls: the binary's needs through the manifest's suites. */
export async function findBinaryNeeds(opts: FindBinaryNeedsOptions): Promise<BinaryNeeds> {
  const bytes = await readBinary(opts.binary);
  const elf = parseElf(bytes, opts.binary);
  const loaded = await loadManifest(opts.config);
  const mirrors = await mirrorsFor(loaded.manifest.sources, opts);
  const text = opts.lockfile !== undefined ? await readLockfileBytesIfAny(opts.lockfile) : undefined;
  const locked = lockedVersions(text && parseLockfile(text.toString("utf8"), opts.lockfile!), elf.debianArch);
  return (await traceBinaryNeeds({ binary: opts.binary, elf, bytes, loaded, fetcher: opts.fetcher, mirrors, now: opts.now, locked, memo: opts.memo })).needs;
}

/** The lock's packages of the binary's architecture, name → version. */
export function lockedVersions(lock: Lockfile | undefined, arch: string | undefined): Map<string, string> | undefined {
  if (lock === undefined || arch === undefined) return undefined;
  return new Map((lock.architectures[arch]?.packages ?? []).map((p) => [p.name, p.version]));
}

/** The largest binary doctor reads (it reads it whole, for the run-time file hints). */
export const MAX_BINARY_BYTES = 1 << 30;

export async function readBinary(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readRegularFile(path, { maxBytes: MAX_BINARY_BYTES }));
  } catch (e) {
    if (e instanceof NotRegularFileError) throw new UsageError(`${path}: is ${e.kind}, not a binary`, { hint: "pass the path of the binary (a regular ELF file) to check", cause: e });
    if (e instanceof FileTooLargeError) throw new UsageError(`${path}: is ${e.size} bytes, larger than the 1 GiB doctor reads`, { hint: "pass the path of the binary to check", cause: e });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UsageError(`${path}: no such file`, { hint: "pass the path of the binary to check", cause: e });
    throw new IOError(`${path}: cannot read the binary: ${(e as Error).message}`, { hint: "check the file's permissions", cause: e });
  }
}

interface Walking extends TracedNeed {
  /** The library or interpreter need a link need serves: its file's own needs are that one's. */
  serves: Walking;
}

/** A library's real file is read for its DT_NEEDED: only such names are kept with their bytes' place. */
const LIBRARY_NAME = /\.so(\.[0-9]+)*$/;

/** Where a package would install a program of this file name: looked up to tell whether the binary is one. */
export function packagedPaths(binary: string): string[] {
  const name = posix.basename(binary);
  return ["/usr/bin", "/usr/sbin", "/bin", "/sbin"].map((d) => `${d}/${name}`);
}

export async function traceBinaryNeeds(input: TraceInput): Promise<NeedsTrace> {
  const { elf, loaded, fetcher } = input;
  const { manifest } = loaded;
  const arch = elf.debianArch;
  const hints = runtimeHints(input.bytes).map((h) => h.fileSet);
  let shippedBy: BinaryNeeds["shippedBy"];
  const result = (trace: TracedNeed[], files: Map<string, NeededFile>, contentsPasses: number): NeedsTrace => {
    const sorted = [...files.values()].sort((a, b) => comparePaths(a.path, b.path));
    const unresolved: UnresolvedNeed[] = trace
      .filter((n) => n.package === undefined)
      .map((n) => ({ name: n.name, neededBy: [...n.neededBy], searched: [...n.searched], ...(n.candidates ? { candidates: [...n.candidates] } : {}) }))
      .sort((a, b) => comparePaths(a.name, b.name));
    return {
      needs: { binary: input.binary, architecture: arch ?? "", static: elf.static, files: sorted, packages: [...new Set(sorted.map((f) => f.package))].sort(comparePaths), fileSets: [...new Set(hints)].sort(comparePaths), unresolved, ...(shippedBy ? { shippedBy } : {}) },
      trace,
      contentsPasses,
    };
  };
  if (elf.static) return result([], new Map(), 0);
  if (arch === undefined) {
    throw new UsageError(`${input.binary}: built for ${elf.machineName} (${elf.class}-bit), which is no Debian architecture scratch-pkgs knows`, { hint: "check the binary with a Debian architecture's build (amd64, arm64, …)" });
  }

  const suites = await verifySuites(manifest, loaded.dir, input.mirrors, input);
  const locked = input.locked ?? new Map<string, string>();
  const needs = new Map<string, Walking>();
  const trace: Walking[] = [];
  let pending: Walking[] = [];
  const need = (kind: TracedNeed["kind"], name: string, by: string, dirs: readonly string[], serves?: Walking): void => {
    const seen = needs.get(`${kind}\0${name}`);
    if (seen) {
      if (!seen.neededBy.includes(by)) seen.neededBy.push(by);
      return;
    }
    const n = { kind, name, neededBy: [by], searched: kind === "link" ? [name] : candidatePaths(kind, name, dirs) } as Walking;
    n.serves = serves ?? n;
    needs.set(`${kind}\0${name}`, n);
    trace.push(n);
    pending.push(n);
  };
  const dirs = searchDirs(elf);
  if (elf.interpreter !== undefined) need("interpreter", elf.interpreter, input.binary, dirs);
  for (const n of elf.needed) need("library", n, input.binary, dirs);

  const answers = new Map<string, ContentsHit[]>();
  const files = new Map<string, NeededFile>();
  const file = (path: string, pkg: string, reason: string): void => {
    if (!files.has(path)) files.set(path, { path, package: pkg, reason });
  };
  // The binary's own name in the program directories, asked with the first level: a package
  // shipping those very bytes there is the one the binary came from.
  const self = packagedPaths(input.binary);
  const debs = new DebReader(fetcher, manifest, suites, input.mirrors, arch, locked, input.memo, new Set(self));
  let passes = 0;
  let selfChecked = false;
  debs.prepare();
  try {
    while (pending.length > 0) {
      const level = pending;
      pending = [];
      const ask = [...new Set([...level.flatMap((n) => n.searched), ...(passes === 0 ? self : [])])].filter((p) => !answers.has(p));
      if (ask.length > 0) {
        passes++;
        fetcher.progress.phase("reading the Contents indexes", `${ask.length} ${ask.length === 1 ? "path" : "paths"}`);
        for (const [path, hits] of await contentsOwners(fetcher, manifest, suites, arch, ask)) answers.set(path, hits);
      }
      const chosen = level.flatMap((n) => {
        const pick = choosePackage(n.searched, answers, locked);
        if (pick === undefined) return [];
        if ("candidates" in pick) {
          n.candidates = pick.candidates;
          return [];
        }
        n.path = pick.path;
        n.package = pick.package;
        return [{ n, path: pick.path, pkg: pick.package }];
      });
      // Downloads in parallel; the follow-up below runs in level order, so the answer never depends on timing.
      const fresh = [...new Set(chosen.map((c) => c.pkg))];
      if (fresh.length > 0) fetcher.progress.phase("reading the packages found", `${fresh.length} ${fresh.length === 1 ? "package" : "packages"}`);
      await Promise.all(fresh.map((p) => debs.open(p)));
      for (const { n, path, pkg } of chosen) {
        const deb = await debs.open(pkg);
        const reason = n.kind === "interpreter" ? `interpreter ${n.name}` : n.kind === "library" ? `soname ${n.name}` : `target of ${n.neededBy[0]}`;
        const r = followInDeb(deb.members, path);
        r.links.forEach((l, i) => file(l, pkg, i === 0 ? reason : `target of ${r.links[i - 1]}`));
        const via = r.links.at(-1);
        if (r.kind === "leaves") {
          need("link", r.next, via!, [], n.serves);
          continue;
        }
        if (r.kind === "problem") {
          n.serves.unusable = r.reason;
          continue;
        }
        file(r.file, pkg, via === undefined ? reason : `target of ${via}`);
        const root = n.serves;
        if (root.kind !== "library") continue;
        const lib = libraryElf(r.member, r.file, pkg, arch);
        if (typeof lib === "string") {
          root.unusable = lib;
          continue;
        }
        const libDirs = searchDirs(lib);
        for (const s of lib.needed) need("library", s, root.name, libDirs);
      }
      if (passes === 1 && !selfChecked) {
        selfChecked = true;
        shippedBy = await sameFileIn(debs, self, answers, locked, input.bytes);
      }
    }
  } finally {
    await debs.close();
  }
  return result(
    trace.map(({ serves: _, ...n }) => n),
    files,
    passes,
  );
}

/**
 * The package whose file at the first of `self` some package ships has the binary's bytes:
 * where several ship that path (bookworm's python3.11-minimal and python3.11-nopie), each is
 * compared; the one that matches is the answer, or the lock's where several do. Undefined when
 * none matches (or the file is a link): a package the Packages indexes lack is no match here.
 */
async function sameFileIn(
  debs: DebReader,
  self: readonly string[],
  answers: ReadonlyMap<string, ContentsHit[]>,
  locked: ReadonlyMap<string, string>,
  bytes: Uint8Array,
): Promise<BinaryNeeds["shippedBy"]> {
  const hit = self.map((p) => answers.get(p)?.[0]).find((h) => h !== undefined);
  if (hit === undefined) return undefined;
  const digest = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  const want = digest(bytes);
  const matches: string[] = [];
  for (const pkg of hit.packages) {
    const deb = await debs.open(pkg).catch((e: unknown) => {
      if (e instanceof ResolveError) return undefined;
      throw e;
    });
    const member = deb?.members.get(hit.path);
    if (member?.type === "file" && member.extent !== undefined && member.size === bytes.byteLength && digest(readExtent(member.extent)) === want) matches.push(pkg);
  }
  const inLock = matches.filter((m) => locked.has(m));
  const pkg = matches.length === 1 ? matches[0] : inLock.length === 1 ? inLock[0] : undefined;
  return pkg === undefined ? undefined : { package: pkg, path: hit.path };
}

/** The library's ELF header and dynamic section, or why ld.so could not load it. */
function libraryElf(member: DebMember, path: string, pkg: string, arch: string): ElfInfo | string {
  if (member.extent === undefined) return `${path} in ${pkg} is not named like a shared library, so its needs were not read`;
  let lib: ElfInfo;
  try {
    lib = parseElf(readExtent(member.extent), `${path} (${pkg})`);
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    return `not an ELF shared library (${e.message})`;
  }
  if (lib.debianArch !== arch) return `${path} in ${pkg} is built for ${lib.debianArch ?? lib.machineName}, the binary for ${arch}`;
  return lib;
}

/** Each asked path → the spellings the suites' Contents list (the asked one first), packages joined over the suites. */
function contentsOwners(fetcher: Fetcher, manifest: LoadedManifest["manifest"], suites: VerifiedSuite[], arch: string, paths: string[]): Promise<Map<string, ContentsHit[]>> {
  const withComponents = suites.map((vs) => ({ vs, components: manifest.sources.find((s) => s.name === vs.ref.source)!.components }));
  return lookupContentsAcross(fetcher, withComponents, { architecture: arch, paths, architectureOnly: true });
}

/**
 * The first searched path some package ships (ld.so takes the first directory that has it), and
 * which package: the only one, or the only one of several that the lock has; else all of them.
 */
export function choosePackage(
  searched: readonly string[],
  answers: ReadonlyMap<string, ContentsHit[]>,
  locked: ReadonlyMap<string, string>,
): { path: string; package: string } | { candidates: string[] } | undefined {
  for (const p of searched) {
    const hit = answers.get(p)?.[0];
    if (hit === undefined) continue;
    if (hit.packages.length === 1) return { path: hit.path, package: hit.packages[0]! };
    const inLock = hit.packages.filter((n) => locked.has(n));
    if (inLock.length === 1) return { path: hit.path, package: inLock[0]! };
    return { candidates: inLock.length > 1 ? inLock : [...hit.packages] };
  }
  return undefined;
}

interface OpenDeb {
  members: ReturnType<typeof membersByPath>;
}

/**
 * The .debs of the packages found, each read once: its Packages record chosen as `lock` would
 * (the resolver over the suites' verified indexes, the lock's versions kept), fetched through
 * the cache pinned by that record's sha256 and size.
 */
class DebReader {
  private universe: Promise<Universe> | undefined;
  private readonly opened = new Map<string, Promise<OpenDeb>>();
  private readonly read: DebContents[] = [];

  constructor(
    private readonly fetcher: Fetcher,
    private readonly manifest: LoadedManifest["manifest"],
    private readonly suites: VerifiedSuite[],
    private readonly mirrors: MirrorPlan,
    private readonly arch: string,
    private readonly locked: ReadonlyMap<string, string>,
    /** Where `lock` keeps decoded .deb members: xz is decoded once per package and machine. */
    private readonly memo: ResolutionMemo | undefined,
    /** Files besides libraries whose bytes are kept (the binary's own name, to compare). */
    private readonly alsoFiles: ReadonlySet<string>,
  ) {}

  open(name: string): Promise<OpenDeb> {
    let p = this.opened.get(name);
    if (!p) this.opened.set(name, (p = this.load(name)));
    return p;
  }

  /** Starts reading the suites' Packages indexes (while Contents is scanned: both mostly wait on decompression). */
  prepare(): Promise<Universe> {
    this.universe ??= (async () => {
      const choices = this.suites.flatMap((vs) => chooseIndexes(vs, this.manifest.sources.find((s) => s.name === vs.ref.source)!.components, this.arch).map((choice) => ({ vs, choice })));
      return new Universe(this.arch, await readIndexes(this.fetcher, choices));
    })();
    // Awaited by the first open(); a failure surfaces there, not as an unhandled rejection.
    this.universe.catch(() => {});
    return this.universe;
  }

  private async load(name: string): Promise<OpenDeb> {
    const universe = await this.prepare();
    let record;
    try {
      record = resolve(universe, [{ name, reason: "doctor" }], "none", { prefer: this.locked }).packages.find((p) => p.record.name === name)?.record;
    } catch (e) {
      if (!(e instanceof ResolveError)) throw e;
      throw new ResolveError(`the Contents index names package ${name}, but the ${this.arch} Packages indexes of the manifest's suites do not have it: ${e.message}`, { hint: "the archive's indexes disagree; try again later, or another mirror", cause: e });
    }
    if (record === undefined) throw new ResolveError(`package ${name} is not in the ${this.arch} Packages indexes of the manifest's suites`, { hint: "the archive's indexes disagree; try again later, or another mirror" });
    const source = this.manifest.sources.find((s) => s.name === record.origin.source)!;
    const url = `${source.url}/${record.filename}`;
    const urls = packageUrls(this.manifest.sources, this.mirrors, { name, source: source.name, suite: record.origin.suite, url });
    const path = await this.fetcher.fetchPinned({ urls, sha256: record.sha256, size: record.size, label: url });
    const plain = this.memo ? decodedMemberStore({ sha256: record.sha256 }, { derived: this.memo.refs }) : undefined;
    const deb = await readDeb(path, { label: `${name}_${record.version}_${record.architecture}.deb`, want: (p, type) => type === "file" && (LIBRARY_NAME.test(p) || this.alsoFiles.has(p)), ...(plain ? { plain } : {}) });
    this.read.push(deb);
    return { members: membersByPath(deb.data) };
  }

  /** Closes every .deb read (their extents cannot be read after this). */
  async close(): Promise<void> {
    // Nothing of this run is left reading once it returns, even when it failed early.
    await Promise.allSettled([this.universe, ...this.opened.values()]);
    await Promise.all(this.read.map((d) => d.release()));
  }
}
