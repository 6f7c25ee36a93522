// `lock` end to end through the library: a generated, signed two-suite archive served on
// 127.0.0.1 as a mirror of a fake https URL; manifests and locks in temp dirs. Expected values
// come from the fixture's own files on disk (hashed here), never from our parsers.
import { execFileSync } from "node:child_process";
import { copyFile, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckFailedError, LockfileError, NetworkError, ResolveError, UsageError } from "../../src/model/errors.js";
import { LOCKFILE_VERSION, type Lockfile, type LockedDerivation, type LockedPackage } from "../../src/model/lock.js";
import { hasOpenssl } from "./certs.js";
import { formatWhy, why } from "../../src/commands/why.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";
import {
  ARCHES,
  ARCHIVE_URL,
  KEY_DATE,
  UPDATES_DATE,
  V,
  buildTwoSuites,
  bytesOrNone,
  caCertificateFiles,
  expectedBundle,
  layerWith,
  machineZone,
  readTar,
  sha256,
  expectFileUnchanged,
  independentCanonical,
  lockWith,
  readLock,
  rejection,
  removeDir,
  repoRoot,
  sha256File,
  tempDir,
  versions,
  writeProject,
  type ManifestSpec,
  type TwoSuiteArchive,
} from "./helpers.js";

let work: string;
let key: TestKey;
let v1: TwoSuiteArchive;
let v2: TwoSuiteArchive;
let server: TestServer;
let n = 0;

const mirrorV1 = (): string => `${server.url}/v1`;
const mirrorV2 = (): string => `${server.url}/v2`;

beforeAll(async () => {
  work = await tempDir("lock-e2e");
  key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
  // v1 carries a Valid-Until far ahead (as Debian's stable-updates does, only closer); v2 none.
  const validUntil = new Date(Date.UTC(2099, 0, 1));
  [v1, v2] = await Promise.all([buildTwoSuites(join(work, "www", "v1"), key, "v1", { validUntil }), buildTwoSuites(join(work, "www", "v2"), key, "v2")]);
  server = await serveDirectory(join(work, "www"));
});

afterAll(async () => {
  await server?.close();
  if (work) await removeDir(work);
});

/** A fresh project dir (manifest + keyring) and cache dir. */
async function project(spec: ManifestSpec = {}): Promise<{ dir: string; config: string; lockfile: string; cache: string }> {
  const dir = join(work, `p${n++}`);
  const p = await writeProject(dir, key, spec);
  return { ...p, cache: join(dir, "cache") };
}

const HAPPY: ManifestSpec = { packages: ["hello"] };

function pkgOf(lock: Lockfile, arch: string, name: string): LockedPackage {
  const p = lock.architectures[arch]?.packages.find((x) => x.name === name);
  if (!p) throw new Error(`${name} is not locked for ${arch}`);
  return p;
}

const DISTROLESS_PASSWD =
  "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";

/** `openssl x509 -subject_hash`: the name `openssl rehash` gives a certificate's link. */
const subjectHash = (pem: string): string => execFileSync("openssl", ["x509", "-noout", "-subject_hash"], { input: pem }).toString().trim();

function output(d: LockedDerivation, path: string): LockedDerivation["outputs"][number] {
  const o = d.outputs.find((x) => x.path === path);
  if (!o) throw new Error(`derivation ${d.recipe} has no output ${path} (it has ${d.outputs.map((x) => x.path).join(", ")})`);
  return o;
}

/** The derivations the happy-path manifest needs, in their fixed order, with expected inputs and outputs computed here. */
function expectDerivations(lock: Lockfile, arch: string, policy: "none" | "closure"): void {
  const locked = lock.architectures[arch]!;
  const d = locked.derivations;
  expect(d.map((x) => x.recipe)).toEqual(["usr-merge", "base", "ca-certificates", "openssl-paths", "tzdata", "dpkg-status"]);
  const [usr, base, ca, ssl, tz, status] = d as [LockedDerivation, LockedDerivation, LockedDerivation, LockedDerivation, LockedDerivation, LockedDerivation];
  for (const x of d) expect(x.version).toMatch(/^\S+$/);

  // hello ships /usr/bin/hello and nothing ships /bin: the merged-/usr link; libc6's real /lib stays.
  expect(usr.options).toEqual({ arch });
  expect(usr.inputs).toEqual([]);
  expect(usr.outputs).toEqual([{ path: "/bin", type: "symlink", mode: "0777", uid: 0, gid: 0, sha256: sha256("usr/bin") }]);

  // base-files ships /etc/os-release itself, so base reads nothing.
  expect(base.inputs).toEqual([]);
  expect(base.outputs.map((o) => o.path)).toEqual(["/etc/group", "/etc/nsswitch.conf", "/etc/passwd", "/home/nonroot", "/root", "/tmp"]);
  expect(output(base, "/etc/passwd")).toMatchObject({ type: "file", mode: "0644", uid: 0, gid: 0, sha256: sha256(DISTROLESS_PASSWD) });
  expect(output(base, "/tmp")).toMatchObject({ type: "dir", mode: "1777", uid: 0, gid: 0 });
  expect(output(base, "/home/nonroot")).toMatchObject({ type: "dir", mode: "0700", uid: 65532, gid: 65532 });

  const certs = caCertificateFiles(V.ca);
  const certPath = (name: string): string => `/usr/share/ca-certificates/mozilla/${name}`;
  expect(ca.options).toEqual({ links: true });
  expect(ca.inputs).toEqual(certs.map((c) => ({ path: certPath(c.name), sha256: sha256(c.pem) })));
  expect(output(ca, "/etc/ssl/certs/ca-certificates.crt")).toMatchObject({ type: "file", mode: "0644", sha256: sha256(expectedBundle(certs)) });
  for (const c of certs) {
    const pem = c.name.replace(/\.crt$/, ".pem");
    expect(output(ca, `/etc/ssl/certs/${pem}`)).toMatchObject({ type: "symlink", sha256: sha256(certPath(c.name)) });
    if (hasOpenssl()) expect(output(ca, `/etc/ssl/certs/${subjectHash(c.pem)}.0`)).toMatchObject({ type: "symlink", sha256: sha256(pem) });
  }

  // No libssl or libcrypto in this layer: OpenSSL's default-path links are not added.
  expect(ssl).toMatchObject({ options: {}, inputs: [], outputs: [] });

  expect(tz.options).toEqual({ timezone: "UTC" });
  expect(tz.inputs).toEqual([
    { path: "/usr/share/zoneinfo/Etc/UTC", sha256: sha256(machineZone("Etc/UTC")) },
    { path: "/usr/share/zoneinfo/UTC", sha256: sha256("Etc/UTC") },
  ]);
  expect(tz.outputs).toEqual([
    { path: "/etc/localtime", type: "symlink", mode: "0777", uid: 0, gid: 0, sha256: sha256("/usr/share/zoneinfo/UTC") },
    { path: "/etc/timezone", type: "file", mode: "0644", uid: 0, gid: 0, sha256: sha256("UTC\n") },
  ]);

  // One status entry per locked package, and its md5sums for those with files in the layer:
  // all of them, gcc-12-base too, which ships nothing but the copyright file the layer carries.
  const statusDir = "/var/lib/dpkg/status.d";
  expect(status.outputs.map((o) => o.path)).toEqual(locked.packages.flatMap((x) => [`${statusDir}/${x.name}`, `${statusDir}/${x.name}.md5sums`]));
  if (policy === "closure") expect(locked.packages.map((x) => x.name)).toContain("gcc-12-base");
  // The control file as dpkg-deb reads it from the .deb.
  const hello = pkgOf(lock, arch, "hello");
  const helloDeb = v1.debs.get(`hello_${hello.version}_${arch}`)!.absPath;
  expect(output(status, `${statusDir}/hello`).sha256).toBe(sha256(execFileSync("dpkg-deb", ["--info", helloDeb, "control"])));
}

describe("happy path", () => {
  for (const policy of ["none", "closure"] as const) {
    it(`locks the exact package set with policy ${policy}`, async () => {
      const p = await project({ ...HAPPY, policy });
      const before = server.requests.length;
      const { result, notes } = await lockWith({ ...p, mirror: mirrorV1() });
      const requests = server.requests.slice(before);
      expect(result.written).toBe(true);
      expect(notes).toEqual([]);
      const text = await readFile(p.lockfile, "utf8");
      expect(text).toBe(result.text);
      const lock = JSON.parse(text) as Lockfile;

      // Canonical JSON: sorted keys, 2-space indent, trailing newline.
      expect(independentCanonical(lock)).toBe(text);
      // The manifest's URL only: the mirror never reaches the lock.
      expect(text).not.toContain("127.0.0.1");
      expect(text).not.toContain(server.url);

      const base = ["base-files", "ca-certificates", "hello", "libc6", "netbase", "tzdata"];
      const want = policy === "closure" ? [...base, "gcc-12-base", "libgcc-s1"].sort() : base;
      expect(Object.keys(lock.architectures).sort()).toEqual([...ARCHES]);
      for (const arch of ARCHES) {
        const locked = lock.architectures[arch]!;
        expect(locked.packages.map((x) => x.name)).toEqual(want);
        expect(locked.skipped).toEqual([]);
        // Data-only sets never pull their maintainer-script dependencies, whatever the policy.
        for (const never of ["debconf", "openssl", "mawk", "gawk"]) expect(locked.packages.map((x) => x.name)).not.toContain(never);
        // Highest version across suites: libc6 comes from stable-updates.
        expect(versions(lock, arch)).toMatchObject({ libc6: V.libc6Update, tzdata: V.tzdata, "ca-certificates": V.ca, hello: V.hello });
        expect(pkgOf(lock, arch, "libc6").suite).toBe("stable-updates");
        expect(pkgOf(lock, arch, "tzdata").suite).toBe("stable");
        for (const x of locked.packages) {
          const deb = v1.debs.get(`${x.name}_${x.version}_${x.architecture}`);
          expect(deb, `${x.name} ${x.version} ${x.architecture}`).toBeDefined();
          expect(x.architecture).toBe(["ca-certificates", "netbase", "tzdata"].includes(x.name) ? "all" : arch);
          expect(x.url).toBe(`${ARCHIVE_URL}/${deb!.path}`);
          expect(x.source).toBe("debian");
          expect(x.component).toBe("main");
          // Size and sha256 of the real file on disk, hashed here.
          expect(x.size).toBe((await stat(deb!.absPath)).size);
          expect(x.sha256).toBe(await sha256File(deb!.absPath));
        }
      }

      // Reasons and selection rules: a file set's own rule for the packages it names, the whole
      // package (minus docs) for what is there as a dependency or a whole `packages` entry, and
      // for every package its copyright file (with its doc directory, which may be a link).
      const amd = (name: string): LockedPackage => pkgOf(lock, "amd64", name);
      const copyrightOf = (name: string) => ({ set: "copyright", include: [`/usr/share/doc/${name}`, `/usr/share/doc/${name}/copyright`], exclude: [] });
      for (const x of lock.architectures.amd64!.packages) expect(x.select).toContainEqual(copyrightOf(x.name));
      expect(amd("tzdata").reasons).toEqual(["file set tzdata"]);
      expect(amd("tzdata").select).toEqual([copyrightOf("tzdata"), { set: "tzdata", include: ["/usr/share/zoneinfo/**"], exclude: expect.arrayContaining(["/usr/share/doc/**"]) }]);
      expect(amd("ca-certificates").select.map((s) => s.set)).toEqual(["ca-certs", "copyright"]);
      expect(amd("ca-certificates").select[0]!.include).toEqual(["/usr/share/ca-certificates/**"]);
      expect(amd("netbase").select[0]!.include).toEqual(expect.arrayContaining(["/etc/services", "/etc/protocols"]));
      expect(amd("base-files").select[0]!.include).toEqual(expect.arrayContaining(["/etc/debian_version", "/etc/os-release", "/usr/lib/os-release"]));
      expect(amd("hello").reasons).toEqual(["packages[0]"]);
      expect(amd("hello").select).toEqual([copyrightOf("hello"), { set: "packages", include: ["/**"], exclude: expect.arrayContaining(["/usr/share/doc/**"]) }]);
      const libcRule = amd("libc6").select.find((s) => s.set === "libc")!;
      expect(libcRule.include).toEqual(expect.arrayContaining(["/lib/**", "/lib64/**", "/usr/lib/**"]));
      expect(libcRule.include).not.toContain("/**");
      expect(libcRule.exclude).toContain("/usr/share/doc/**");
      if (policy === "closure") {
        expect(amd("libc6").reasons).toEqual(["file set libc", "packages[0] → hello → libc6"]);
        expect(amd("libc6").select.map((s) => s.set)).toEqual(["copyright", "libc", "packages"]);
        expect(amd("libgcc-s1").reasons).toEqual(["file set libc → libc6 → libgcc-s1", "packages[0] → hello → libc6 → libgcc-s1"]);
        expect(amd("gcc-12-base").reasons).toEqual(["file set libc → libc6 → libgcc-s1 → gcc-12-base", "packages[0] → hello → libc6 → libgcc-s1 → gcc-12-base"]);
        for (const dep of ["libgcc-s1", "gcc-12-base"]) {
          for (const rule of amd(dep).select.filter((r) => r.set !== "copyright")) {
            expect(rule.include).toEqual(["/**"]);
            expect(rule.exclude).toContain("/usr/share/doc/**");
          }
        }
      } else {
        expect(amd("libc6").reasons).toEqual(["file set libc"]);
        expect(amd("libc6").select.map((s) => s.set)).toEqual(["copyright", "libc"]);
      }

      // Sources: per suite, the signed release as it is on disk, its dates and signer.
      expect(lock.lockfileVersion).toBe(LOCKFILE_VERSION);
      expect(lock.policy).toBe(policy);
      expect(lock.manifest.file).toBe("scratch.json");
      expect(lock.manifest.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(lock.sourceDateEpoch).toBe(Math.floor(UPDATES_DATE.getTime() / 1000));
      expect(lock.sources).toHaveLength(1);
      const src = lock.sources[0]!;
      expect(src).toMatchObject({ name: "debian", url: ARCHIVE_URL });
      expect(src.suites.map((s) => s.suite)).toEqual(["stable", "stable-updates"]);
      const dates: Record<string, string> = { stable: "Tue, 02 Jan 2024 03:04:05 UTC", "stable-updates": "Wed, 03 Jan 2024 03:04:05 UTC" };
      for (const s of src.suites) {
        const dist = join(v1.root, "dists", s.suite);
        const inRelease = join(dist, "InRelease");
        expect(s.release).toEqual({ path: "InRelease", sha256: await sha256File(inRelease), size: (await stat(inRelease)).size });
        expect(s.date).toBe(dates[s.suite]);
        expect(s.validUntil).toBe("Thu, 01 Jan 2099 00:00:00 UTC");
        expect(s.signedBy).toBe(key.fingerprint);
        expect(s.signedBy).not.toBe(key.signingKeyId);
        const expected = [];
        for (const arch of ARCHES) {
          const path = `main/binary-${arch}/Packages.xz`;
          const sha = await sha256File(join(dist, path));
          expected.push({ component: "main", architecture: arch, path, sha256: sha, size: (await stat(join(dist, path))).size });
          // Fetched by hash, never by name, since the release says Acquire-By-Hash.
          expect(requests).toContain(`/v1/dists/${s.suite}/main/binary-${arch}/by-hash/SHA256/${sha}`);
          expect(requests).not.toContain(`/v1/dists/${s.suite}/${path}`);
        }
        expect(s.indexes).toEqual(expected);
      }
      // lock builds each layer, so it downloads every locked .deb: each exactly once (the
      // architecture-independent ones are shared through the cache), from the mirror.
      const debRequests = requests.filter((r) => r.endsWith(".deb"));
      const lockedDebs = new Set(ARCHES.flatMap((a) => lock.architectures[a]!.packages.map((x) => x.url.replace(ARCHIVE_URL, "/v1"))));
      expect([...debRequests].sort()).toEqual([...lockedDebs].sort());

      for (const arch of ARCHES) expectDerivations(lock, arch, policy);
    });
  }

  it("re-locking the same manifest against the same archive changes nothing", async () => {
    const p = await project(HAPPY);
    await lockWith({ ...p, mirror: mirrorV1() });
    const before = await readFile(p.lockfile);
    const mtime = (await stat(p.lockfile)).mtimeMs;
    const { result } = await lockWith({ ...p, mirror: mirrorV1() });
    expect(result).toMatchObject({ changed: false, written: false });
    expectFileUnchanged(before, await readFile(p.lockfile));
    expect((await stat(p.lockfile)).mtimeMs).toBe(mtime);
  });
});

describe("the layer the lock records", () => {
  /** The package a compressor's npm package.json names, read here from node_modules. */
  const installed = async (name: string): Promise<string> => `${name}@${(JSON.parse(await readFile(join(repoRoot, "node_modules", name, "package.json"), "utf8")) as { version: string }).version}`;
  const unzip = (kind: "gzip" | "zstd", blob: Buffer): Buffer => execFileSync(kind === "gzip" ? "gzip" : "zstd", ["-dc"], { input: blob, maxBuffer: 1 << 28 });

  it("diff_id, provenance and the gzip and zstd digests are those of the tars `layer` writes from the lock", async () => {
    const p = await project(HAPPY);
    await lockWith({ ...p, mirror: mirrorV1() });
    const lock = await readLock(p.lockfile);
    const settings = { gzip: { compressor: await installed("zlib-streams"), level: 6 }, zstd: { compressor: await installed("@hpcc-js/wasm-zstd"), level: 3 } };
    for (const arch of ARCHES) {
      const want = lock.architectures[arch]!.layer;
      const out = join(p.dir, `layer-${arch}.tar`);
      const [built] = await layerWith({ lockfile: p.lockfile, mirror: mirrorV1(), cache: p.cache, output: out, arch });
      expect(built).toMatchObject({ arch, matchesLock: true, output: out });
      const tar = await readFile(out);
      expect(want.diffId).toBe(`sha256:${sha256(tar)}`);
      expect(want.size).toBe(tar.length);

      // The provenance manifest: written beside the tar and stored in it, one line per layer path.
      const prov = await readFile(`${out}.provenance.jsonl`);
      const members = await readTar(tar);
      const lines = prov.toString("utf8").split("\n").filter((l) => l !== "");
      const pathLines = lines.filter((l) => "path" in (JSON.parse(l) as object));
      expect(want.provenance).toEqual({ path: "/var/lib/scratch-pkgs/manifest.jsonl", sha256: sha256(prov), entries: pathLines.length });
      expect(members.get("var/lib/scratch-pkgs/manifest.jsonl")?.content.equals(prov)).toBe(true);
      // Every path of the layer but the manifest itself is listed once.
      expect(pathLines.length).toBe(members.size - 1);

      // What the derivations made, as another tar reader sees it; every entry at sourceDateEpoch.
      for (const m of members.values()) expect(m.mtime).toBe(lock.sourceDateEpoch);
      expect(members.get("etc/ssl/certs/ca-certificates.crt")?.content.toString("utf8")).toBe(expectedBundle(caCertificateFiles(V.ca)));
      expect(members.get("etc/localtime")).toMatchObject({ type: "symlink", linkname: "/usr/share/zoneinfo/UTC" });
      expect(members.get("usr/share/zoneinfo/Etc/UTC")?.content.equals(Buffer.from(machineZone("Etc/UTC")))).toBe(true);
      expect(members.get("etc/passwd")?.content.toString("utf8")).toBe(DISTROLESS_PASSWD);
      expect(members.get("tmp/")).toMatchObject({ type: "directory", mode: 0o1777 });
      expect(members.get("bin")).toMatchObject({ type: "symlink", linkname: "usr/bin" });

      for (const kind of ["gzip", "zstd"] as const) {
        const rec = want.compressed[kind]!;
        expect(rec.settings).toMatchObject(settings[kind]);
        const file = `${out}.${kind}`;
        await layerWith({ lockfile: p.lockfile, mirror: mirrorV1(), cache: p.cache, output: file, arch, compress: kind });
        const blob = await readFile(file);
        expect(rec.digest).toBe(`sha256:${sha256(blob)}`);
        expect(rec.size).toBe(blob.length);
        // The system's gzip and zstd give back the very tar whose digest is the diff_id.
        expect(`sha256:${sha256(unzip(kind, blob))}`).toBe(want.diffId);
        if (kind === "gzip") {
          // RFC 1952 header: no file name or other flags, and the MTIME and OS the settings record.
          expect(blob[3]).toBe(0);
          expect(blob.readUInt32LE(4)).toBe(rec.settings.mtime);
          expect(blob[9]).toBe(rec.settings.os);
        }
      }
      expect(Object.keys(want.compressed).sort()).toEqual(["gzip", "zstd"]);
    }
    // amd64 and arm64 hold different libc6 builds: different layers.
    expect(lock.architectures.amd64!.layer.diffId).not.toBe(lock.architectures.arm64!.layer.diffId);
  });

  it("SOURCE_DATE_EPOCH replaces the release Date as every entry's mtime, and so changes the digests but not the packages", async () => {
    const p = await project(HAPPY);
    await lockWith({ ...p, mirror: mirrorV1() });
    const plain = await readLock(p.lockfile);
    const epoch = 1_600_000_000;
    const q = await project(HAPPY);
    await lockWith({ ...q, mirror: mirrorV1(), sourceDateEpoch: epoch });
    const dated = await readLock(q.lockfile);
    expect(dated.sourceDateEpoch).toBe(epoch);
    expect(plain.sourceDateEpoch).toBe(Math.floor(UPDATES_DATE.getTime() / 1000));
    for (const arch of ARCHES) {
      const a = plain.architectures[arch]!;
      const b = dated.architectures[arch]!;
      expect(b.packages).toEqual(a.packages);
      expect(b.derivations).toEqual(a.derivations);
      expect(b.layer.diffId).not.toBe(a.layer.diffId);
      expect(b.layer.size).toBe(a.layer.size);
      for (const kind of ["gzip", "zstd"]) expect(b.layer.compressed[kind]!.digest).not.toBe(a.layer.compressed[kind]!.digest);
    }
    const out = join(q.dir, "layer.tar");
    await layerWith({ lockfile: q.lockfile, mirror: mirrorV1(), cache: q.cache, output: out, arch: "arm64" });
    const tar = await readFile(out);
    expect(`sha256:${sha256(tar)}`).toBe(dated.architectures.arm64!.layer.diffId);
    for (const m of (await readTar(tar)).values()) expect(m.mtime).toBe(epoch);
  });
});

describe("unresolvable manifests (exit 2, the chain named, the old lock kept)", () => {
  /** Lock a good manifest, then swap in `bad` and expect a ResolveError. */
  async function failsToResolve(bad: ManifestSpec): Promise<Error> {
    const p = await project(HAPPY);
    await lockWith({ ...p, mirror: mirrorV1() });
    const before = await readFile(p.lockfile);
    await writeProject(p.dir, key, bad);
    const e = await rejection(lockWith({ ...p, mirror: mirrorV1() }));
    expect(e).toBeInstanceOf(ResolveError);
    expect(e.exitCode).toBe(2);
    expectFileUnchanged(before, await bytesOrNone(p.lockfile));
    return e;
  }

  it("a missing package", async () => {
    const e = await failsToResolve({ packages: ["no-such-package"] });
    expect(e.message).toMatch(/cannot resolve for amd64: packages\[0\] → no-such-package → nothing provides no-such-package/);
  });

  it("a version conflict names both chains", async () => {
    const e = await failsToResolve({ policy: "closure", packages: ["legacy-tool"] });
    expect(e.message).toContain("packages[0] → legacy-tool → libc6 (<< 2.30)");
    expect(e.message).toContain(`libc6 ${V.libc6Update} was already chosen for file set libc → libc6`);
  });

  it("a pinned version the archive does not have", async () => {
    const e = await failsToResolve({ packages: ["libc6=2.99-1"] });
    expect(e.message).toContain("libc6");
    expect(e.message).toContain("2.99-1");
    expect(e.message).toContain(V.libc6Update);
  });

  it("a virtual name with two providers must be named", async () => {
    const e = await failsToResolve({ packages: ["awk"] });
    expect(e.message).toMatch(/awk is a virtual package provided by gawk, mawk/);
  });

  it("a file-set package that exists for amd64 only fails for arm64, the hint giving the scoped request to write", async () => {
    const e = (await failsToResolve({ fileSets: { quad: { packages: ["libquadmath0"], paths: ["/usr/lib/**"] } } })) as ResolveError;
    expect(e.message).toMatch(/cannot resolve for arm64: file set quad → libquadmath0/);
    expect(e.message).toContain("(libquadmath0 exists only for amd64)");
    expect(e.hint).toBe('to request it only where it exists, write it in fileSets.quad.packages as {"name": "libquadmath0", "architectures": ["amd64"]}, or add "optional": true to skip it where it is missing');
  });

  it("the amd64-only package alone for amd64 is fine, and a virtual dependency takes the first provider", async () => {
    const p = await project({ architectures: ["amd64"], policy: "closure", fileSets: { quad: { packages: ["libquadmath0"], paths: ["/usr/lib/**"] } }, packages: ["mawk"] });
    const { result } = await lockWith({ ...p, mirror: mirrorV1() });
    expect(Object.keys(result.lock.architectures)).toEqual(["amd64"]);
    expect(versions(result.lock, "amd64")).toMatchObject({ libquadmath0: V.gcc, mawk: "1.3.4.20200120-3.1", libc6: V.libc6Update, "gcc-12-base": V.gcc });
    expect(pkgOf(result.lock, "amd64", "libquadmath0").select).toEqual([
      { set: "copyright", include: ["/usr/share/doc/libquadmath0", "/usr/share/doc/libquadmath0/copyright"], exclude: [] },
      { set: "quad", include: ["/usr/lib/**"], exclude: [] },
    ]);
  });
});

describe("per-architecture and optional requests", () => {
  it("apply only where they say: the lock records them, each layer holds what applies to it, and why says where", async () => {
    const p = await project({
      policy: "closure",
      fileSets: { quad: { packages: [{ name: "libquadmath0", architectures: ["amd64"] }], paths: ["/usr/lib/**"] } },
      packages: ["hello", { name: "libquadmath0", optional: true }],
    });
    await lockWith({ ...p, mirror: mirrorV1() });
    const lock = await readLock(p.lockfile);
    expect(lock.lockfileVersion).toBe("1.3.0");
    expect(lock.requests).toEqual([
      { reason: "file set quad", name: "libquadmath0", architectures: ["amd64"] },
      { reason: "packages[1]", name: "libquadmath0", optional: true },
    ]);
    expect(pkgOf(lock, "amd64", "libquadmath0").reasons).toEqual(["file set quad", "packages[1]"]);
    expect(lock.architectures.amd64!.skipped).toEqual([]);
    expect(Object.keys(versions(lock, "arm64"))).not.toContain("libquadmath0");
    expect(lock.architectures.arm64!.skipped).toEqual([{ name: "libquadmath0", reason: "packages[1]: no package libquadmath0 for arm64" }]);

    const quad = "usr/lib/x86_64-linux-gnu/libquadmath.so.0";
    for (const arch of ARCHES) {
      const out = join(p.dir, `scoped-${arch}.tar`);
      const [built] = await layerWith({ lockfile: p.lockfile, mirror: mirrorV1(), cache: p.cache, output: out, arch });
      expect(built).toMatchObject({ arch, matchesLock: true });
      const members = await readTar(await readFile(out));
      expect(members.get("usr/bin/hello")?.content.toString("utf8")).toBe(`hello ${arch}\n`);
      if (arch === "amd64") expect(members.get(quad)?.content.toString("utf8")).toBe("quadmath\n");
      else expect([...members.keys()].filter((m) => m.includes("quadmath"))).toEqual([]);
    }

    expect(formatWhy(why(lock, "libquadmath0"))).toEqual([
      `amd64: libquadmath0 ${V.gcc} (file sets: copyright, packages, quad)`,
      "  file set quad (requested for amd64 only)",
      "  packages[1] (optional: skipped where missing)",
      "arm64: libquadmath0 is not in the lock: packages[1]: no package libquadmath0 for arm64",
    ]);
  });
});

describe("--check", () => {
  it("an up-to-date lock: success, the file untouched", async () => {
    const p = await project(HAPPY);
    await lockWith({ ...p, mirror: mirrorV1() });
    const before = await readFile(p.lockfile);
    const mtime = (await stat(p.lockfile)).mtimeMs;
    const { result } = await lockWith({ ...p, mirror: mirrorV1(), check: true });
    expect(result).toMatchObject({ changed: false, written: false });
    expectFileUnchanged(before, await readFile(p.lockfile));
    expect((await stat(p.lockfile)).mtimeMs).toBe(mtime);
  });

  it("a changed manifest: exit 1 saying the manifest changed; nothing written", async () => {
    const p = await project(HAPPY);
    await lockWith({ ...p, mirror: mirrorV1() });
    const before = await readFile(p.lockfile);
    await writeProject(p.dir, key, { packages: ["hello", "netbase"] });
    const e = await rejection(lockWith({ ...p, mirror: mirrorV1(), check: true }));
    expect(e).toBeInstanceOf(CheckFailedError);
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain(p.lockfile);
    expect(e.message).toMatch(/scratch\.json changed/);
    expectFileUnchanged(before, await readFile(p.lockfile));
  });

  it("no lock at all: --check fails as every command does without its lock (exit 2) and creates nothing", async () => {
    const p = await project(HAPPY);
    const e = await rejection(lockWith({ ...p, mirror: mirrorV1(), check: true }));
    expect(e).toBeInstanceOf(LockfileError);
    expect([e.exitCode, e.kind]).toEqual([2, "lockfile"]);
    expect(e.message).toBe(`${p.lockfile}: no such lockfile`);
    await expect(readFile(p.lockfile)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("the archive moved on: exit 1 listing the package changes; nothing written", async () => {
    const p = await project(HAPPY);
    await lockWith({ ...p, mirror: mirrorV1() });
    const before = await readFile(p.lockfile);
    const e = await rejection(lockWith({ ...p, mirror: mirrorV2(), check: true }));
    expect(e).toBeInstanceOf(CheckFailedError);
    expect(e.exitCode).toBe(1);
    expect(e.message).not.toMatch(/scratch\.json changed/);
    for (const arch of ARCHES) expect(e.message).toContain(`${arch}: libc6 ${V.libc6Update} → ${V.libc6Update2}`);
    expect(e.message).toMatch(/source debian stable-updates: release Wed, 03 Jan 2024 03:04:05 UTC → /);
    expectFileUnchanged(before, await readFile(p.lockfile));
  });
});

describe("--update against an archive that moved on", () => {
  /** A project locked against v1, with the lock copied to a fresh path per test. */
  async function lockedOnV1(): Promise<{ dir: string; config: string; lockfile: string; cache: string; old: Lockfile }> {
    const p = await project({ ...HAPPY, policy: "closure" });
    await lockWith({ ...p, mirror: mirrorV1() });
    return { ...p, old: await readLock(p.lockfile) };
  }

  it("keeps pins still in the archive though newer versions exist; drops vanished ones with a note", async () => {
    const p = await lockedOnV1();
    const { result, notes } = await lockWith({ ...p, mirror: mirrorV2() });
    for (const arch of ARCHES) {
      expect(versions(result.lock, arch)).toMatchObject({ tzdata: V.tzdata, "ca-certificates": V.ca, libc6: V.libc6Update2 });
      expect(pkgOf(result.lock, arch, "tzdata").suite).toBe("stable");
      expect(pkgOf(result.lock, arch, "tzdata").sha256).toBe(pkgOf(p.old, arch, "tzdata").sha256);
      expect(notes).toContain(`${arch}: libc6 ${V.libc6Update} is no longer in the archive; now ${V.libc6Update2}`);
    }
    expect(notes).toHaveLength(2);
    expect(result.changes).toContain(`amd64: libc6 ${V.libc6Update} → ${V.libc6Update2}`);
    // Packages that did not change are not listed (the old lock is compared in canonical form).
    expect(result.changes.filter((c) => /tzdata|ca-certificates|hello|netbase|base-files/.test(c))).toEqual([]);
    expect(await readLock(p.lockfile)).toEqual(result.lock);
  });

  it("--update with no names takes the newest of everything", async () => {
    const p = await lockedOnV1();
    const { result, notes } = await lockWith({ ...p, mirror: mirrorV2(), update: true });
    for (const arch of ARCHES) {
      expect(versions(result.lock, arch)).toMatchObject({ tzdata: V.tzdata2, "ca-certificates": V.ca2, libc6: V.libc6Update2 });
      expect(pkgOf(result.lock, arch, "tzdata").suite).toBe("stable-updates");
      // The derivations follow: the newer ca-certificates ships a third certificate.
      const ca = result.lock.architectures[arch]!.derivations.find((d) => d.recipe === "ca-certificates")!;
      expect(ca.inputs.map((i) => i.sha256)).toEqual(caCertificateFiles(V.ca2).map((c) => sha256(c.pem)));
      expect(ca.inputs).toHaveLength(3);
      expect(result.lock.architectures[arch]!.layer.diffId).not.toBe(p.old.architectures[arch]!.layer.diffId);
    }
    expect(notes).toEqual([]);
  });

  it("--update NAME moves only that package", async () => {
    const p = await lockedOnV1();
    const { result } = await lockWith({ ...p, mirror: mirrorV2(), update: ["tzdata"] });
    for (const arch of ARCHES) {
      expect(versions(result.lock, arch)).toMatchObject({ tzdata: V.tzdata2, "ca-certificates": V.ca });
    }
  });

  it("--update of a name the lock does not have: exit 2, the lock untouched", async () => {
    const p = await lockedOnV1();
    const before = await readFile(p.lockfile);
    const requests = server.requests.length;
    const e = await rejection(lockWith({ ...p, mirror: mirrorV2(), update: ["no-such-package"] }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("no-such-package");
    expect(e.message).toContain(p.lockfile);
    expectFileUnchanged(before, await readFile(p.lockfile));
    // Refused before any download.
    expect(server.requests.length).toBe(requests);
  });
});

describe("--offline", () => {
  it("after a warm run, gives identical bytes with the server gone", async () => {
    const p = await project(HAPPY);
    const own = await serveDirectory(v1.root);
    try {
      await lockWith({ ...p, mirror: own.url });
    } finally {
      await own.close();
    }
    const online = await readFile(p.lockfile);
    const offlineLock = join(p.dir, "offline.lock");
    const { result } = await lockWith({ ...p, lockfile: offlineLock, mirror: own.url, offline: true });
    expect(result.written).toBe(true);
    expectFileUnchanged(online, await readFile(offlineLock));
    // And --check works offline too.
    await copyFile(offlineLock, p.lockfile);
    await lockWith({ ...p, mirror: own.url, offline: true, check: true });
  });

  it("with an empty cache: exit 3 naming what is missing; nothing written", async () => {
    const p = await project(HAPPY);
    await writeFile(p.lockfile, "previous\n");
    const requests = server.requests.length;
    const e = await rejection(lockWith({ ...p, mirror: mirrorV1(), offline: true }));
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(new RegExp(`${ARCHIVE_URL}/dists/stable(-updates)?/InRelease`));
    expect(e.message).toContain("--offline");
    expect(server.requests.length).toBe(requests);
    expect(await readFile(p.lockfile, "utf8")).toBe("previous\n");
  });
});
