import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as tar from "tar-stream";
import { parseElf } from "../../src/doctor/elf.js";
import { architecture } from "../../src/debian/architectures.js";
import { lookup, normalize, type LayerTree } from "../../src/doctor/layer-files.js";
import { diagnose, formatDoctor, runDoctor } from "../../src/commands/doctor.js";
import { searchDirs } from "../../src/doctor/library-search.js";
import type { NeedsTrace } from "../../src/commands/binary-needs.js";
import { main } from "../../src/cli/main.js";
import type { Lockfile } from "../../src/model/lock.js";
import { C_DYNAMIC, C_STATIC_TLS, CXX, compile, readelf } from "./helpers.js";
import { makeElf } from "./make-elf.js";

type Entry = { name: string; type: "file" | "directory" | "symlink"; linkname?: string; body?: string | Buffer };

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on("data", (c: unknown) => void chunks.push(c as Buffer));
    pack.on("end", () => resolve());
    pack.on("error", reject);
  });
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const header: Parameters<typeof pack.entry>[0] = { name: e.name, type: e.type, mode: e.type === "directory" ? 0o755 : 0o644, mtime: new Date(0) };
      if (e.linkname !== undefined) header.linkname = e.linkname;
      pack.entry(header, e.type === "file" ? (e.body ?? "x") : "", (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

let dir: string;
let dyn: string | undefined;
let cxx: string | undefined;
let sta: string | undefined;
let layerTar: string;
let layerGz: string;
/** The libc layer plus this machine's libstdc++.so.6 and libm.so.6, but not libgcc_s.so.1. */
let cxxLayer: string | undefined;
let triplet: string;
/** This machine's copy of a library, by soname (what gcc links against). */
const hostLib = (soname: string): string => realpathSync(execFileSync("gcc", [`-print-file-name=${soname}`], { encoding: "utf8" }).trim());

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "doctor-run-"));
  dyn = compile("gcc", dir, "hello", C_DYNAMIC, "c");
  cxx = compile("g++", dir, "hello-cxx", CXX, "cc");
  sta = compile("gcc", dir, "hello-static", C_STATIC_TLS, "c", ["-static"]);
  // A libc-only layer laid out for this machine's architecture: the interpreter is a symlink
  // from its well-known path (e.g. /lib64/ld-linux-x86-64.so.2) into the multiarch directory.
  const elf = dyn ? parseElf(new Uint8Array(readFileSync(dyn)), dyn) : undefined;
  const interp = elf?.interpreter ?? "/lib64/ld-linux-x86-64.so.2";
  triplet = architecture(elf?.debianArch ?? "amd64")?.triplet ?? "x86_64-linux-gnu";
  const interpDir = interp.slice(1, interp.lastIndexOf("/"));
  // The real loader and libc where the machine has them (doctor reads libraries' own needs).
  const real = (path: string): Buffer | string => (dyn !== undefined && existsSync(path) ? readFileSync(realpathSync(path)) : "x");
  const entries: Entry[] = [
    { name: "lib/", type: "directory" },
    { name: `lib/${triplet}/`, type: "directory" },
    { name: `lib/${triplet}/${basename(interp)}`, type: "file", body: real(interp) },
    { name: `lib/${triplet}/libc.so.6`, type: "file", body: dyn !== undefined ? readFileSync(hostLib("libc.so.6")) : "x" },
  ];
  if (interp !== `/lib/${triplet}/${basename(interp)}`) {
    if (interpDir !== "lib") entries.push({ name: `${interpDir}/`, type: "directory" });
    entries.push({ name: interp.slice(1), type: "symlink", linkname: `/lib/${triplet}/${basename(interp)}` });
  }
  const bytes = await makeTar(entries);
  layerTar = join(dir, "layer.tar");
  layerGz = join(dir, "layer.tar.gz");
  writeFileSync(layerTar, bytes);
  writeFileSync(layerGz, gzipSync(bytes));
  if (cxx !== undefined) {
    cxxLayer = join(dir, "cxx-layer.tar");
    const more: Entry[] = ["libstdc++.so.6", "libm.so.6"].map((l) => ({ name: `usr/lib/${triplet}/${l}`, type: "file", body: readFileSync(hostLib(l)) }));
    writeFileSync(cxxLayer, await makeTar([...entries, { name: "usr/", type: "directory" }, { name: "usr/lib/", type: "directory" }, { name: `usr/lib/${triplet}/`, type: "directory" }, ...more]));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("runDoctor with a layer", () => {
  it("the dynamic C program finds everything in a libc layer (plain and gzip tar)", async (ctx) => {
    if (dyn === undefined) return ctx.skip();
    for (const layer of [layerTar, layerGz]) {
      const r = await runDoctor({ binary: dyn, layer });
      expect(r.ok).toBe(true);
      expect(r.summary.missing).toBe(0);
      const interp = r.needs.find((n) => n.kind === "interpreter");
      // No manifest: the layer is checked, no package is named.
      expect(interp).toMatchObject({ status: "ok" });
      expect(interp?.package).toBeUndefined();
      expect(interp?.resolved).toMatch(/^\/lib\/[^/]+-linux-gnu[a-z0-9]*\/ld-/);
      expect(r.needs.find((n) => n.name === "libc.so.6")).toMatchObject({ status: "ok" });
      const text = formatDoctor(r);
      expect(text.some((l) => /^ok {3}\/.*\(interpreter\): in the layer.*\(package unknown\)/.test(l))).toBe(true);
      expect(text.at(-1)).toMatch(/^ok: /);
    }
  });

  it("the C++ program lacks libstdc++.so.6: MISS, exit 1", async (ctx) => {
    if (cxx === undefined) return ctx.skip();
    const r = await runDoctor({ binary: cxx, layer: layerTar });
    expect(r.ok).toBe(false);
    const miss = r.needs.find((n) => n.name === "libstdc++.so.6");
    expect(miss).toMatchObject({ status: "missing" });
    expect(miss?.searched).toContain(`/usr/lib/${architecture(r.elf.debianArch ?? "amd64")?.triplet}/libstdc++.so.6`);
    expect(r.needs.find((n) => n.name === "libc.so.6")?.status).toBe("ok");
    const text = formatDoctor(r);
    expect(text).toContain("MISS libstdc++.so.6: not in the layer; package not looked up: pass --config scratch.json (the manifest whose suites' Contents name it) to find the package that ships libstdc++.so.6");
    expect(text.at(-1)).toMatch(/^FAILED: /);

    // The CLI: JSON on stdout and exit code 1.
    const writes: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((c: string | Uint8Array) => (writes.push(String(c)), true));
    const errSpy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    let code: number;
    // Where no scratch.json is: with --layer, the layer alone is checked.
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      code = await main(["doctor", cxx, "--layer", layerTar, "--json"]);
    } finally {
      process.chdir(cwd);
      spy.mockRestore();
      errSpy.mockRestore();
    }
    expect(code).toBe(1);
    const doc = JSON.parse(writes.join("")) as { ok: boolean; needs: Array<{ name: string; status: string }> };
    expect(doc.ok).toBe(false);
    expect(doc.needs.find((n) => n.name === "libstdc++.so.6")?.status).toBe("missing");
  });

  it("follows the needs of the libraries it finds, as ld.so would (readelf gives the closure)", async (ctx) => {
    if (cxx === undefined || cxxLayer === undefined) return ctx.skip();
    const r = await runDoctor({ binary: cxx, layer: cxxLayer });
    // The expected closure, from binutils: the binary's needs, then each library's, by soname.
    const files: Record<string, string> = { "libc.so.6": hostLib("libc.so.6"), "libstdc++.so.6": hostLib("libstdc++.so.6"), "libm.so.6": hostLib("libm.so.6") };
    const expected = new Set(readelf(cxx).needed);
    for (let grew = true; grew; ) {
      grew = false;
      for (const name of [...expected]) {
        for (const n of files[name] !== undefined ? readelf(files[name]).needed : []) if (!expected.has(n)) (expected.add(n), (grew = true));
      }
    }
    expect(new Set(r.needs.filter((n) => n.kind === "library").map((n) => n.name))).toEqual(expected);
    expect(expected.has("libgcc_s.so.1")).toBe(true);
    const gcc = r.needs.find((n) => n.name === "libgcc_s.so.1")!;
    expect(gcc).toMatchObject({ status: "missing" });
    expect(gcc.neededBy).toContain("libstdc++.so.6");
    expect(r.needs.find((n) => n.name === "libm.so.6")).toMatchObject({ status: "ok", neededBy: expect.arrayContaining(["libstdc++.so.6"]) as unknown });
    expect(r.needs.find((n) => n.name === "ld-linux-x86-64.so.2" || n.name === "ld-linux-aarch64.so.1")).toMatchObject({ status: "ok", neededBy: expect.arrayContaining(["libc.so.6"]) as unknown });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.stringMatching(/^libgcc_s\.so\.1 is not in the layer/)]);
    expect(formatDoctor(r)).toContain(`MISS libgcc_s.so.1: not in the layer; ${gcc.advice} — needed by ${gcc.neededBy.filter((b) => b !== cxx).join(", ")}`);
  });

  it("a library found but unloadable (not ELF, or another architecture) fails", async (ctx) => {
    if (dyn === undefined) return ctx.skip();
    const elf = parseElf(new Uint8Array(readFileSync(dyn)), dyn);
    const at = `/lib/${triplet}/libc.so.6`;
    const tree = (body: Uint8Array): LayerTree => new Map([[at, { type: "file", body }], ...(elf.interpreter ? [[elf.interpreter, { type: "file" }] as const] : [])]);
    const text = diagnose({ binary: "hello", elf, bytes: new Uint8Array(), tree: tree(Buffer.from("not a library\n")), layer: "l.tar" });
    expect(text.ok).toBe(false);
    expect(text.needs.find((n) => n.name === "libc.so.6")?.unusable).toMatch(/^not an ELF shared library/);
    expect(text.summary).toMatchObject({ unusable: 1, ok: text.needs.length - 1 });
    const otherArch = makeElf({ cls: 64, endian: "le", machine: elf.debianArch === "arm64" ? 62 : 183 }).bytes;
    const wrong = diagnose({ binary: "hello", elf, bytes: new Uint8Array(), tree: tree(otherArch), layer: "l.tar" });
    expect(wrong.problems).toEqual([expect.stringMatching(new RegExp(`^libc\\.so\\.6 in the layer \\(${at.replace(/[.+]/g, "\\$&")}\\) is built for (arm64|amd64), the binary for ${elf.debianArch}$`))]);
    expect(formatDoctor(wrong).some((l) => l.startsWith("FAIL libc.so.6: in the layer") && l.includes("built for"))).toBe(true);
  });

  it("without --layer or a manifest: the binary's own needs, unchecked; the CLI wants the manifest", async (ctx) => {
    if (cxx === undefined) return ctx.skip();
    const r = await runDoctor({ binary: cxx });
    expect(r.ok).toBe(true);
    expect(r.needs.every((n) => n.status === "unchecked")).toBe(true);
    expect(r.needs.map((n) => n.name)).toEqual([...(readelf(cxx).interpreter ? [readelf(cxx).interpreter] : []), ...readelf(cxx).needed]);
    expect(formatDoctor(r).at(-1)).toMatch(/no layer checked/);
    // The CLI reads scratch.json by default: none in this directory is a usage error naming it.
    const cwd = process.cwd();
    const writes: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((c: string | Uint8Array) => (writes.push(String(c)), true));
    const errSpy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    let code: number;
    try {
      process.chdir(dir);
      code = await main(["doctor", cxx, "--json"]);
    } finally {
      process.chdir(cwd);
      spy.mockRestore();
      errSpy.mockRestore();
    }
    expect(code).toBe(2);
    expect(writes.join("")).toMatch(/scratch\.json/);
  });

  it("a static binary needs nothing; its strings suggest the ca-certs file set", async (ctx) => {
    if (sta === undefined) return ctx.skip();
    const r = await runDoctor({ binary: sta, layer: layerTar });
    expect(r.ok).toBe(true);
    expect(r.needs).toEqual([]);
    expect(r.elf.static).toBe(true);
    expect(r.runtimeFileSets.map((h) => h.fileSet)).toContain("ca-certs");
    expect(formatDoctor(r).join("\n")).toMatch(/static binary: needs nothing from libc/);
  });

  it("an architecture mismatch with --arch is a problem", async (ctx) => {
    if (dyn === undefined) return ctx.skip();
    const r = await runDoctor({ binary: dyn, arch: "s390x" });
    expect(r.ok).toBe(false);
    expect(r.arch.mismatch).toBe(true);
    expect(r.problems[0]).toMatch(/--arch wants s390x/);
  });

  it("errors: missing binary, not an ELF, missing layer", async () => {
    await expect(runDoctor({ binary: join(dir, "nope") })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/nope: no such file/) });
    const txt = join(dir, "a.txt");
    writeFileSync(txt, "hello\n");
    await expect(runDoctor({ binary: txt })).rejects.toMatchObject({ exitCode: 2, kind: "elf" });
    const elf = join(dir, "tiny");
    writeFileSync(elf, makeElf({ cls: 64, endian: "le", machine: 62 }).bytes);
    await expect(runDoctor({ binary: elf, layer: join(dir, "nolayer.tar") })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/nolayer\.tar: no such layer file/) });
    await expect(runDoctor({ binary: elf, layer: txt })).rejects.toMatchObject({ exitCode: 2 });
  });
});

describe("diagnose (pure) with a lock", () => {
  const lock = (arches: Record<string, string[]>): Lockfile =>
    ({
      architectures: Object.fromEntries(Object.entries(arches).map(([a, names]) => [a, { packages: names.map((name) => ({ name })), skipped: [], derivations: [] }])),
    }) as unknown as Lockfile;

  /** What traceBinaryNeeds would answer (its own tests check it against an archive): made here for the pure core. */
  const found = (trace: NeedsTrace["trace"]): NeedsTrace => ({
    needs: { binary: "app", architecture: "arm64", static: false, files: [], packages: [], fileSets: [], unresolved: [] },
    trace,
    contentsPasses: 1,
  });
  const dirs = ["/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"];

  it("names the packages the Contents walk found, marks them in or not in the lock, and checks the lock's architectures", () => {
    const bytes = makeElf({ cls: 64, endian: "le", machine: 183, interpreter: "/lib/ld-linux-aarch64.so.1", needed: ["libz.so.1", "libfoo.so.9", "libdup.so.1"] }).bytes;
    const elf = parseElf(bytes, "app");
    const trace = found([
      { kind: "interpreter", name: "/lib/ld-linux-aarch64.so.1", neededBy: ["app"], searched: ["/lib/ld-linux-aarch64.so.1"], path: "/usr/lib/ld-linux-aarch64.so.1", package: "libc6" },
      { kind: "library", name: "libz.so.1", neededBy: ["app"], searched: dirs.map((d) => `${d}/libz.so.1`), path: "/usr/lib/aarch64-linux-gnu/libz.so.1", package: "zlib1g" },
      { kind: "library", name: "libfoo.so.9", neededBy: ["app"], searched: dirs.map((d) => `${d}/libfoo.so.9`) },
      { kind: "library", name: "libdup.so.1", neededBy: ["app"], searched: dirs.map((d) => `${d}/libdup.so.1`), candidates: ["liba", "libb"] },
      { kind: "library", name: "libc.so.6", neededBy: ["libz.so.1"], searched: dirs.map((d) => `${d}/libc.so.6`), path: "/usr/lib/aarch64-linux-gnu/libc.so.6", package: "libc6" },
    ]);
    const r = diagnose({ binary: "app", elf, bytes, lock: lock({ arm64: ["libc6"], amd64: ["libc6", "zlib1g"] }), found: trace });
    expect(r.arch).toEqual({ binary: "arm64", expected: ["amd64", "arm64"], mismatch: false });
    // Without a layer the needs are the walk's, the libraries' own included.
    expect(r.needs.map((n) => [n.name, n.package, n.fileSet, n.inLock])).toEqual([
      ["/lib/ld-linux-aarch64.so.1", "libc6", "libc", true],
      ["libz.so.1", "zlib1g", undefined, false],
      ["libfoo.so.9", undefined, undefined, undefined],
      ["libdup.so.1", undefined, undefined, undefined],
      ["libc.so.6", "libc6", "libc", true],
    ]);
    expect(r.binaryNeeds).toBe(trace.needs);
    // A soname no package ships, or two do, is a problem naming where it was searched or both packages.
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      `libfoo.so.9: no package of the manifest's suites ships it (searched ${dirs.map((d) => `${d}/libfoo.so.9`).join(", ")})`,
      "libdup.so.1: shipped by liba and libb: add the one you want to packages in scratch.json",
    ]);
    const text = formatDoctor(r);
    expect(text).toContain("need /lib/ld-linux-aarch64.so.1 (interpreter): package libc6 (file set libc) at /usr/lib/ld-linux-aarch64.so.1, locked");
    expect(text).toContain("need libc.so.6: package libc6 (file set libc) at /usr/lib/aarch64-linux-gnu/libc.so.6, locked — needed by libz.so.1");
    const other = diagnose({ binary: "app", elf, bytes, lock: lock({ amd64: ["libc6"] }) });
    expect(other.ok).toBe(false);
    expect(other.problems[0]).toMatch(/binary is arm64 .* the lock wants amd64/);
  });

  it("RUNPATH directories are searched first; $ORIGIN entries are skipped", () => {
    const bytes = makeElf({ cls: 64, endian: "le", machine: 62, needed: ["libapp.so.1"], runpath: "$ORIGIN/../lib:/opt/app/lib/" }).bytes;
    const elf = parseElf(bytes, "app");
    expect(searchDirs(elf)).toEqual(["/opt/app/lib", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib", "/lib64", "/usr/lib64"]);
    const tree: LayerTree = new Map([["/opt/app/lib/libapp.so.1", { type: "file" }]]);
    const r = diagnose({ binary: "app", elf, bytes, tree, layer: "l.tar" });
    expect(r.needs[0]).toMatchObject({ status: "ok", foundAt: "/opt/app/lib/libapp.so.1" });
  });
});

describe("lookup follows symlinks inside the layer", () => {
  const tree: LayerTree = new Map([
    ["/lib", { type: "symlink", linkname: "usr/lib" }],
    ["/usr/lib/x86_64-linux-gnu/libc.so.6", { type: "file" }],
    ["/usr/lib/x86_64-linux-gnu/libz.so.1", { type: "symlink", linkname: "libz.so.1.3" }],
    ["/usr/lib/x86_64-linux-gnu/libz.so.1.3", { type: "hardlink", linkname: "usr/lib/other" }],
    ["/usr/lib/x86_64-linux-gnu/libm.so.6", { type: "symlink", linkname: "../../../usr/./lib/x86_64-linux-gnu/../x86_64-linux-gnu/libc.so.6" }],
    ["/loop/a", { type: "symlink", linkname: "b" }],
    ["/loop/b", { type: "symlink", linkname: "a" }],
    ["/dangling", { type: "symlink", linkname: "/nowhere" }],
  ]);
  it("through a symlinked directory (merged /usr), relative links and ..", () => {
    expect(lookup(tree, "/lib/x86_64-linux-gnu/libc.so.6")).toEqual({ resolved: "/usr/lib/x86_64-linux-gnu/libc.so.6" });
    expect(lookup(tree, "/lib/x86_64-linux-gnu/libz.so.1")).toEqual({ resolved: "/usr/lib/x86_64-linux-gnu/libz.so.1.3" });
    expect(lookup(tree, "/lib/x86_64-linux-gnu/libm.so.6")).toEqual({ resolved: "/usr/lib/x86_64-linux-gnu/libc.so.6" });
  });
  it("loops, dangling links and directories are not files", () => {
    expect(lookup(tree, "/loop/a").problem).toMatch(/too many levels of symbolic links/);
    expect(lookup(tree, "/dangling").problem).toMatch(/\/nowhere is not in the layer/);
    expect(lookup(tree, "/usr/lib").problem).toMatch(/is a directory/);
    expect(lookup(tree, "/usr/lib/x86_64-linux-gnu/libc.so.6/x").problem).toMatch(/not a directory/);
  });
  it("normalizes tar member names", () => {
    expect(normalize("./usr/lib/")).toBe("/usr/lib");
    expect(normalize("usr//lib")).toBe("/usr/lib");
  });
});
