// `add` end to end on the command line for the kinds of binary issue 12 names, each built here
// and run with chroot in the layer made from what `add` wrote and locked, against a signed
// fixture archive of the real trixie amd64 .debs in snapshots/ (Contents lines from dpkg-deb):
// - a C++ program (g++): its set's packages and paths are what readelf and dpkg-deb say
//   (libstdc++6, libgcc-s1, libc6); the lock is base's packages plus the Depends closure
//   dpkg-deb reads from those .debs; and `image --add` of the program at /app gives an SPDX
//   SBOM whose Debian packages are exactly the lock's;
// - a static Go program (CGO_ENABLED=0) that reads the system CA pool and a zone: add writes
//   nothing but the built-in `ca-certs` and `tzdata` sets; in the layer it counts the bundle's
//   certificates (as grep counts them) and prints a time in Europe/Amsterdam (as date does);
// - a binary that is a package's own file (a gcc-built program packaged here as `greeter`,
//   which prints the message its package ships beside it; another package ships that path with
//   other bytes): add requests that package whole, so the layer has its data; the same program
//   rebuilt (other bytes) is not taken for it.
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { buildArchive, type FixturePackage } from "../fixtures/archive.js";
import { needsFromTools } from "../fixtures/binary-needs.js";
import { hasCommand } from "../fixtures/deb.js";
import { realPackage } from "../fixtures/real-package.js";
import { compileCli, cleanEnv, run } from "../layer/helpers.js";
import { KEY_DATE, STABLE_DATE, removeDir, repoRoot, signDateFor, tempDir, writeProject } from "../lock/helpers.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";

const tools = process.arch === "x64" && ["readelf", "dpkg-deb", "tar"].every((t) => hasCommand(t));
const gcc = tools && hasCommand("gcc");
const chroot = tools && process.getuid?.() === 0 && hasCommand("chroot", "--version");
const gxx = tools && hasCommand("g++");
const go = tools && hasCommand("go", "version");
if (!tools) console.warn("skipping add's cases: not an amd64 machine, or readelf, dpkg-deb or tar is missing");
else {
  if (!chroot) console.warn("skipping the chroot runs of add's cases: they need root and chroot");
  if (!gxx) console.warn("skipping add's C++ case: g++ is missing");
  if (!go) console.warn("skipping add's Go case: go is missing (Debian's golang-go)");
}

const POOL = join(repoRoot, "snapshots/debian/pool/main");
/** The real trixie amd64 .debs of the archive: the C++ runtime's closure, base's, and the CA and zone data. */
const DEBS: Record<string, string> = {
  libc6: "g/glibc/libc6_2.41-12+deb13u5_amd64.deb",
  "libgcc-s1": "g/gcc-14/libgcc-s1_14.2.0-19_amd64.deb",
  "gcc-14-base": "g/gcc-14/gcc-14-base_14.2.0-19_amd64.deb",
  "libstdc++6": "g/gcc-14/libstdc++6_14.2.0-19_amd64.deb",
  "base-files": "b/base-files/base-files_13.8+deb13u8_amd64.deb",
  netbase: "n/netbase/netbase_6.5_all.deb",
  "ca-certificates": "c/ca-certificates/ca-certificates_20250419+deb13u1_all.deb",
  tzdata: "t/tzdata/tzdata_2026f-0+deb13u1_all.deb",
};
const debPath = (pkg: string): string => join(POOL, DEBS[pkg]!);
/** The packages `base` takes (README, built-in sets). */
const BASE = ["base-files", "netbase"];
const GOCACHE = join(tmpdir(), "scratch-pkgs-live-go-build-cache");

let work: string;
let main: string;
let key: TestKey;
let archive: string;
let greeter: string;
let n = 0;

/** The packaged program: it prints the file its package ships in /usr/share/greeter. */
const GREETER_C = '#include <stdio.h>\nint main(void) { char b[64]; FILE *f = fopen("/usr/share/greeter/message", "r"); if (!f || !fgets(b, sizeof b, f)) return 1; fputs(b, stdout); return 0; }\n';
const MESSAGE = "hello from greeter's own package\n";

/** `greeter` as Debian would package it: the program in /usr/bin, its data in /usr/share. */
function greeterPackage(program: Uint8Array): FixturePackage {
  return {
    control: { Package: "greeter", Version: "1.0-1", Architecture: "amd64", Maintainer: "Fixture Maintainers <fixture@test.invalid>", Depends: "libc6 (>= 2.34)", Description: "prints its package's message" },
    files: [
      { path: "./usr/bin/greeter", type: "file", mode: 0o755, content: program },
      { path: "./usr/share/greeter/message", type: "file", content: MESSAGE },
    ],
  };
}

beforeAll(async () => {
  work = await tempDir("add-cases-");
  key = await makeKey({ type: "ecc", date: KEY_DATE });
  const built = compileCli(join(work, "build"));
  if (tools) {
    archive = join(work, "archive");
    const packages = Object.keys(DEBS).map((p) => realPackage(debPath(p)));
    if (gcc) {
      await writeFile(join(work, "greeter.c"), GREETER_C);
      greeter = join(work, "greeter");
      execFileSync("gcc", ["-O1", "-o", greeter, join(work, "greeter.c")]);
      packages.push(greeterPackage(new Uint8Array(await readFile(greeter))));
      // Another package ships /usr/bin/greeter too (as bookworm's python3.11-nopie ships /usr/bin/python3.11): its bytes are not the binary's.
      packages.push({ control: { ...greeterPackage(new Uint8Array()).control, Package: "greeter-nopie" }, files: [{ path: "./usr/bin/greeter", type: "file", mode: 0o755, content: "#!/bin/sh\necho nopie\n" }] });
    }
    await buildArchive({ root: archive, suites: ["stable"], architectures: ["amd64"], packages, signWith: [key], date: STABLE_DATE, signDate: signDateFor(STABLE_DATE), indexForms: ["xz"], contents: true });
  }
  main = await built;
}, 240_000);

afterAll(async () => {
  if (work) await removeDir(work);
});

const cli = (args: string[]) => run(process.execPath, [main, ...args], { cwd: work, env: cleanEnv() });

/** An amd64 project on the fixture archive with `base`, as a user starts; and the flags that reach the archive. */
async function project() {
  const p = await writeProject(join(work, `p${n++}`), key, { suites: ["stable"], architectures: ["amd64"], policy: "closure", fileSets: { base: {} } });
  const cache = join(p.dir, "cache");
  return { ...p, fetch: ["--mirror", `file://${archive}`, "--cache", cache] };
}

/** `add BINARY`, then `layer`: the layer unpacked into `rootfs` with the binary copied in at /NAME. */
async function addAndLayer(p: Awaited<ReturnType<typeof project>>, binary: string, name: string): Promise<{ rootfs: string; lock: Lockfile }> {
  const added = await cli(["add", binary, "--config", p.config, "--lockfile", p.lockfile, ...p.fetch]);
  expect(added.code, added.stderr.toString()).toBe(0);
  const tar = join(p.dir, "amd64.tar");
  const layer = await cli(["layer", "--lockfile", p.lockfile, "--arch", "amd64", "--output", tar, ...p.fetch]);
  expect(layer.code, layer.stderr.toString()).toBe(0);
  const rootfs = join(p.dir, "rootfs");
  await mkdir(rootfs);
  execFileSync("tar", ["-xf", tar, "-C", rootfs]);
  await copyFile(binary, join(rootfs, name));
  return { rootfs, lock: JSON.parse(await readFile(p.lockfile, "utf8")) as Lockfile };
}

const lockedNames = (lock: Lockfile): string[] => lock.architectures.amd64!.packages.map((x) => x.name).sort();

/** The Depends and Pre-Depends closure of `roots` among the archive's packages, as dpkg-deb reads their control files (first alternative the archive has). */
function dependsClosure(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const pkg = queue.shift()!;
    if (seen.has(pkg)) continue;
    seen.add(pkg);
    const fields = execFileSync("dpkg-deb", ["-f", debPath(pkg), "Pre-Depends", "Depends"], { encoding: "utf8" });
    const relations = fields.split("\n").map((l) => l.replace(/^[A-Za-z-]+:\s*/, "")).join(",");
    for (const rel of relations.split(",").map((r) => r.trim()).filter(Boolean)) {
      const alt = rel.split("|").map((a) => a.trim().split(/[\s:(]/)[0]!).find((a) => a in DEBS);
      if (alt === undefined) throw new Error(`${pkg} depends on ${rel}, which the fixture archive lacks`);
      queue.push(alt);
    }
  }
  return [...seen].sort();
}

describe.skipIf(!gxx)("add a C++ program", () => {
  it("adds libstdc++6, libgcc-s1 and libc6's files as readelf and dpkg-deb find them; the lock is base plus their Depends closure; it runs with chroot; the image's SBOM lists exactly the lock's packages", async () => {
    await writeFile(join(work, "greet.cc"), '#include <iostream>\n#include <string>\nint main() { std::string s = "hello from c++"; std::cout << s << std::endl; }\n');
    const greet = join(work, "greet");
    execFileSync("g++", ["-O1", "-o", greet, join(work, "greet.cc")]);
    const p = await project();
    const { rootfs, lock } = await addAndLayer(p, greet, "greet");

    const set = (JSON.parse(await readFile(p.config, "utf8")) as { fileSets: Record<string, { packages: string[]; paths: string[] }> }).fileSets["greet-amd64"]!;
    const want = needsFromTools(greet, "amd64", Object.keys(DEBS).map((pkg) => ({ package: pkg, deb: debPath(pkg) })));
    expect(want.unresolved).toEqual([]);
    expect(set.paths).toEqual(want.files.map((f) => f.path));
    expect(set.packages).toEqual([...new Set(want.files.map((f) => f.package))].sort());
    expect(set.packages).toEqual(["libc6", "libgcc-s1", "libstdc++6"]);
    expect(lockedNames(lock)).toEqual([...new Set([...BASE, ...dependsClosure(set.packages)])].sort());
    if (chroot) expect(execFileSync("chroot", [rootfs, "/greet"], { encoding: "utf8" })).toBe("hello from c++\n");

    // The image with the program at /app: its SBOM's Debian packages are the lock's, name and version.
    const staged = join(p.dir, "app-root");
    await mkdir(staged);
    await copyFile(greet, join(staged, "app"));
    const appTar = join(p.dir, "app.tar");
    execFileSync("tar", ["-C", staged, "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-cf", appTar, "app"]);
    const sbom = join(p.dir, "sbom.spdx.json");
    const image = await cli(["image", "--lockfile", p.lockfile, "--arch", "amd64", "--add", appTar, "--entrypoint", '["/app"]', "--output", join(p.dir, "image.tar"), "--sbom", sbom, ...p.fetch]);
    expect(image.code, image.stderr.toString()).toBe(0);
    const doc = JSON.parse(await readFile(sbom, "utf8")) as { packages: Array<{ name: string; versionInfo?: string; externalRefs?: Array<{ referenceLocator: string }> }> };
    const debian = doc.packages.filter((x) => x.externalRefs?.some((r) => r.referenceLocator.startsWith("pkg:deb/")));
    expect(debian.map((x) => `${x.name} ${x.versionInfo}`).sort()).toEqual(lock.architectures.amd64!.packages.map((x) => `${x.name} ${x.version}`).sort());
  }, 120_000);
});

describe.skipIf(!go)("add a static Go program", () => {
  it("adds nothing but the ca-certs and tzdata sets; in the layer it finds the CA bundle and loads a zone", async () => {
    const src = join(work, "tlszone.go");
    await writeFile(
      src,
      [
        "package main",
        'import ("crypto/tls"; "crypto/x509"; "fmt"; "os"; "time")',
        "func main() {",
        "  pool, err := x509.SystemCertPool()",
        '  if err != nil { fmt.Println(err); os.Exit(1) }',
        "  _ = &tls.Config{RootCAs: pool}",
        '  loc, err := time.LoadLocation("Europe/Amsterdam")',
        '  if err != nil { fmt.Println(err); os.Exit(1) }',
        '  fmt.Printf("%d %s\\n", len(pool.Subjects()), time.Unix(1719835200, 0).In(loc).Format("2006-01-02 15:04 MST"))',
        "}",
        "",
      ].join("\n"),
    );
    const app = join(work, "tlszone");
    // Offline, no cgo: a static binary.
    execFileSync("go", ["build", "-trimpath", "-o", app, src], { cwd: work, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work, GOCACHE, GOPATH: join(work, "gopath"), GOPROXY: "off", GOFLAGS: "", CGO_ENABLED: "0" } });
    expect(execFileSync("readelf", ["-lW", app], { encoding: "utf8" })).not.toContain("INTERP");
    const p = await project();
    const before = JSON.parse(await readFile(p.config, "utf8")) as Record<string, unknown>;
    const { rootfs, lock } = await addAndLayer(p, app, "tlszone");

    const after = JSON.parse(await readFile(p.config, "utf8")) as Record<string, unknown>;
    expect(after).toEqual({ ...before, fileSets: { base: {}, "ca-certs": {}, tzdata: {} } });
    expect(lockedNames(lock)).toEqual([...BASE, "ca-certificates", "tzdata"].sort());
    if (chroot) {
      const certs = Number(execFileSync("grep", ["-c", "^-----BEGIN CERTIFICATE-----$", join(rootfs, "etc/ssl/certs/ca-certificates.crt")], { encoding: "utf8" }));
      expect(certs).toBeGreaterThan(0);
      const amsterdam = execFileSync("date", ["-d", "@1719835200", "+%Y-%m-%d %H:%M %Z"], { encoding: "utf8", env: { TZ: "Europe/Amsterdam" } });
      expect(execFileSync("chroot", [rootfs, "/tlszone"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin" } })).toBe(`${certs} ${amsterdam}`);
    }
  }, 180_000);
});

describe.skipIf(!gcc)("add a binary that is a package's own file", () => {
  it("requests that package whole (not the other package shipping that path) besides the set of its libraries: the layer has its data and the program prints it with chroot", async () => {
    const p = await project();
    const { rootfs, lock } = await addAndLayer(p, greeter, "greeter");
    const manifest = JSON.parse(await readFile(p.config, "utf8")) as { packages?: unknown[]; fileSets: Record<string, { packages: string[] }> };
    expect(manifest.packages).toEqual(["greeter"]);
    expect(manifest.fileSets["greeter-amd64"]!.packages).toEqual(["libc6"]);
    expect(lockedNames(lock)).toEqual([...new Set([...BASE, ...dependsClosure(["libc6"]), "greeter"])].sort());
    expect(await readFile(join(rootfs, "usr/share/greeter/message"), "utf8")).toBe(MESSAGE);
    if (chroot) expect(execFileSync("chroot", [rootfs, "/greeter"], { encoding: "utf8" })).toBe(MESSAGE);
    // doctor says so too.
    const doctor = await cli(["doctor", greeter, "--config", p.config, "--lockfile", p.lockfile, ...p.fetch]);
    expect(doctor.stdout.toString()).toContain("hint the binary is /usr/bin/greeter of package greeter (the same bytes)");
  }, 120_000);

  it("a build of the same name with other bytes is not the package's: only its libraries (add --check --json)", async () => {
    const other = join(work, "other", "greeter");
    await mkdir(join(work, "other"));
    execFileSync("gcc", ["-O0", "-o", other, join(work, "greeter.c")]);
    expect(await readFile(other)).not.toEqual(await readFile(greeter));
    const p = await project();
    const r = await cli(["add", other, "--check", "--json", "--config", p.config, "--lockfile", p.lockfile, ...p.fetch]);
    expect(r.code, r.stderr.toString()).toBe(1);
    const out = JSON.parse(r.stdout.toString("utf8")) as { additions: Array<{ field: string }> };
    expect(out.additions.map((a) => a.field)).toEqual(["fileSets.greeter-amd64"]);
  }, 60_000);
});
