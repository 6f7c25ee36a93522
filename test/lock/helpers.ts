/**
 * Shared set-up for the end-to-end `lock` tests: a Debian-like fixture archive (two suites with
 * different Dates), manifests in temp dirs, and runLock wired to a real HttpClient and cache.
 * The manifests name a fake https URL; the local server is always passed as a mirror, so the
 * tests also prove that the lock records the manifest's URL and never the mirror's.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient, type HttpOptions } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { runLock, type LockResult } from "../../src/commands/lock.js";
import { runLayer, type LayerResult } from "../../src/commands/layer.js";
import { runAudit } from "../../src/commands/audit.js";
import type { AuditReport } from "../../src/audit/report.js";
import type { LayerCompression } from "../../src/codec/compress.js";
import * as tarStream from "tar-stream";
import type { Lockfile } from "../../src/model/lock.js";
import { buildArchive, FIXTURE_DATE, type FixtureArchive, type FixtureOptions, type FixturePackage } from "../fixtures/archive.js";
import type { DebEntry } from "../fixtures/deb.js";
import type { TestKey } from "../sources/pgp-helpers.js";
import { CERT_NAMES, fixtureCertificates } from "./certs.js";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** What every manifest names: a host that cannot resolve, so only the mirror can serve it. */
export const ARCHIVE_URL = "https://archive.test.invalid/debian";

/** Keys are made this long before the fixture's Release Date (they must exist when signing). */
export const KEY_DATE = new Date(Date.UTC(2023, 5, 1));
/** stable's Release Date is FIXTURE_DATE; stable-updates' is a day later (the newest). */
export const STABLE_DATE = FIXTURE_DATE;
export const UPDATES_DATE = new Date(FIXTURE_DATE.getTime() + 86_400_000);
/** Like Debian's archive, the signature is made a few minutes after the Release Date. */
export const signDateFor = (releaseDate: Date): Date => new Date(releaseDate.getTime() + 5 * 60_000);

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `scratch-pkgs-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export async function sha256File(path: string): Promise<string> {
  return sha256(await readFile(path));
}

// ---------------------------------------------------------------- the packages

export const MAINTAINER = "Fixture Maintainers <fixture@test.invalid>";
const TRIPLET: Record<string, string> = { amd64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" };
export const ARCHES = ["amd64", "arm64"] as const;

function pkg(suite: string, control: Record<string, string>, files: DebEntry[]): FixturePackage {
  // gzip members keep the fixture quick to build (lock builds each layer, so it reads them all).
  return { suite, control: { Maintainer: MAINTAINER, Description: `${control.Package} (fixture)`, ...control }, files, dataCompression: "gz", controlCompression: "gz" };
}

const file = (path: string, content: string | Uint8Array, mode = 0o644): DebEntry => ({ path, type: "file", content, mode });
const link = (path: string, target: string): DebEntry => ({ path, type: "symlink", target });
const doc = (name: string): DebEntry => file(`./usr/share/doc/${name}/copyright`, `${name} copyright\n`);

export const V = {
  libc6: "2.36-9",
  libc6Update: "2.36-9+deb12u4",
  libc6Update2: "2.36-9+deb12u7",
  gcc: "12.2.0-14",
  ca: "20230311",
  ca2: "20240203",
  tzdata: "2024a-0+deb12u1",
  tzdata2: "2025a-0+deb12u1",
  baseFiles: "12.4+deb12u5",
  netbase: "6.4",
  openssl: "3.0.11-1~deb12u2",
  debconf: "1.5.82",
  hello: "2.10-3",
} as const;

function libc6(suite: string, version: string, arch: string): FixturePackage {
  const t = TRIPLET[arch]!;
  const loader = arch === "amd64" ? [link("./lib64/ld-linux-x86-64.so.2", `/lib/${t}/ld-linux-x86-64.so.2`), file(`./lib/${t}/ld-linux-x86-64.so.2`, `loader ${version}\n`, 0o755)] : [link("./lib/ld-linux-aarch64.so.1", `${t}/ld-linux-aarch64.so.1`), file(`./lib/${t}/ld-linux-aarch64.so.1`, `loader ${version}\n`, 0o755)];
  return pkg(
    suite,
    { Package: "libc6", Source: "glibc", Version: version, Architecture: arch, "Multi-Arch": "same", Depends: "libgcc-s1", Section: "libs", Priority: "optional" },
    [file(`./lib/${t}/libc.so.6`, `libc ${version} ${arch}\n`, 0o755), ...loader, doc("libc6")],
  );
}

/**
 * The fixture archive, modelled on Debian bookworm. `updates` picks stable-updates' content:
 * "v1" (libc6 deb12u4) or "v2" (the archive moved on: libc6 deb12u7 replaces deb12u4, newer
 * tzdata and ca-certificates appear while stable keeps the old ones).
 */
export function stablePackages(): FixturePackage[] {
  const s = "stable";
  const out: FixturePackage[] = [];
  for (const arch of ARCHES) {
    const t = TRIPLET[arch]!;
    out.push(libc6(s, V.libc6, arch));
    out.push(pkg(s, { Package: "libgcc-s1", Source: "gcc-12", Version: V.gcc, Architecture: arch, "Multi-Arch": "same", Depends: `gcc-12-base (= ${V.gcc}), libc6 (>= 2.35)` }, [file(`./lib/${t}/libgcc_s.so.1`, `libgcc ${arch}\n`), doc("libgcc-s1")]));
    out.push(pkg(s, { Package: "gcc-12-base", Source: "gcc-12", Version: V.gcc, Architecture: arch, "Multi-Arch": "same" }, [doc("gcc-12-base")]));
    out.push(pkg(s, { Package: "openssl", Version: V.openssl, Architecture: arch, Depends: "libc6 (>= 2.34)" }, [file("./usr/bin/openssl", `openssl ${arch}\n`, 0o755)]));
    out.push(pkg(s, { Package: "base-files", Version: V.baseFiles, Architecture: arch, Essential: "yes", "Multi-Arch": "foreign" }, [file("./usr/lib/os-release", 'PRETTY_NAME="Fixture GNU/Linux 12 (stable)"\nID=debian\n'), link("./etc/os-release", "../usr/lib/os-release"), file("./etc/debian_version", "12.5\n")]));
    out.push(pkg(s, { Package: "hello", Version: V.hello, Architecture: arch, Depends: "libc6 (>= 2.34)" }, [file("./usr/bin/hello", `hello ${arch}\n`, 0o755), doc("hello")]));
    // Two providers of the virtual name "awk", as in Debian.
    out.push(pkg(s, { Package: "mawk", Version: "1.3.4.20200120-3.1", Architecture: arch, "Multi-Arch": "foreign", Provides: "awk", "Pre-Depends": "libc6 (>= 2.34)" }, [file("./usr/bin/mawk", "mawk\n", 0o755)]));
    out.push(pkg(s, { Package: "gawk", Version: "1:5.2.1-2", Architecture: arch, "Multi-Arch": "foreign", Provides: "awk", "Pre-Depends": "libc6 (>= 2.34)" }, [file("./usr/bin/gawk", "gawk\n", 0o755)]));
    // Wants a libc older than the archive's: an unresolvable conflict when libc6 is locked too.
    out.push(pkg(s, { Package: "legacy-tool", Version: "0.9-1", Architecture: arch, Depends: "libc6 (<< 2.30)" }, [file("./usr/bin/legacy-tool", "legacy\n", 0o755)]));
  }
  // amd64 only, as in Debian.
  out.push(pkg(s, { Package: "libquadmath0", Source: "gcc-12", Version: V.gcc, Architecture: "amd64", "Multi-Arch": "same", Depends: `gcc-12-base (= ${V.gcc}), libc6 (>= 2.23)` }, [file("./usr/lib/x86_64-linux-gnu/libquadmath.so.0", "quadmath\n")]));
  out.push(caCertificates(s, V.ca));
  out.push(tzdata(s, V.tzdata));
  out.push(pkg(s, { Package: "debconf", Version: V.debconf, Architecture: "all", "Multi-Arch": "foreign", Provides: "debconf-2.0" }, [file("./usr/share/debconf/confmodule", "# debconf\n")]));
  out.push(pkg(s, { Package: "netbase", Version: V.netbase, Architecture: "all", "Multi-Arch": "foreign" }, [file("./etc/services", "ssh\t\t22/tcp\n"), file("./etc/protocols", "tcp\t6\tTCP\n")]));
  return out;
}

/** The certificates each fixture ca-certificates version ships, by file name under mozilla/. */
export function caCertificateFiles(version: string): Array<{ name: string; pem: string }> {
  const certs = fixtureCertificates();
  // The newer version adds a third root, as Debian's updates do.
  const count = version === V.ca ? 2 : 3;
  return certs.slice(0, count).map((pem, i) => ({ name: `${CERT_NAMES[i]!.replace(/ /g, "_")}.crt`, pem }));
}

function caCertificates(suite: string, version: string): FixturePackage {
  return pkg(
    suite,
    { Package: "ca-certificates", Version: version, Architecture: "all", "Multi-Arch": "foreign", Depends: "openssl (>= 1.1.1), debconf (>= 0.5) | debconf-2.0" },
    [
      ...caCertificateFiles(version).map((c) => file(`./usr/share/ca-certificates/mozilla/${c.name}`, c.pem)),
      file("./usr/sbin/update-ca-certificates", "#!/bin/sh\n", 0o755),
      doc("ca-certificates"),
    ],
  );
}

/** Zone files copied from this machine's tzdata at test time (real TZif data). */
export const ZONES = ["Etc/UTC", "Europe/Amsterdam"] as const;

const zoneBytes = new Map<string, Uint8Array>();
export function machineZone(zone: (typeof ZONES)[number]): Uint8Array {
  let bytes = zoneBytes.get(zone);
  if (!bytes) {
    const path = `/usr/share/zoneinfo/${zone}`;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch (e) {
      throw new Error(`the lock tests copy ${path} from this machine's tzdata (${(e as Error).message}): apt-get install tzdata`);
    }
    zoneBytes.set(zone, bytes);
  }
  return bytes;
}

function tzdata(suite: string, version: string): FixturePackage {
  // As in Debian: UTC is a link to Etc/UTC; tzdata.zi names the release, so versions differ in content.
  return pkg(suite, { Package: "tzdata", Version: version, Architecture: "all", "Multi-Arch": "foreign", Depends: "debconf (>= 0.5) | debconf-2.0" }, [
    file("./usr/share/zoneinfo/Etc/UTC", machineZone("Etc/UTC")),
    link("./usr/share/zoneinfo/UTC", "Etc/UTC"),
    file("./usr/share/zoneinfo/Europe/Amsterdam", machineZone("Europe/Amsterdam")),
    file("./usr/share/zoneinfo/tzdata.zi", `# version ${version.replace(/-.*/, "")}\n`),
    doc("tzdata"),
  ]);
}

export function updatesPackages(which: "v1" | "v2"): FixturePackage[] {
  const u = "stable-updates";
  if (which === "v1") return ARCHES.map((a) => libc6(u, V.libc6Update, a));
  return [...ARCHES.map((a) => libc6(u, V.libc6Update2, a)), tzdata(u, V.tzdata2), caCertificates(u, V.ca2)];
}

export interface TwoSuiteArchive {
  root: string;
  stable: FixtureArchive;
  updates: FixtureArchive;
  /** Every .deb of both suites, keyed "name_version_arch". */
  debs: FixtureArchive["debs"];
}

/**
 * stable and stable-updates written into one root (shared pool), each suite with its own
 * Release Date like Debian's, signed by `key`.
 */
export async function buildTwoSuites(root: string, key: TestKey, which: "v1" | "v2", extra: Partial<FixtureOptions> = {}): Promise<TwoSuiteArchive> {
  const updatesDate = which === "v1" ? UPDATES_DATE : new Date(UPDATES_DATE.getTime() + 30 * 86_400_000);
  const common = { root, architectures: [...ARCHES], signWith: [key], ...extra };
  const stable = await buildArchive({ ...common, suites: ["stable"], packages: stablePackages(), date: STABLE_DATE, signDate: signDateFor(STABLE_DATE) });
  const updates = await buildArchive({ ...common, suites: ["stable-updates"], packages: updatesPackages(which), date: updatesDate, signDate: signDateFor(updatesDate) });
  return { root, stable, updates, debs: new Map([...stable.debs, ...updates.debs]) };
}

// ---------------------------------------------------------------- manifests

export interface ManifestSpec {
  suites?: string[];
  policy?: "none" | "closure";
  fileSets?: Record<string, unknown>;
  /** Strings, or the object form ({"name": …, "architectures": […], "optional": true}). */
  packages?: Array<string | Record<string, unknown>>;
  allowExpired?: boolean;
  architectures?: string[];
  components?: string[];
}

export function manifestJson(spec: ManifestSpec = {}): string {
  const m = {
    sources: [
      {
        name: "debian",
        url: ARCHIVE_URL,
        suites: spec.suites ?? ["stable", "stable-updates"],
        components: spec.components ?? ["main"],
        keyring: "archive-key.asc",
        ...(spec.allowExpired !== undefined ? { allowExpired: spec.allowExpired } : {}),
      },
    ],
    architectures: spec.architectures ?? [...ARCHES],
    ...(spec.policy ? { policy: spec.policy } : {}),
    fileSets: spec.fileSets ?? { base: {}, "ca-certs": {}, libc: {}, tzdata: {} },
    ...(spec.packages ? { packages: spec.packages } : {}),
  };
  return JSON.stringify(m, null, 2) + "\n";
}

/** A project dir with scratch.json and the keyring beside it; returns the paths. */
export async function writeProject(dir: string, key: TestKey, spec: ManifestSpec = {}): Promise<{ dir: string; config: string; lockfile: string }> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "archive-key.asc"), key.armoredPublicKey);
  const config = join(dir, "scratch.json");
  await writeFile(config, manifestJson(spec));
  return { dir, config, lockfile: join(dir, "scratch.lock") };
}

// ---------------------------------------------------------------- running lock

export interface RunOptions {
  config: string;
  lockfile: string;
  mirror: string;
  cache: string;
  check?: boolean;
  update?: true | string[];
  offline?: boolean;
  http?: HttpOptions;
  now?: Date;
  /** SOURCE_DATE_EPOCH: every layer entry's mtime instead of the newest release Date. */
  sourceDateEpoch?: number;
}

export interface RunOutcome {
  result: LockResult;
  notes: string[];
}

/** runLock as the CLI wires it, with a small timeout, quick backoff and two retries. */
export async function lockWith(o: RunOptions, notes: string[] = []): Promise<RunOutcome> {
  const http = new HttpClient({ timeoutMs: 2000, backoffMs: 10, retries: 2, ...o.http });
  const fetcher = new Fetcher({ cache: new ContentCache(o.cache), http, offline: o.offline ?? false, progress: silentProgress });
  try {
    const result = await runLock({
      config: o.config,
      lockfile: o.lockfile,
      check: o.check ?? false,
      update: o.update,
      mirrors: [o.mirror],
      envMirror: undefined,
      aptSources: undefined,
      fetcher,
      now: o.now ?? new Date(),
      ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
      note: (l) => notes.push(l),
    });
    return { result, notes };
  } finally {
    await http.close();
  }
}

/** runAudit (the `audit` command's code) on o.lockfile and o.config, with lockWith's HTTP settings. */
export async function auditWith(o: RunOptions): Promise<AuditReport> {
  const http = new HttpClient({ timeoutMs: 2000, backoffMs: 10, retries: 2, ...o.http });
  const cache = new ContentCache(o.cache);
  const fetcher = new Fetcher({ cache, http, offline: o.offline ?? false, progress: silentProgress });
  try {
    return await runAudit({ lockfile: o.lockfile, config: o.config, mirrors: [o.mirror], envMirror: undefined, aptSources: undefined, fetcher, cache, now: o.now ?? new Date(), provenance: [] });
  } finally {
    await http.close();
  }
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { exitCode?: number; kind?: string; hint?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { exitCode?: number };
  }
  throw new Error("expected a rejection, but the promise resolved");
}

export async function readLock(path: string): Promise<Lockfile> {
  return JSON.parse(await readFile(path, "utf8")) as Lockfile;
}

/** Bytes of a file, or undefined when it does not exist. */
export async function bytesOrNone(path: string): Promise<Buffer | undefined> {
  return readFile(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
}

/** Sorted-key, 2-space, trailing-newline JSON written here independently of src/util. */
export function independentCanonical(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2) + "\n";
}

/** Package name → version of one architecture of a lock. */
export function versions(lock: Lockfile, arch: string): Record<string, string> {
  return Object.fromEntries((lock.architectures[arch]?.packages ?? []).map((p) => [p.name, p.version]));
}

export function expectFileUnchanged(before: Buffer | undefined, after: Buffer | undefined): void {
  if (before === undefined) expect(after).toBeUndefined();
  else expect(after === undefined ? undefined : Buffer.compare(before, after)).toBe(0);
}

// ---------------------------------------------------------------- running layer

/** runLayer (the `layer` command's code) on a lock, fetching from `mirror`, writing `output`. */
export async function layerWith(o: { lockfile: string; mirror: string; cache: string; output: string; compress?: LayerCompression; arch?: string }): Promise<LayerResult[]> {
  const http = new HttpClient({ timeoutMs: 2000, backoffMs: 10, retries: 2 });
  const fetcher = new Fetcher({ cache: new ContentCache(o.cache), http, offline: false, progress: silentProgress });
  try {
    return await runLayer({
      lockfile: o.lockfile,
      arches: o.arch ? [o.arch] : [],
      output: o.output,
      compress: o.compress ?? "none",
      check: false,
      mirrors: [o.mirror],
      envMirror: undefined,
      aptSources: undefined,
      fetcher,
    });
  } finally {
    await http.close();
  }
}

export interface TarMember {
  type: string;
  mode: number;
  mtime: number;
  uid: number;
  gid: number;
  content: Buffer;
  linkname: string | undefined;
}

/** A tar's members by name, read with tar-stream (not with the project's own tar code). */
export async function readTar(bytes: Uint8Array): Promise<Map<string, TarMember>> {
  const members = new Map<string, TarMember>();
  const extract = tarStream.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      members.set(h.name, {
        type: h.type ?? "file",
        mode: h.mode ?? 0,
        mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        content: Buffer.concat(chunks),
        linkname: h.linkname ?? undefined,
      });
    }
  })();
  extract.end(Buffer.from(bytes));
  await done;
  return members;
}

/** The bundle update-ca-certificates writes for these PEM files: concatenated in byte order of their names. */
export function expectedBundle(files: Array<{ name: string; pem: string }>): string {
  return [...files]
    .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
    .map((f) => (f.pem.endsWith("\n") ? f.pem : f.pem + "\n"))
    .join("");
}
