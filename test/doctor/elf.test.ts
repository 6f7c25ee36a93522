import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { ElfError, parseElf } from "../../src/doctor/elf.js";
import { ScratchError } from "../../src/model/errors.js";
import { C_DYNAMIC, C_STATIC_TLS, CXX, compile, have, readelf } from "./helpers.js";
import { makeElf } from "./make-elf.js";

const hasReadelf = have("readelf");
let dir: string;
const bins: Record<string, string | undefined> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "doctor-elf-"));
  bins.dynamic = compile("gcc", dir, "hello", C_DYNAMIC, "c");
  bins.static = compile("gcc", dir, "hello-static", C_STATIC_TLS, "c", ["-static"]);
  bins.cxx = compile("g++", dir, "hello-cxx", CXX, "cc");
  bins.runpath = compile("gcc", dir, "hello-runpath", C_DYNAMIC, "c", ["-Wl,-rpath,/opt/app/lib:$ORIGIN/../lib", "-Wl,--enable-new-dtags"]);
  bins.rpath = compile("gcc", dir, "hello-rpath", C_DYNAMIC, "c", ["-Wl,-rpath,/opt/old/lib", "-Wl,--disable-new-dtags"]);
  bins.shared = compile("gcc", dir, "libdemo.so.1", "int demo(void){return 1;}\n", "c", ["-shared", "-fPIC", "-Wl,-soname,libdemo.so.1", "-lm"]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function elfError(f: () => unknown): ElfError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ElfError);
    return e as ElfError;
  }
  throw new Error("expected an ElfError");
}

describe("parseElf agrees with readelf on real binaries", () => {
  const cases = ["dynamic", "static", "cxx", "runpath", "rpath", "shared", "/bin/ls"];
  for (const name of cases) {
    it(name, (ctx) => {
      const file = name.startsWith("/") ? name : bins[name];
      if (!hasReadelf || file === undefined || !existsSync(file)) return ctx.skip();
      const mine = parseElf(new Uint8Array(readFileSync(file)), file);
      const theirs = readelf(file);
      expect(mine.interpreter).toBe(theirs.interpreter);
      expect(mine.needed).toEqual(theirs.needed);
      expect(mine.rpath).toBe(theirs.rpath);
      expect(mine.runpath).toBe(theirs.runpath);
      expect(mine.class).toBe(theirs.classBits);
      expect(mine.endian).toBe(theirs.endian);
      if (process.arch === "x64") {
        expect(mine.debianArch).toBe("amd64");
        expect(mine.machineName).toBe("x86-64");
      }
    });
  }

  it("tells static from dynamic binaries", (ctx) => {
    if (bins.dynamic === undefined || bins.static === undefined) return ctx.skip();
    const dyn = parseElf(new Uint8Array(readFileSync(bins.dynamic)), bins.dynamic);
    const sta = parseElf(new Uint8Array(readFileSync(bins.static)), bins.static);
    expect(dyn.static).toBe(false);
    expect(dyn.needed).toContain("libc.so.6");
    expect(sta.static).toBe(true);
    expect(sta.needed).toEqual([]);
    expect(sta.interpreter).toBeUndefined();
  });

  it("the C++ program needs libstdc++.so.6", (ctx) => {
    if (bins.cxx === undefined) return ctx.skip();
    expect(parseElf(new Uint8Array(readFileSync(bins.cxx)), bins.cxx).needed).toContain("libstdc++.so.6");
  });
});

describe("hand-made ELF files (foreign classes and byte orders)", () => {
  const variants = [
    { cls: 32 as const, endian: "be" as const, machine: 8, interp: "/lib/ld.so.1", arch: undefined, name: "mips" },
    { cls: 64 as const, endian: "be" as const, machine: 22, interp: "/lib/ld64.so.1", arch: "s390x", name: "s390" },
    { cls: 32 as const, endian: "le" as const, machine: 40, flags: 0x05000400, interp: "/lib/ld-linux-armhf.so.3", arch: "armhf", name: "arm" },
    { cls: 64 as const, endian: "le" as const, machine: 183, interp: "/lib/ld-linux-aarch64.so.1", arch: "arm64", name: "aarch64" },
    { cls: 64 as const, endian: "le" as const, machine: 21, interp: "/lib64/ld64.so.2", arch: "ppc64el", name: "powerpc64" },
  ];
  for (const v of variants) {
    it(`${v.cls}-bit ${v.endian} ${v.name}`, () => {
      const { bytes } = makeElf({ cls: v.cls, endian: v.endian, machine: v.machine, flags: v.flags ?? 0, interpreter: v.interp, needed: ["libfoo.so.1", "libc.so.6"], runpath: "/opt/x" });
      const e = parseElf(bytes, "hand-made");
      expect(e).toMatchObject({ class: v.cls, endian: v.endian, machine: v.machine, machineName: v.name, interpreter: v.interp, needed: ["libfoo.so.1", "libc.so.6"], runpath: "/opt/x", static: false });
      expect(e.debianArch).toBe(v.arch);
      if (hasReadelf) {
        // binutils reads the same hand-made file the same way.
        const f = join(dir, `hand-${v.name}`);
        writeFileSync(f, bytes);
        const r = readelf(f);
        expect([r.interpreter, r.needed, r.runpath, r.classBits, r.endian]).toEqual([e.interpreter, e.needed, e.runpath, e.class, e.endian]);
      }
    });
  }

  it("an armel binary is told from armhf by its float-ABI flag", () => {
    expect(parseElf(makeElf({ cls: 32, endian: "le", machine: 40, flags: 0x05000200 }).bytes, "x").debianArch).toBe("armel");
  });

  it("no interpreter and no DT_NEEDED is static", () => {
    const e = parseElf(makeElf({ cls: 64, endian: "le", machine: 62 }).bytes, "x");
    expect(e.static).toBe(true);
    expect(e.needed).toEqual([]);
  });
});

describe("errors name the file and never crash", () => {
  it("not an ELF file", () => {
    const e = elfError(() => parseElf(new TextEncoder().encode("#!/bin/sh\necho hi\n"), "script.sh"));
    expect(e.message).toMatch(/^script\.sh: not an ELF file/);
    expect(e.exitCode).toBe(2);
    expect(e).toBeInstanceOf(ScratchError);
  });

  it("empty file", () => {
    expect(elfError(() => parseElf(new Uint8Array(0), "empty")).message).toMatch(/^empty: not an ELF file/);
  });

  it("truncated ELF header", () => {
    const { bytes } = makeElf({ cls: 64, endian: "le", machine: 62, needed: ["libc.so.6"] });
    expect(elfError(() => parseElf(bytes.subarray(0, 40), "cut")).message).toMatch(/^cut: truncated: the ELF header/);
  });

  it("truncated program headers", () => {
    const { bytes, at } = makeElf({ cls: 32, endian: "be", machine: 8, needed: ["libc.so.6"] });
    expect(elfError(() => parseElf(bytes.subarray(0, at.phoff + 10), "cut32")).message).toMatch(/^cut32: .*program header/);
  });

  it("bad class and data encoding", () => {
    const { bytes } = makeElf({ cls: 64, endian: "le", machine: 62 });
    const a = bytes.slice();
    a[4] = 7;
    expect(elfError(() => parseElf(a, "f")).message).toMatch(/unknown ELF class 7/);
    const b = bytes.slice();
    b[5] = 0;
    expect(elfError(() => parseElf(b, "f")).message).toMatch(/unknown ELF data encoding 0/);
  });

  it("an object file is refused", () => {
    const { bytes } = makeElf({ cls: 64, endian: "le", machine: 62 });
    new DataView(bytes.buffer).setUint16(16, 1, true);
    expect(elfError(() => parseElf(bytes, "x.o")).message).toMatch(/relocatable object/);
  });

  it("PT_DYNAMIC pointing outside the file", () => {
    const { bytes, at } = makeElf({ cls: 64, endian: "le", machine: 62, needed: ["libc.so.6"] });
    new DataView(bytes.buffer).setBigUint64(at.dynamicPhdr + 8, BigInt(bytes.length + 4096), true);
    expect(elfError(() => parseElf(bytes, "evil")).message).toMatch(/^evil: .*PT_DYNAMIC.*outside the file|^evil: truncated: .*PT_DYNAMIC/);
    const huge = makeElf({ cls: 64, endian: "le", machine: 62, needed: ["libc.so.6"] });
    new DataView(huge.bytes.buffer).setBigUint64(huge.at.dynamicPhdr + 32, 0xffffffffffffffffn, true);
    expect(elfError(() => parseElf(huge.bytes, "evil2")).message).toMatch(/PT_DYNAMIC/);
  });

  it("DT_STRTAB not mapped by any PT_LOAD", () => {
    const { bytes, at } = makeElf({ cls: 32, endian: "be", machine: 20, needed: ["libc.so.6"] });
    // Entry 1 is DT_STRTAB (after one DT_NEEDED); point it far away.
    new DataView(bytes.buffer).setUint32(at.dynamic + 8 + 4, 0x7fff0000, false);
    expect(elfError(() => parseElf(bytes, "evil")).message).toMatch(/DT_STRTAB address 0x7fff0000 is not inside any PT_LOAD/);
  });

  it("a DT_NEEDED offset outside the string table", () => {
    const { bytes, at } = makeElf({ cls: 64, endian: "le", machine: 62, needed: ["libc.so.6"] });
    new DataView(bytes.buffer).setBigUint64(at.dynamic + 8, 1_000_000n, true);
    expect(elfError(() => parseElf(bytes, "evil")).message).toMatch(/DT_NEEDED string offset \(1000000\) lies outside the string table/);
  });

  it("an unterminated string", () => {
    const { bytes } = makeElf({ cls: 64, endian: "le", machine: 62, needed: ["libc.so.6"] });
    bytes[bytes.length - 1] = 0x41; // the last NUL of the string table
    expect(elfError(() => parseElf(bytes, "evil")).message).toMatch(/not NUL-terminated/);
  });

  it("random corruption of a real header only ever yields ElfError", () => {
    const file = bins.dynamic ?? "/bin/ls";
    const real = new Uint8Array(readFileSync(file));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(1023), fc.nat(255)), { minLength: 1, maxLength: 12 }), fc.nat(real.length), (edits, cut) => {
        const b = real.slice(0, Math.max(cut, 1024));
        for (const [i, x] of edits) b[i] = x;
        try {
          const e = parseElf(b, "fuzz");
          expect(Array.isArray(e.needed)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(ElfError);
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
