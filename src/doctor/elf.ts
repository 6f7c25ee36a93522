/**
 * A small, pure ELF reader: class, byte order, machine, the program interpreter (PT_INTERP) and
 * the dynamic section's DT_NEEDED / DT_RPATH / DT_RUNPATH strings. Only program headers are
 * used (section headers may be stripped). Every offset is bounds-checked and every loop is
 * bounded by the file size, so a hostile file yields an ElfError, never a crash or a hang.
 */

import { EXIT, ScratchError } from "../model/errors.js";
import { architectureOfElf } from "../debian/architectures.js";

/** The file is not a (well-formed) ELF executable or shared object. Exit 2. */
export class ElfError extends ScratchError {
  readonly exitCode = EXIT.usage;
  readonly kind = "elf";
  constructor(
    readonly file: string,
    detail: string,
    options?: { hint?: string; cause?: unknown },
  ) {
    super(`${file}: ${detail}`, { hint: options?.hint ?? "pass a Linux executable or shared library (an ELF file)", cause: options?.cause });
  }
}

export interface ElfInfo {
  class: 32 | 64;
  endian: "le" | "be";
  machine: number;
  machineName: string;
  debianArch?: string;
  interpreter?: string;
  needed: string[];
  rpath?: string;
  runpath?: string;
  /** No interpreter and no DT_NEEDED: runs without anything from libc's files. */
  static: boolean;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_STRSZ = 10n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;
const PN_XNUM = 0xffff;
/** Longest string read from the string table (sonames and paths are far shorter). */
const MAX_STRING = 4096;

const MACHINES: Record<number, string> = {
  2: "sparc",
  3: "i386",
  8: "mips",
  20: "powerpc",
  21: "powerpc64",
  22: "s390",
  40: "arm",
  43: "sparcv9",
  50: "ia64",
  62: "x86-64",
  183: "aarch64",
  243: "riscv",
  258: "loongarch",
};

interface Segment {
  type: number;
  offset: number;
  vaddr: bigint;
  filesz: number;
}

export function parseElf(bytes: Uint8Array, label: string): ElfInfo {
  const fail = (detail: string): never => {
    throw new ElfError(label, detail);
  };
  if (bytes.length < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    fail("not an ELF file (no \\x7fELF magic at its start)");
  }
  const cls = bytes[4] === 1 ? 32 : bytes[4] === 2 ? 64 : fail(`unknown ELF class ${bytes[4]} (expected 1 for 32-bit or 2 for 64-bit)`);
  const endian = bytes[5] === 1 ? "le" : bytes[5] === 2 ? "be" : fail(`unknown ELF data encoding ${bytes[5]} (expected 1 little-endian or 2 big-endian)`);
  const is64 = cls === 64;
  const le = endian === "le";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.length;

  const need = (off: number, len: number, what: string): void => {
    if (off < 0 || len < 0 || off + len > size) fail(`truncated: ${what} (bytes ${off}..${off + len}) lies beyond the end of the file (${size} bytes)`);
  };
  const u16 = (off: number): number => view.getUint16(off, le);
  const u32 = (off: number): number => view.getUint32(off, le);
  const word = (off: number): bigint => (is64 ? view.getBigUint64(off, le) : BigInt(view.getUint32(off, le)));
  const sword = (off: number): bigint => (is64 ? view.getBigInt64(off, le) : BigInt(view.getInt32(off, le)));
  /** A file offset or size as a number; anything past the file cannot be valid. */
  const fileNum = (v: bigint, what: string): number => {
    if (v > BigInt(size)) fail(`${what} (${v}) points outside the file (${size} bytes)`);
    return Number(v);
  };

  need(0, is64 ? 64 : 52, "the ELF header");
  const type = u16(16);
  if (type === 1) fail("is a relocatable object file (.o), not an executable or shared library");
  if (type === 4) fail("is a core dump, not an executable or shared library");
  const machine = u16(18);
  const flags = u32(is64 ? 48 : 36);
  const phoff = fileNum(word(is64 ? 32 : 28), "e_phoff");
  const phentsize = u16(is64 ? 54 : 42);
  let phnum = u16(is64 ? 56 : 44);
  if (phnum === PN_XNUM) {
    // The real count is in section header 0's sh_info.
    const shoff = fileNum(word(is64 ? 40 : 32), "e_shoff");
    need(shoff, is64 ? 64 : 40, "section header 0");
    phnum = u32(shoff + (is64 ? 44 : 28));
  }
  const minEnt = is64 ? 56 : 32;
  if (phnum > 0 && phentsize < minEnt) fail(`program header entry size ${phentsize} is smaller than ${minEnt}`);
  if (phnum > 0) need(phoff, phnum * phentsize, `the program header table (${phnum} entries)`);

  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const b = phoff + i * phentsize;
    const ptype = u32(b);
    const offset = word(b + (is64 ? 8 : 4));
    const vaddr = word(b + (is64 ? 16 : 8));
    const filesz = word(b + (is64 ? 32 : 16));
    if (ptype !== PT_LOAD && ptype !== PT_DYNAMIC && ptype !== PT_INTERP) continue;
    const what = `program header ${i} (${ptype === PT_LOAD ? "PT_LOAD" : ptype === PT_DYNAMIC ? "PT_DYNAMIC" : "PT_INTERP"})`;
    const off = fileNum(offset, `${what} offset`);
    const len = fileNum(filesz, `${what} size`);
    need(off, len, what);
    segments.push({ type: ptype, offset: off, vaddr, filesz: len });
  }

  const readString = (start: number, end: number, what: string): string => {
    if (start >= end) fail(`${what} lies outside its table`);
    let i = start;
    const stop = Math.min(end, start + MAX_STRING);
    while (i < stop && bytes[i] !== 0) i++;
    if (i >= stop) fail(`${what} is not NUL-terminated within its table`);
    return new TextDecoder("utf-8").decode(bytes.subarray(start, i));
  };

  let interpreter: string | undefined;
  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp) interpreter = readString(interp.offset, interp.offset + interp.filesz, "the PT_INTERP path");

  const needed: string[] = [];
  let rpath: string | undefined;
  let runpath: string | undefined;
  const dyn = segments.find((s) => s.type === PT_DYNAMIC);
  if (dyn) {
    const entsize = is64 ? 16 : 8;
    const count = Math.floor(dyn.filesz / entsize);
    let strtab: bigint | undefined;
    let strsz: bigint | undefined;
    const strings: Array<{ tag: bigint; val: bigint }> = [];
    for (let i = 0; i < count; i++) {
      const b = dyn.offset + i * entsize;
      const tag = sword(b);
      const val = word(b + entsize / 2);
      if (tag === DT_NULL) break;
      if (tag === DT_STRTAB) strtab = val;
      else if (tag === DT_STRSZ) strsz = val;
      else if (tag === DT_NEEDED || tag === DT_RPATH || tag === DT_RUNPATH) strings.push({ tag, val });
    }
    if (strings.length > 0) {
      if (strtab === undefined) fail("the dynamic section has DT_NEEDED/DT_RPATH entries but no DT_STRTAB");
      const tableStart = vaddrToOffset(segments, strtab as bigint) ?? fail(`DT_STRTAB address 0x${(strtab as bigint).toString(16)} is not inside any PT_LOAD segment of the file`);
      const tableEnd = strsz === undefined ? size : Math.min(size, tableStart + fileNum(strsz, "DT_STRSZ"));
      for (const { tag, val } of strings) {
        const name = tag === DT_NEEDED ? "DT_NEEDED" : tag === DT_RPATH ? "DT_RPATH" : "DT_RUNPATH";
        if (val >= BigInt(tableEnd - tableStart)) fail(`a ${name} string offset (${val}) lies outside the string table`);
        const s = readString(tableStart + Number(val), tableEnd, `a ${name} string`);
        if (tag === DT_NEEDED) needed.push(s);
        else if (tag === DT_RPATH) rpath = s;
        else runpath = s;
      }
    }
  }

  // EF_ARM_ABI_FLOAT_HARD tells armhf from armel.
  const debianArch = architectureOfElf(machine, cls, endian, (flags & 0x400) !== 0);
  return {
    class: cls,
    endian,
    machine,
    machineName: MACHINES[machine] ?? `machine ${machine}`,
    ...(debianArch !== undefined ? { debianArch } : {}),
    ...(interpreter !== undefined ? { interpreter } : {}),
    needed,
    ...(rpath !== undefined ? { rpath } : {}),
    ...(runpath !== undefined ? { runpath } : {}),
    static: interpreter === undefined && needed.length === 0,
  };
}

/** The file offset of a virtual address, through the PT_LOAD segment whose file bytes hold it. */
function vaddrToOffset(segments: Segment[], vaddr: bigint): number | undefined {
  for (const s of segments) {
    if (s.type !== PT_LOAD) continue;
    if (vaddr >= s.vaddr && vaddr < s.vaddr + BigInt(s.filesz)) return s.offset + Number(vaddr - s.vaddr);
  }
  return undefined;
}
