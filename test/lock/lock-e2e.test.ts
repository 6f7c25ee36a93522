// `lock` end to end through the library: a generated, signed two-suite archive served on
// 127.0.0.1 as a mirror of a fake https URL; manifests and locks in temp dirs. Expected values
// come from the fixture's own files on disk (hashed here), never from our parsers.
import { copyFile, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckFailedError, NetworkError, ResolveError, UsageError } from "../../src/errors.js";
import { LOCKFILE_VERSION, type Lockfile, type LockedPackage } from "../../src/lock/types.js";
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
  expectFileUnchanged,
  independentCanonical,
  lockWith,
  readLock,
  rejection,
  removeDir,
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
      // package (minus docs) for what is there as a dependency or a whole `packages` entry.
      const amd = (name: string): LockedPackage => pkgOf(lock, "amd64", name);
      expect(amd("tzdata").reasons).toEqual(["file set tzdata"]);
      expect(amd("tzdata").select).toEqual([{ set: "tzdata", include: ["/usr/share/zoneinfo/**"], exclude: expect.arrayContaining(["/usr/share/doc/**"]) }]);
      expect(amd("ca-certificates").select.map((s) => s.set)).toEqual(["ca-certs"]);
      expect(amd("ca-certificates").select[0]!.include).toEqual(["/usr/share/ca-certificates/**"]);
      expect(amd("netbase").select[0]!.include).toEqual(expect.arrayContaining(["/etc/services", "/etc/protocols"]));
      expect(amd("base-files").select[0]!.include).toEqual(expect.arrayContaining(["/etc/os-release", "/usr/lib/os-release"]));
      expect(amd("hello").reasons).toEqual(["packages[0]"]);
      expect(amd("hello").select).toEqual([{ set: "packages", include: ["/**"], exclude: expect.arrayContaining(["/usr/share/doc/**"]) }]);
      const libcRule = amd("libc6").select.find((s) => s.set === "libc")!;
      expect(libcRule.include).toEqual(expect.arrayContaining(["/lib/**", "/lib64/**", "/usr/lib/**"]));
      expect(libcRule.include).not.toContain("/**");
      expect(libcRule.exclude).toContain("/usr/share/doc/**");
      if (policy === "closure") {
        expect(amd("libc6").reasons).toEqual(["file set libc", "packages[0] → hello → libc6"]);
        expect(amd("libc6").select.map((s) => s.set)).toEqual(["libc", "packages"]);
        expect(amd("libgcc-s1").reasons).toEqual(["file set libc → libc6 → libgcc-s1", "packages[0] → hello → libc6 → libgcc-s1"]);
        expect(amd("gcc-12-base").reasons).toEqual(["file set libc → libc6 → libgcc-s1 → gcc-12-base", "packages[0] → hello → libc6 → libgcc-s1 → gcc-12-base"]);
        for (const dep of ["libgcc-s1", "gcc-12-base"]) {
          for (const rule of amd(dep).select) {
            expect(rule.include).toEqual(["/**"]);
            expect(rule.exclude).toContain("/usr/share/doc/**");
          }
        }
      } else {
        expect(amd("libc6").reasons).toEqual(["file set libc"]);
        expect(amd("libc6").select.map((s) => s.set)).toEqual(["libc"]);
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
      // Nothing but the releases and indexes is fetched to lock: no .deb.
      expect(requests.filter((r) => r.endsWith(".deb"))).toEqual([]);
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

  it("a file-set package that exists for amd64 only fails for arm64", async () => {
    const e = await failsToResolve({ fileSets: { quad: { packages: ["libquadmath0"], paths: ["/usr/lib/**"] } } });
    expect(e.message).toMatch(/cannot resolve for arm64: file set quad → libquadmath0/);
    expect(e.message).toContain("libquadmath0");
  });

  it("the amd64-only package alone for amd64 is fine, and a virtual dependency takes the first provider", async () => {
    const p = await project({ architectures: ["amd64"], policy: "closure", fileSets: { quad: { packages: ["libquadmath0"], paths: ["/usr/lib/**"] } }, packages: ["mawk"] });
    const { result } = await lockWith({ ...p, mirror: mirrorV1() });
    expect(Object.keys(result.lock.architectures)).toEqual(["amd64"]);
    expect(versions(result.lock, "amd64")).toMatchObject({ libquadmath0: V.gcc, mawk: "1.3.4.20200120-3.1", libc6: V.libc6Update, "gcc-12-base": V.gcc });
    expect(pkgOf(result.lock, "amd64", "libquadmath0").select).toEqual([{ set: "quad", include: ["/usr/lib/**"], exclude: [] }]);
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

  it("no lock at all: exit 1 and no file created", async () => {
    const p = await project(HAPPY);
    const e = await rejection(lockWith({ ...p, mirror: mirrorV1(), check: true }));
    expect(e).toBeInstanceOf(CheckFailedError);
    expect(await bytesOrNone(p.lockfile)).toBeUndefined();
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
