/**
 * `scratch-pkgs doctor BINARY`: what a binary needs at run time (its ELF interpreter and
 * DT_NEEDED sonames, and the libraries' own in turn), which Debian package of the manifest's
 * suites ships each (through the signed Contents indexes: binary-needs.ts), and — with a layer —
 * whether the layer has it, searched the way ld.so would (RUNPATH/RPATH, then the multiarch and
 * default library directories), following each found library's own needs in turn.
 */

import type { Lockfile } from "../model/lock.js";
import type { BinaryNeeds } from "../model/binary-needs.js";
import { ElfError, parseElf, type ElfInfo } from "../doctor/elf.js";
import { candidatePaths, searchDirs } from "../doctor/library-search.js";
import { runtimeHints } from "../doctor/runtime-hints.js";
import { lookup, readLayerTree, type LayerTree } from "../doctor/layer-files.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { MirrorFlags } from "../sources/mirrors.js";
import type { ResolutionMemo } from "../lock/memo.js";
import { lockedVersions, readBinary, traceBinaryNeeds, type NeedsTrace, type TracedNeed } from "./binary-needs.js";

export { MAX_BINARY_BYTES } from "./binary-needs.js";

export interface DoctorOptions {
  binary: string;
  /** A layer tar (plain, gzip or zstd). */
  layer?: string;
  lockfile?: string;
  arch?: string;
  /**
   * The manifest whose suites' Contents name the packages, and how to fetch them; absent: no
   * package is named (only a layer check).
   */
  config?: string;
  fetch?: MirrorFlags & { fetcher: Fetcher; now: Date; memo?: ResolutionMemo | undefined };
}

export type NeedStatus = "ok" | "missing" | "unchecked";

export interface DoctorNeed {
  kind: "interpreter" | "library";
  /** The interpreter's path or the soname. */
  name: string;
  /** The Debian package that ships it, when known. */
  package?: string;
  /** The built-in file set that selects it from that package, when there is one. */
  fileSet?: string;
  /** The path the package ships it at (as Contents spells it). */
  path?: string;
  /** Two or more packages ship it (the lock has none or several of them): all of them. */
  candidates?: string[];
  /** With --lockfile: whether that package is locked for the binary's architecture. */
  inLock?: boolean;
  status: NeedStatus;
  /** Where it was found in the layer (the path searched), and that path with symlinks resolved. */
  foundAt?: string;
  resolved?: string;
  /** Where it was looked for, when missing. */
  searched?: string[];
  /** Who needs it: the binary's path, or the sonames of libraries in the layer that list it. */
  neededBy: string[];
  /** Found, but ld.so could not load it: not an ELF shared library, or another architecture. */
  unusable?: string;
  advice?: string;
}

export interface DoctorReport {
  ok: boolean;
  binary: string;
  layer?: string;
  elf: ElfInfo;
  /** The architectures the binary is expected to run on (--arch, else the lock's), and whether it does. */
  arch: { binary: string | undefined; expected: string[]; mismatch: boolean };
  needs: DoctorNeed[];
  /** File sets the binary probably reads at run time (found by a byte search of the binary). */
  runtimeFileSets: Array<{ fileSet: string; reason: string }>;
  /** With a manifest: every file (and its package) the binary needs from the manifest's suites. */
  binaryNeeds?: BinaryNeeds;
  problems: string[];
  summary: { needs: number; ok: number; missing: number; unusable: number; unchecked: number };
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const bytes = await readBinary(opts.binary);
  const elf = parseElf(bytes, opts.binary);
  const lock = opts.lockfile !== undefined ? await (await import("../lockfile/read.js")).readLockfile(opts.lockfile) : undefined;
  const tree = opts.layer !== undefined ? await readLayerTree(opts.layer) : undefined;
  let found: NeedsTrace | undefined;
  if (opts.config !== undefined && opts.fetch !== undefined) {
    const [{ loadManifest }, { mirrorsFor }] = await Promise.all([import("../manifest/load.js"), import("../sources/mirrors.js")]);
    const loaded = await loadManifest(opts.config);
    const mirrors = await mirrorsFor(loaded.manifest.sources, opts.fetch);
    found = await traceBinaryNeeds({ binary: opts.binary, elf, bytes, loaded, fetcher: opts.fetch.fetcher, mirrors, now: opts.fetch.now, memo: opts.fetch.memo, locked: lockedVersions(lock, elf.debianArch) });
  }
  return diagnose({ binary: opts.binary, elf, bytes, lock, tree, layer: opts.layer, arch: opts.arch, found });
}

export interface DiagnoseInput {
  binary: string;
  elf: ElfInfo;
  /** The binary's bytes, for the run-time file hints. */
  bytes: Uint8Array;
  lock?: Lockfile | undefined;
  tree?: LayerTree | undefined;
  layer?: string | undefined;
  arch?: string | undefined;
  /** What the manifest's suites ship (binary-needs.ts); absent: no package is named. */
  found?: NeedsTrace | undefined;
}

/** The pure core: everything but reading files. */
export function diagnose(input: DiagnoseInput): DoctorReport {
  const { elf, lock, tree } = input;
  const problems: string[] = [];

  const expected = input.arch !== undefined ? [input.arch] : lock !== undefined ? Object.keys(lock.architectures).sort() : [];
  const mismatch = expected.length > 0 && (elf.debianArch === undefined || !expected.includes(elf.debianArch));
  if (mismatch) {
    const from = input.arch !== undefined ? "--arch" : "the lock";
    problems.push(`the binary is ${elf.debianArch ?? elf.machineName} (${elf.class}-bit ${elf.endian === "le" ? "little" : "big"}-endian), but ${from} wants ${expected.join(", ")}`);
  }
  // Lock membership is checked on the binary's own architecture (or the only one asked for).
  const lockArch = elf.debianArch ?? (expected.length === 1 ? expected[0] : undefined);
  const locked = lock !== undefined && lockArch !== undefined ? new Set((lock.architectures[lockArch]?.packages ?? []).map((p) => p.name)) : undefined;

  // What the manifest's suites ship, by need (a soname or the interpreter's path).
  const traced = new Map((input.found?.trace ?? []).filter((t) => t.kind !== "link").map((t) => [t.name, t]));
  const describe = (kind: DoctorNeed["kind"], name: string, by: string[]): DoctorNeed => {
    const need: DoctorNeed = { kind, name, status: "unchecked", neededBy: [...by] };
    const t = traced.get(name);
    if (t?.package !== undefined) {
      need.package = t.package;
      // The built-in file set still selects what libc6 ships.
      if (t.package === "libc6") need.fileSet = "libc";
      if (t.path !== undefined) need.path = t.path;
      if (locked) need.inLock = locked.has(t.package);
    }
    if (t?.candidates !== undefined) need.candidates = [...t.candidates];
    return need;
  };
  const needs: DoctorNeed[] = [];
  if (tree) layerWalk(input, tree, describe, needs, problems);
  else if (input.found) {
    // No layer: the needs as the walk through the packages met them, the libraries' own included.
    for (const t of input.found.trace) {
      if (t.kind === "link") continue;
      const need = describe(t.kind, t.name, t.neededBy);
      if (t.unusable !== undefined) {
        need.unusable = t.unusable;
        problems.push(`${t.name}: ${t.unusable}`);
      }
      needs.push(need);
    }
  } else {
    const by = [input.binary];
    if (elf.interpreter !== undefined) needs.push(describe("interpreter", elf.interpreter, by));
    for (const n of elf.needed) needs.push(describe("library", n, by));
  }
  for (const need of needs) {
    const t = traced.get(need.name);
    if (need.status !== "ok") need.advice = adviceFor(need, t, input.found !== undefined);
    // A need no package ships (or several do) fails unless the layer has it anyway.
    if (t !== undefined && t.package === undefined && need.status !== "ok") problems.push(`${need.name}: ${need.advice}`);
  }

  const runtimeFileSets: DoctorReport["runtimeFileSets"] = runtimeHints(input.bytes);

  const count = (s: NeedStatus): number => needs.filter((n) => n.status === s && n.unusable === undefined).length;
  return {
    ok: problems.length === 0,
    binary: input.binary,
    ...(input.layer !== undefined ? { layer: input.layer } : {}),
    elf,
    arch: { binary: elf.debianArch, expected, mismatch },
    needs,
    runtimeFileSets,
    ...(input.found !== undefined ? { binaryNeeds: input.found.needs } : {}),
    problems,
    summary: { needs: needs.length, ok: count("ok"), missing: count("missing"), unusable: needs.filter((n) => n.unusable !== undefined).length, unchecked: count("unchecked") },
  };
}

/**
 * Breadth first from the binary through the layer: each library found there is read in turn for
 * its own DT_NEEDED, as ld.so loads them (libstdc++.so.6 brings libm.so.6 and libgcc_s.so.1).
 */
function layerWalk(input: DiagnoseInput, tree: LayerTree, describe: (kind: DoctorNeed["kind"], name: string, by: string[]) => DoctorNeed, needs: DoctorNeed[], problems: string[]): void {
  const { elf } = input;
  const byName = new Map<string, DoctorNeed>();
  const queue: Array<{ kind: DoctorNeed["kind"]; name: string; by: string; dirs: string[] }> = [];
  const dirs = searchDirs(elf);
  if (elf.interpreter !== undefined) queue.push({ kind: "interpreter", name: elf.interpreter, by: input.binary, dirs });
  for (const n of elf.needed) queue.push({ kind: "library", name: n, by: input.binary, dirs });

  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const { kind, name, by } = item;
    const seen = byName.get(name);
    if (seen) {
      if (!seen.neededBy.includes(by)) seen.neededBy.push(by);
      continue;
    }
    const need = describe(kind, name, [by]);
    byName.set(name, need);
    const candidates = candidatePaths(kind, name, item.dirs);
    for (const c of candidates) {
      const r = lookup(tree, c);
      if (r.resolved !== undefined) {
        need.status = "ok";
        need.foundAt = c;
        need.resolved = r.resolved;
        break;
      }
    }
    if (need.status !== "ok") {
      need.status = "missing";
      need.searched = candidates;
      problems.push(`${name}${kind === "interpreter" ? " (interpreter)" : ""} is not in the layer ${input.layer ?? ""}`.trimEnd());
    }
    needs.push(need);

    const body = need.resolved !== undefined && kind === "library" ? tree.get(need.resolved)?.body : undefined;
    if (body === undefined) continue;
    let lib: ElfInfo;
    try {
      lib = parseElf(body, need.resolved!);
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
      need.unusable = `not an ELF shared library (${e.message})`;
      problems.push(`${name} in the layer (${need.resolved}) is ${need.unusable}`);
      continue;
    }
    if (lib.debianArch !== elf.debianArch) {
      need.unusable = `built for ${lib.debianArch ?? lib.machineName}, the binary for ${elf.debianArch ?? elf.machineName}`;
      problems.push(`${name} in the layer (${need.resolved}) is ${need.unusable}`);
      continue;
    }
    const libDirs = searchDirs(lib);
    for (const n of lib.needed) queue.push({ kind: "library", name: n, by: name, dirs: libDirs });
  }
}

function adviceFor(need: DoctorNeed, traced: TracedNeed | undefined, searchedContents: boolean): string {
  const base = need.name.slice(need.name.lastIndexOf("/") + 1);
  if (need.package === undefined) {
    if (need.candidates !== undefined) return `shipped by ${need.candidates.join(" and ")}: add the one you want to packages in scratch.json`;
    if (traced !== undefined) return `no package of the manifest's suites ships it (searched ${traced.searched.join(", ")})`;
    if (searchedContents) return "not looked up: the layer walk found it through a library the manifest's suites do not ship";
    return `package not looked up: pass --config scratch.json (the manifest whose suites' Contents name it) to find the package that ships ${base}`;
  }
  const add = need.fileSet !== undefined ? `add the "${need.fileSet}" file set (or "${need.package}" to packages)` : `add "${need.package}" to packages`;
  if (need.inLock === true) return `package ${need.package} is in the lock; check that its file selection keeps ${base}`;
  return `package ${need.package} — ${add} in scratch.json`;
}

export function formatDoctor(r: DoctorReport): string[] {
  const e = r.elf;
  const lines: string[] = [];
  const archText = e.debianArch ?? e.machineName;
  lines.push(`${r.binary}: ELF ${e.class}-bit ${e.endian === "le" ? "LSB" : "MSB"} ${e.machineName} (${archText}), ${e.static ? "static" : "dynamically linked"}`);
  if (e.rpath !== undefined) lines.push(`  RPATH ${e.rpath}`);
  if (e.runpath !== undefined) lines.push(`  RUNPATH ${e.runpath}`);
  if (r.arch.mismatch) lines.push(`FAIL architecture: ${r.problems[0] ?? ""}`);
  if (e.static) {
    lines.push("static binary: needs nothing from libc; a FROM scratch image runs it as is");
  }
  for (const n of r.needs) {
    const label = `${n.name}${n.kind === "interpreter" ? " (interpreter)" : ""}`;
    const pkg = n.package !== undefined ? `${n.package}${n.fileSet !== undefined ? `, file set ${n.fileSet}` : ""}` : "package unknown";
    const lockNote = n.inLock === undefined ? "" : n.inLock ? ", locked" : ", not in the lock";
    // Libraries the binary does not list itself say which library brings them in.
    const by = n.neededBy.filter((b) => b !== r.binary);
    const byNote = by.length > 0 ? ` — needed by ${by.join(", ")}` : "";
    if (n.status === "ok") {
      const via = n.resolved !== undefined && n.resolved !== n.foundAt ? ` as ${n.foundAt} → ${n.resolved}` : n.foundAt !== undefined && n.foundAt !== n.name ? ` as ${n.foundAt}` : "";
      if (n.unusable !== undefined) lines.push(`FAIL ${label}: in the layer${via}, but ${n.unusable}${byNote}`);
      else lines.push(`ok   ${label}: in the layer${via} (${pkg}${lockNote})${byNote}`);
    } else if (n.status === "missing") {
      lines.push(`MISS ${label}: not in the layer; ${n.advice ?? ""}${byNote}`);
    } else {
      const at = n.path !== undefined && n.path !== n.name ? ` at ${n.path}` : "";
      const what = n.package !== undefined ? `package ${n.package}${n.fileSet !== undefined ? ` (file set ${n.fileSet})` : ""}${at}${lockNote}` : (n.advice ?? "");
      lines.push(`${n.unusable !== undefined ? "FAIL" : "need"} ${label}: ${what}${n.unusable !== undefined ? `, but ${n.unusable}` : ""}${byNote}`);
    }
  }
  const b = r.binaryNeeds;
  if (b !== undefined && b.files.length > 0) {
    lines.push(`files: ${b.files.length} path${b.files.length === 1 ? "" : "s"} from ${b.packages.join(", ")} (--json lists them)`);
  }
  if (b?.shippedBy !== undefined) lines.push(`hint the binary is ${b.shippedBy.path} of package ${b.shippedBy.package} (the same bytes): it may read that package's other files; consider the package whole (add requests it)`);
  for (const h of r.runtimeFileSets) lines.push(`hint ${h.reason}: consider the "${h.fileSet}" file set`);
  const s = r.summary;
  const checked = r.layer !== undefined ? `${s.ok} in the layer, ${s.missing} missing${s.unusable > 0 ? `, ${s.unusable} unusable` : ""}` : "no layer checked (pass --layer TAR to check one)";
  lines.push(`${r.ok ? "ok" : "FAILED"}: ${s.needs} run-time need${s.needs === 1 ? "" : "s"}; ${checked}${r.arch.mismatch ? "; architecture mismatch" : ""}`);
  return lines;
}
