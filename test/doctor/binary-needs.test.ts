/**
 * findBinaryNeeds against a generated, signed fixture archive that publishes Contents indexes:
 * a non-merged suite (bookworm's layout) and a merged-/usr one (trixie's), with hand-made ELF
 * libraries whose DT_NEEDED chain, symlinks (soname → real file, a link into another package)
 * and shipping packages (one, two, none) are the fixture's own definition.
 */
import { execFileSync } from "node:child_process";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import type { DoctorReport } from "../../src/commands/doctor.js";
import { traceBinaryNeeds, findBinaryNeeds } from "../../src/commands/binary-needs.js";
import { parseElf } from "../../src/doctor/elf.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { loadManifest } from "../../src/manifest/load.js";
import { planMirrors } from "../../src/sources/mirrors.js";
import { buildArchive, type FixturePackage } from "../fixtures/archive.js";
import type { DebEntry } from "../fixtures/deb.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";
import { KEY_DATE, lockWith, MAINTAINER, removeDir, signDateFor, STABLE_DATE, tempDir, writeProject } from "../lock/helpers.js";
import { makeElf } from "./make-elf.js";

const T = "x86_64-linux-gnu";
const elf = (needed: string[] = []): Uint8Array => makeElf({ cls: 64, endian: "le", machine: 62, needed }).bytes;
const file = (path: string, content: Uint8Array | string = elf()): DebEntry => ({ path: `.${path}`, type: "file", content });
const link = (path: string, target: string): DebEntry => ({ path: `.${path}`, type: "symlink", target });

function pkg(name: string, version: string, suite: string, files: DebEntry[], section = "libs"): FixturePackage {
  return { suite, control: { Package: name, Version: version, Architecture: "amd64", Maintainer: MAINTAINER, Section: section, Description: `${name} fixture` }, files };
}

/** bookworm's layout: the loader's well-known path is a link into the multiarch directory. */
const stable = (): FixturePackage[] => [
  pkg("libc6", "2.36-1", "stable", [
    file(`/lib/${T}/ld-linux-x86-64.so.2`),
    file(`/lib/${T}/libc.so.6`, elf(["ld-linux-x86-64.so.2"])),
    file(`/lib/${T}/libm.so.6`, elf(["libc.so.6"])),
    link("/lib64/ld-linux-x86-64.so.2", `/lib/${T}/ld-linux-x86-64.so.2`),
  ]),
  pkg("libstdc++6", "12.2-1", "stable", [link(`/usr/lib/${T}/libstdc++.so.6`, "libstdc++.so.6.0.30"), file(`/usr/lib/${T}/libstdc++.so.6.0.30`, elf(["libm.so.6", "libgcc_s.so.1", "libc.so.6"]))]),
  pkg("libgcc-s1", "12.2-1", "stable", [file(`/lib/${T}/libgcc_s.so.1`, elf(["libc.so.6"]))]),
  pkg("libdup-a", "1", "stable", [file(`/usr/lib/${T}/libdup.so.1`)]),
  pkg("libdup-b", "1", "stable", [file(`/usr/lib/${T}/libdup.so.1`)]),
  // A soname link whose target another package ships.
  pkg("libcross1", "1", "stable", [link(`/usr/lib/${T}/libcross.so.1`, "../../../opt/cross/libcross.so.1.0")]),
  pkg("libcross-impl", "1", "stable", [file("/opt/cross/libcross.so.1.0", elf(["libc.so.6"]))]),
  // Found, but ld.so could not load them.
  pkg("libbad1", "1", "stable", [file(`/usr/lib/${T}/libbad.so.1`, "not a library\n"), file(`/usr/lib/${T}/libarm.so.1`, makeElf({ cls: 64, endian: "le", machine: 183 }).bytes)]),
];

/** trixie's layout: everything under /usr, the loader link in /usr/lib64, the t64 rename. */
const merged = (): FixturePackage[] => [
  pkg("libc6", "2.41-1", "merged", [file(`/usr/lib/${T}/ld-linux-x86-64.so.2`), file(`/usr/lib/${T}/libc.so.6`, elf(["ld-linux-x86-64.so.2"])), link("/usr/lib64/ld-linux-x86-64.so.2", `../lib/${T}/ld-linux-x86-64.so.2`)]),
  pkg("libssl3t64", "3.5-1", "merged", [file(`/usr/lib/${T}/libssl.so.3`, elf(["libcrypto.so.3", "libc.so.6"])), file(`/usr/lib/${T}/libcrypto.so.3`, elf(["libc.so.6"]))]),
];

let dir: string;
let key: TestKey;
let http: HttpClient;
let root: string;

beforeAll(async () => {
  dir = await tempDir("binary-needs-");
  key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
  root = join(dir, "archive");
  await buildArchive({ root, suites: ["stable", "merged"], architectures: ["amd64"], packages: [...stable(), ...merged()], signWith: [key], date: STABLE_DATE, signDate: signDateFor(STABLE_DATE), contents: true });
  http = new HttpClient({ timeoutMs: 2000, backoffMs: 10, retries: 1 });
}, 60_000);
afterAll(async () => {
  await http?.close();
  await removeDir(dir);
});

async function trace(suite: string, bytes: Uint8Array, locked?: Map<string, string>) {
  const project = await writeProject(join(dir, `p-${suite}`), key, { suites: [suite], architectures: ["amd64"] });
  const loaded = await loadManifest(project.config);
  const fetcher = new Fetcher({ cache: new ContentCache(join(dir, "cache")), http, offline: false, progress: silentProgress });
  const mirrors = planMirrors(loaded.manifest.sources, { mirrors: [`file://${root}`] });
  return traceBinaryNeeds({ binary: "app", elf: parseElf(bytes, "app"), bytes, loaded, fetcher, mirrors, now: new Date(Date.UTC(2024, 0, 3)), locked });
}

const app = (interpreter: string, needed: string[]): Uint8Array => Buffer.concat([makeElf({ cls: 64, endian: "le", machine: 62, interpreter, needed }).bytes, Buffer.from("\0/etc/ssl/certs\0")]);

describe("findBinaryNeeds through Contents", () => {
  it("non-merged suite: the interpreter link and its target, soname links and real files, the libraries' own needs, links into another package", async () => {
    const r = await trace("stable", app("/lib64/ld-linux-x86-64.so.2", ["libstdc++.so.6", "libc.so.6", "libdup.so.1", "libnowhere.so.1", "libcross.so.1"]));
    expect(r.needs.files.map((f) => [f.path, f.package])).toEqual([
      [`/lib/${T}/ld-linux-x86-64.so.2`, "libc6"],
      [`/lib/${T}/libc.so.6`, "libc6"],
      [`/lib/${T}/libgcc_s.so.1`, "libgcc-s1"],
      [`/lib/${T}/libm.so.6`, "libc6"],
      ["/lib64/ld-linux-x86-64.so.2", "libc6"],
      ["/opt/cross/libcross.so.1.0", "libcross-impl"],
      [`/usr/lib/${T}/libcross.so.1`, "libcross1"],
      [`/usr/lib/${T}/libstdc++.so.6`, "libstdc++6"],
      [`/usr/lib/${T}/libstdc++.so.6.0.30`, "libstdc++6"],
    ]);
    expect(r.needs.files.find((f) => f.path.endsWith("libstdc++.so.6.0.30"))?.reason).toBe(`target of /usr/lib/${T}/libstdc++.so.6`);
    expect(r.needs.files.find((f) => f.path === "/lib64/ld-linux-x86-64.so.2")?.reason).toBe("interpreter /lib64/ld-linux-x86-64.so.2");
    expect(r.needs.packages).toEqual(["libc6", "libcross-impl", "libcross1", "libgcc-s1", "libstdc++6"]);
    expect(r.needs).toMatchObject({ binary: "app", architecture: "amd64", static: false, fileSets: ["ca-certs"] });
    const dirs = [`/lib/${T}`, `/usr/lib/${T}`, "/lib", "/usr/lib", "/lib64", "/usr/lib64"];
    expect(r.needs.unresolved).toEqual([
      { name: "libdup.so.1", neededBy: ["app"], searched: dirs.map((d) => `${d}/libdup.so.1`), candidates: ["libdup-a", "libdup-b"] },
      { name: "libnowhere.so.1", neededBy: ["app"], searched: dirs.map((d) => `${d}/libnowhere.so.1`) },
    ]);
    // Who needs what: libgcc_s.so.1 comes in through libstdc++.so.6, the loader's soname through libc.so.6.
    expect(r.trace.find((n) => n.name === "libgcc_s.so.1")?.neededBy).toEqual(["libstdc++.so.6"]);
    expect(r.trace.find((n) => n.name === "ld-linux-x86-64.so.2")).toMatchObject({ kind: "library", neededBy: ["libc.so.6"], package: "libc6" });
    expect(r.trace.find((n) => n.name === "libc.so.6")?.neededBy).toEqual(["app", "libstdc++.so.6", "libm.so.6", "libgcc_s.so.1", "libcross.so.1"]);
    // One Contents pass for the binary's needs, one for the next level; the third level asks nothing new.
    expect(r.contentsPasses).toBe(2);
  });

  it("several packages ship a path: the one the lock has is taken", async () => {
    const r = await trace("stable", app("/lib64/ld-linux-x86-64.so.2", ["libdup.so.1"]), new Map([["libdup-b", "1"]]));
    expect(r.needs.files.find((f) => f.path.endsWith("/libdup.so.1"))).toEqual({ path: `/usr/lib/${T}/libdup.so.1`, package: "libdup-b", reason: "soname libdup.so.1" });
    expect(r.needs.unresolved).toEqual([]);
  });

  it("merged /usr: found under the /usr spelling, the loader through /usr/lib64, trixie's package names", async () => {
    const r = await trace("merged", app("/lib64/ld-linux-x86-64.so.2", ["libssl.so.3", "libc.so.6"]));
    expect(r.needs.files.map((f) => [f.path, f.package])).toEqual([
      [`/usr/lib/${T}/ld-linux-x86-64.so.2`, "libc6"],
      [`/usr/lib/${T}/libc.so.6`, "libc6"],
      [`/usr/lib/${T}/libcrypto.so.3`, "libssl3t64"],
      [`/usr/lib/${T}/libssl.so.3`, "libssl3t64"],
      ["/usr/lib64/ld-linux-x86-64.so.2", "libc6"],
    ]);
    expect(r.needs.unresolved).toEqual([]);
  });

  it("a library that is not ELF, or built for another architecture, is named unusable", async () => {
    const r = await trace("stable", app("/lib64/ld-linux-x86-64.so.2", ["libbad.so.1", "libarm.so.1"]));
    expect(r.trace.find((n) => n.name === "libbad.so.1")?.unusable).toMatch(/^not an ELF shared library \(.*libbad\.so\.1 \(libbad1\): not an ELF file/);
    expect(r.trace.find((n) => n.name === "libarm.so.1")?.unusable).toBe(`/usr/lib/${T}/libarm.so.1 in libbad1 is built for arm64, the binary for amd64`);
    const { diagnose } = await import("../../src/commands/doctor.js");
    const bytes = app("/lib64/ld-linux-x86-64.so.2", ["libbad.so.1", "libarm.so.1"]);
    const report = diagnose({ binary: "app", elf: parseElf(bytes, "app"), bytes, found: r });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.stringMatching(/^libbad\.so\.1: not an ELF shared library/), `libarm.so.1: /usr/lib/${T}/libarm.so.1 in libbad1 is built for arm64, the binary for amd64`]);
  });

  it("a static binary needs nothing and reads no archive", async () => {
    const bytes = Buffer.concat([makeElf({ cls: 64, endian: "le", machine: 62 }).bytes, Buffer.from("\0/usr/share/zoneinfo\0")]);
    const r = await trace("stable", bytes);
    expect(r.needs).toEqual({ binary: "app", architecture: "amd64", static: true, files: [], packages: [], fileSets: ["tzdata"], unresolved: [] });
    expect(r.contentsPasses).toBe(0);
  });

  it("findBinaryNeeds reads the binary and the manifest itself (what add calls)", async () => {
    const project = await writeProject(join(dir, "p-find"), key, { suites: ["merged"], architectures: ["amd64"] });
    const bin = join(dir, "app-find");
    await writeFile(bin, app("/lib64/ld-linux-x86-64.so.2", ["libc.so.6"]));
    const fetcher = new Fetcher({ cache: new ContentCache(join(dir, "cache")), http, offline: false, progress: silentProgress });
    const needs = await findBinaryNeeds({ binary: bin, config: project.config, mirrors: [`file://${root}`], fetcher, now: new Date(Date.UTC(2024, 0, 3)) });
    expect(needs.packages).toEqual(["libc6"]);
    expect(needs.files.map((f) => f.path)).toEqual([`/usr/lib/${T}/ld-linux-x86-64.so.2`, `/usr/lib/${T}/libc.so.6`, "/usr/lib64/ld-linux-x86-64.so.2"]);
  });

  it("findBinaryNeeds with a lockfile: the locked one of two owners is taken (a missing lock is no lock)", async () => {
    const project = await writeProject(join(dir, "p-lock"), key, { suites: ["stable"], architectures: ["amd64"], fileSets: {}, packages: ["libdup-b"] });
    const bin = join(dir, "app-lock");
    await writeFile(bin, app("/lib64/ld-linux-x86-64.so.2", ["libdup.so.1"]));
    const fetcher = new Fetcher({ cache: new ContentCache(join(dir, "cache")), http, offline: false, progress: silentProgress });
    const opts = { binary: bin, config: project.config, mirrors: [`file://${root}`], fetcher, now: new Date(Date.UTC(2024, 0, 3)), lockfile: project.lockfile };
    expect((await findBinaryNeeds(opts)).unresolved.map((u) => u.candidates)).toEqual([["libdup-a", "libdup-b"]]);
    await lockWith({ config: project.config, lockfile: project.lockfile, mirror: `file://${root}`, cache: join(dir, "cache"), now: new Date(Date.UTC(2024, 0, 3)) });
    const needs = await findBinaryNeeds(opts);
    expect(needs.unresolved).toEqual([]);
    expect(needs.files.find((f) => f.path.endsWith("/libdup.so.1"))?.package).toBe("libdup-b");
  });
});

describe("doctor with a manifest (the CLI)", () => {
  async function doctor(args: string[]): Promise<{ code: number; out: string }> {
    const writes: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((c: string | Uint8Array) => (writes.push(String(c)), true));
    const errSpy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const code = await main(["doctor", ...args, "--mirror", `file://${root}`, "--cache", join(dir, "cache")]);
      return { code, out: writes.join("") };
    } finally {
      spy.mockRestore();
      errSpy.mockRestore();
    }
  }

  it("--json gives BinaryNeeds and the needs; a soname no package ships and one two packages ship fail it (exit 1)", async () => {
    const project = await writeProject(join(dir, "p-cli"), key, { suites: ["stable"], architectures: ["amd64"] });
    const bin = join(dir, "app-cli");
    await writeFile(bin, app("/lib64/ld-linux-x86-64.so.2", ["libstdc++.so.6", "libdup.so.1", "libnowhere.so.1"]));
    const json = await doctor([bin, "--config", project.config, "--json"]);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.out) as DoctorReport;
    expect(doc.binaryNeeds?.packages).toEqual(["libc6", "libgcc-s1", "libstdc++6"]);
    expect(doc.binaryNeeds?.files.map((f) => f.path)).toContain(`/usr/lib/${T}/libstdc++.so.6.0.30`);
    expect(doc.needs.find((n) => n.name === "libgcc_s.so.1")).toMatchObject({ package: "libgcc-s1", neededBy: ["libstdc++.so.6"], status: "unchecked" });
    // Everything it read is in the cache now: --offline gives the same answer.
    const offline = await doctor([bin, "--config", project.config, "--json", "--offline"]);
    expect(offline.code).toBe(1);
    expect((JSON.parse(offline.out) as DoctorReport).binaryNeeds).toEqual(doc.binaryNeeds);
    const text = await doctor([bin, "--manifest", project.config]);
    expect(text.code).toBe(1);
    expect(text.out).toContain("need libdup.so.1: shipped by libdup-a and libdup-b: add the one you want to packages in scratch.json");
    expect(text.out).toContain(`need libnowhere.so.1: no package of the manifest's suites ships it (searched /lib/${T}/libnowhere.so.1, /usr/lib/${T}/libnowhere.so.1, /lib/libnowhere.so.1,`);
    expect(text.out).toContain(`need libgcc_s.so.1: package libgcc-s1 at /lib/${T}/libgcc_s.so.1 — needed by libstdc++.so.6`);
    expect(text.out).toMatch(/^files: 7 paths from libc6, libgcc-s1, libstdc\+\+6 \(--json lists them\)$/m);
  });

  it("--layer: the layer is checked and each missing need names its package", async () => {
    const project = await writeProject(join(dir, "p-layer"), key, { suites: ["stable"], architectures: ["amd64"] });
    const bin = join(dir, "app-layer");
    await writeFile(bin, app("/lib64/ld-linux-x86-64.so.2", ["libc.so.6", "libgcc_s.so.1"]));
    // A layer with the loader and libc but not libgcc_s.so.1.
    const staging = join(dir, "layer-root");
    for (const [p, body] of [[`lib/${T}/ld-linux-x86-64.so.2`, elf()], [`lib/${T}/libc.so.6`, elf(["ld-linux-x86-64.so.2"])]] as const) {
      await mkdir(join(staging, dirname(p)), { recursive: true });
      await writeFile(join(staging, p), body);
    }
    await mkdir(join(staging, "lib64"), { recursive: true });
    await symlink(`/lib/${T}/ld-linux-x86-64.so.2`, join(staging, "lib64/ld-linux-x86-64.so.2"));
    const layer = join(dir, "layer.tar");
    execFileSync("tar", ["-cf", layer, "-C", staging, "."]);
    const r = await doctor([bin, "--config", project.config, "--layer", layer]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^ok {3}\/lib64\/ld-linux-x86-64\.so\.2 \(interpreter\): in the layer as \/lib64\/ld-linux-x86-64\.so\.2 → \/lib\/x86_64-linux-gnu\/ld-linux-x86-64\.so\.2 \(libc6, file set libc\)$/m);
    expect(r.out).toContain('MISS libgcc_s.so.1: not in the layer; package libgcc-s1 — add "libgcc-s1" to packages in scratch.json');
  });
});
