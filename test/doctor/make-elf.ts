/**
 * Hand-made minimal ELF files (any class and byte order) for what no compiler here produces:
 * foreign architectures and deliberately broken files. Layout: ELF header, program headers
 * (PT_LOAD covering the whole file, optional PT_INTERP, PT_DYNAMIC), interpreter string,
 * dynamic section, string table.
 */

export interface MakeElfOptions {
  cls: 32 | 64;
  endian: "le" | "be";
  machine: number;
  flags?: number;
  interpreter?: string;
  needed?: string[];
  runpath?: string;
  rpath?: string;
  /** Virtual address the PT_LOAD maps file offset 0 to. */
  base?: number;
}

export interface MadeElf {
  bytes: Uint8Array;
  /** Offsets of interesting places, for tests that corrupt them. */
  at: { phoff: number; phentsize: number; dynamicPhdr: number; dynamic: number; strtab: number };
}

export function makeElf(o: MakeElfOptions): MadeElf {
  const is64 = o.cls === 64;
  const le = o.endian === "le";
  const base = o.base ?? 0x10000;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const dynent = is64 ? 16 : 8;
  const phnum = 1 + (o.interpreter !== undefined ? 1 : 0) + 1;

  // String table: leading NUL, then each string.
  const enc = new TextEncoder();
  const strs: number[] = [0];
  const strOff = (s: string): number => {
    const off = strs.length;
    strs.push(...enc.encode(s), 0);
    return off;
  };
  const dyn: Array<[number, number]> = [];
  for (const n of o.needed ?? []) dyn.push([1, strOff(n)]);
  if (o.rpath !== undefined) dyn.push([15, strOff(o.rpath)]);
  if (o.runpath !== undefined) dyn.push([29, strOff(o.runpath)]);

  const phoff = ehsize;
  const interpOff = phoff + phnum * phentsize;
  const interpBytes = o.interpreter !== undefined ? [...enc.encode(o.interpreter), 0] : [];
  const dynOff = align(interpOff + interpBytes.length, 8);
  const dynCount = dyn.length + 3; // + DT_STRTAB, DT_STRSZ, DT_NULL
  const strtabOff = dynOff + dynCount * dynent;
  const size = strtabOff + strs.length;
  dyn.push([5, base + strtabOff], [10, strs.length], [0, 0]);

  const bytes = new Uint8Array(size);
  const v = new DataView(bytes.buffer);
  const u16 = (off: number, x: number): void => v.setUint16(off, x, le);
  const u32 = (off: number, x: number): void => v.setUint32(off, x, le);
  const word = (off: number, x: number): void => (is64 ? v.setBigUint64(off, BigInt(x), le) : v.setUint32(off, x, le));

  bytes.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1], 0);
  u16(16, 2); // ET_EXEC
  u16(18, o.machine);
  u32(20, 1);
  word(24, base); // e_entry
  word(is64 ? 32 : 28, phoff);
  u32(is64 ? 48 : 36, o.flags ?? 0);
  u16(is64 ? 52 : 40, ehsize);
  u16(is64 ? 54 : 42, phentsize);
  u16(is64 ? 56 : 44, phnum);

  let ph = phoff;
  const phdr = (type: number, offset: number, filesz: number): number => {
    const at = ph;
    u32(ph, type);
    word(ph + (is64 ? 8 : 4), offset);
    word(ph + (is64 ? 16 : 8), base + offset);
    word(ph + (is64 ? 24 : 12), base + offset);
    word(ph + (is64 ? 32 : 16), filesz);
    word(ph + (is64 ? 40 : 20), filesz);
    ph += phentsize;
    return at;
  };
  phdr(1, 0, size);
  if (o.interpreter !== undefined) phdr(3, interpOff, interpBytes.length);
  const dynamicPhdr = phdr(2, dynOff, dynCount * dynent);

  bytes.set(interpBytes, interpOff);
  dyn.forEach(([tag, val], i) => {
    const at = dynOff + i * dynent;
    word(at, tag);
    word(at + dynent / 2, val);
  });
  bytes.set(strs, strtabOff);
  return { bytes, at: { phoff, phentsize, dynamicPhdr, dynamic: dynOff, strtab: strtabOff } };
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
