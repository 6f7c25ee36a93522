/**
 * `scratch-pkgs doctor BINARY`: what a binary needs at run time (its ELF interpreter and
 * DT_NEEDED sonames), which Debian package ships each (a table of common ones: the lock holds
 * no file lists), and — with a layer — whether the layer has it, searched the way ld.so would
 * (RUNPATH/RPATH, then the multiarch and default library directories), following each found
 * library's own needs in turn.
 */

import { FileTooLargeError, NotRegularFileError, readRegularFile } from "../util/regular-file.js";
import { IOError, UsageError } from "../model/errors.js";
import type { Lockfile } from "../model/lock.js";
import { ElfError, parseElf, type ElfInfo } from "../doctor/elf.js";
import { architecture } from "../debian/architectures.js";
import { lookup, readLayerTree, type LayerTree } from "../doctor/layer-files.js";

export interface DoctorOptions {
  binary: string;
  /** A layer tar (plain, gzip or zstd). */
  layer?: string;
  lockfile?: string;
  arch?: string;
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
  problems: string[];
  summary: { needs: number; ok: number; missing: number; unusable: number; unchecked: number };
}

interface Known {
  package: string;
  fileSet?: string;
}

/** Sonames of common Debian packages; libc6's are also selected by the built-in "libc" file set. */
const KNOWN: Array<[RegExp, Known]> = [
  [/^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libanl\.so\.1|libnss_[a-z]+\.so\.2|ld-linux[-a-z0-9_.]*\.so\.[0-9]+|ld64\.so\.[12]|ld\.so\.1)$/, { package: "libc6", fileSet: "libc" }],
  [/^libgcc_s\.so\.1$/, { package: "libgcc-s1" }],
  [/^libstdc\+\+\.so\.6$/, { package: "libstdc++6" }],
  [/^(libssl|libcrypto)\.so\.3$/, { package: "libssl3" }],
  [/^libz\.so\.1$/, { package: "zlib1g" }],
];

export function packageFor(soname: string): Known | undefined {
  for (const [re, k] of KNOWN) if (re.test(soname)) return k;
  return undefined;
}

/** Library directories ld.so searches, RUNPATH (or else RPATH) first; $ORIGIN entries skipped. */
export function searchDirs(elf: ElfInfo): string[] {
  const dirs: string[] = [];
  const extra = elf.runpath ?? elf.rpath;
  if (extra !== undefined) {
    for (const d of extra.split(":")) if (d.startsWith("/") && !d.includes("$")) dirs.push(d.replace(/\/+$/, "") || "/");
  }
  const triplet = elf.debianArch !== undefined ? architecture(elf.debianArch)?.triplet : undefined;
  if (triplet !== undefined) dirs.push(`/lib/${triplet}`, `/usr/lib/${triplet}`);
  dirs.push("/lib", "/usr/lib", "/lib64", "/usr/lib64");
  return [...new Set(dirs)];
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const bytes = await readBinary(opts.binary);
  const elf = parseElf(bytes, opts.binary);
  const lock = opts.lockfile !== undefined ? await (await import("../lockfile/read.js")).readLockfile(opts.lockfile) : undefined;
  const tree = opts.layer !== undefined ? await readLayerTree(opts.layer) : undefined;
  return diagnose({ binary: opts.binary, elf, bytes, lock, tree, layer: opts.layer, arch: opts.arch });
}

/** The largest binary doctor reads (it reads it whole, for the run-time file hints). */
export const MAX_BINARY_BYTES = 1 << 30;

async function readBinary(path: string): Promise<Uint8Array> {
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

export interface DiagnoseInput {
  binary: string;
  elf: ElfInfo;
  /** The binary's bytes, for the run-time file hints. */
  bytes: Uint8Array;
  lock?: Lockfile | undefined;
  tree?: LayerTree | undefined;
  layer?: string | undefined;
  arch?: string | undefined;
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

  // Breadth first from the binary: with a layer, each library found there is read in turn for
  // its own DT_NEEDED, as ld.so loads them (libstdc++.so.6 brings libm.so.6 and libgcc_s.so.1).
  const needs: DoctorNeed[] = [];
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
    const base = name.slice(name.lastIndexOf("/") + 1);
    const known = packageFor(base);
    const need: DoctorNeed = { kind, name, status: "unchecked", neededBy: [by] };
    byName.set(name, need);
    if (known) {
      need.package = known.package;
      if (known.fileSet !== undefined) need.fileSet = known.fileSet;
      if (locked) need.inLock = locked.has(known.package);
    }
    if (tree) {
      // A soname with a slash is used as a path as is; so is the interpreter.
      const candidates = kind === "interpreter" || name.includes("/") ? [name] : item.dirs.map((d) => `${d === "/" ? "" : d}/${name}`);
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
      }
    }
    if (need.status !== "ok") need.advice = adviceFor(need, base);
    if (need.status === "missing") problems.push(`${name}${kind === "interpreter" ? " (interpreter)" : ""} is not in the layer ${input.layer ?? ""}`.trimEnd());
    needs.push(need);

    const body = need.resolved !== undefined && kind === "library" ? tree?.get(need.resolved)?.body : undefined;
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

  const runtimeFileSets: DoctorReport["runtimeFileSets"] = [];
  if (contains(input.bytes, "/etc/ssl/certs")) runtimeFileSets.push({ fileSet: "ca-certs", reason: 'the binary mentions "/etc/ssl/certs" (TLS certificate verification)' });
  if (contains(input.bytes, "zoneinfo")) runtimeFileSets.push({ fileSet: "tzdata", reason: 'the binary mentions "zoneinfo" (time zone data)' });

  const count = (s: NeedStatus): number => needs.filter((n) => n.status === s && n.unusable === undefined).length;
  return {
    ok: problems.length === 0,
    binary: input.binary,
    ...(input.layer !== undefined ? { layer: input.layer } : {}),
    elf,
    arch: { binary: elf.debianArch, expected, mismatch },
    needs,
    runtimeFileSets,
    problems,
    summary: { needs: needs.length, ok: count("ok"), missing: count("missing"), unusable: needs.filter((n) => n.unusable !== undefined).length, unchecked: count("unchecked") },
  };
}

function adviceFor(need: DoctorNeed, base: string): string {
  if (need.package === undefined) {
    return `unknown package: add the package that ships ${base} to packages in scratch.json (tip: \`apt-file search ${base}\` finds it)`;
  }
  const add = need.fileSet !== undefined ? `add the "${need.fileSet}" file set (or "${need.package}" to packages)` : `add "${need.package}" to packages`;
  if (need.inLock === true) return `package ${need.package} is in the lock; check that its file selection keeps ${base}`;
  return `package ${need.package} — ${add} in scratch.json`;
}

/** Plain byte search (the binary's strings are ASCII). */
function contains(hay: Uint8Array, needle: string): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).includes(needle, 0, "latin1");
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
      lines.push(`need ${label}: ${n.package !== undefined ? `package ${n.package}${n.fileSet !== undefined ? ` (file set ${n.fileSet})` : ""}${lockNote}` : (n.advice ?? "")}`);
    }
  }
  for (const h of r.runtimeFileSets) lines.push(`hint ${h.reason}: consider the "${h.fileSet}" file set`);
  const s = r.summary;
  const checked = r.layer !== undefined ? `${s.ok} in the layer, ${s.missing} missing${s.unusable > 0 ? `, ${s.unusable} unusable` : ""}` : "no layer checked (pass --layer TAR to check it and follow the libraries' own needs)";
  lines.push(`${r.ok ? "ok" : "FAILED"}: ${s.needs} run-time need${s.needs === 1 ? "" : "s"}; ${checked}${r.arch.mismatch ? "; architecture mismatch" : ""}`);
  return lines;
}
