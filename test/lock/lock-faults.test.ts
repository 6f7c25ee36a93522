// `lock` against broken archives and broken servers. Every failure must be the right typed
// error (exit code), name the URL or file involved, and leave a previous good lock
// byte-identical. Each broken archive is generated once, side by side under one server.
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkError, ResolveError, VerificationError } from "../../src/model/errors.js";
import { DebFormatError } from "../../src/deb/errors.js";
import { LayerSafetyError } from "../../src/layer/errors.js";
import { buildArchive, type FixtureArchive, type FixtureOptions, type FixturePackage } from "../fixtures/archive.js";
import { maliciousEntries, type MaliciousKind } from "../fixtures/deb.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { makeKey, revoke, type TestKey } from "../sources/pgp-helpers.js";
import {
  ARCHES,
  ARCHIVE_URL,
  KEY_DATE,
  STABLE_DATE,
  V,
  bytesOrNone,
  expectFileUnchanged,
  lockWith,
  rejection,
  removeDir,
  sha256File,
  signDateFor,
  stablePackages,
  tempDir,
  writeProject,
  type ManifestSpec,
  type RunOptions,
} from "./helpers.js";

const SPEC: ManifestSpec = { suites: ["stable"], policy: "closure", fileSets: { libc: {} } };
const INDEX = "main/binary-amd64/Packages.xz";
/** A Valid-Until long past (a week after the Release Date). */
const PAST_VALID_UNTIL = new Date(STABLE_DATE.getTime() + 7 * 86_400_000);

let work: string;
let server: TestServer;
let good: TestKey;
let stranger: TestKey;
let expiring: TestKey;
let revoked: TestKey;
let rsa: TestKey;
let goodLock: string;
const archives = new Map<string, FixtureArchive>();
let n = 0;

type Variant = { signWith?: TestKey; extra?: Partial<FixtureOptions>; more?: FixturePackage[] };

/** The unsafe data.tar cases of test/fixtures/deb.ts, one package each, and the member lock must name. */
const MALICIOUS: Array<{ kind: MaliciousKind; name: string; member: RegExp }> = [
  { kind: "dotdot", name: "evil-dotdot", member: /\.\.\/escaped|\.\/usr\/\.\.\/\.\.\/etc\/escaped/ },
  { kind: "absolute", name: "evil-absolute", member: /\/etc\/passwd/ },
  { kind: "symlinkEscape", name: "evil-symlink-escape", member: /\.\/etc\/x\/passwd|\.\/etc\/x\b/ },
  { kind: "hardlinkEscape", name: "evil-hardlink-escape", member: /\.\/etc\/shadow-(abs|rel)/ },
  { kind: "deviceNodes", name: "evil-device-nodes", member: /\.\/etc\/(fifo|mem)/ },
];

function maliciousPackage(kind: MaliciousKind, name: string): FixturePackage {
  return {
    control: { Package: name, Version: "1.0-1", Architecture: "all", Maintainer: "Fixture <fixture@test.invalid>", Description: `${kind} (fixture)` },
    files: maliciousEntries(kind),
    exactFiles: true,
    dataCompression: "gz",
    controlCompression: "gz",
  };
}

beforeAll(async () => {
  work = await tempDir("lock-faults");
  // The expiring key is valid when it signs (a few minutes after the Release Date) and has
  // expired long before now; the revoked key is revoked after it signed.
  [good, stranger, expiring, rsa] = await Promise.all([
    makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true }),
    makeKey({ type: "ecc", date: KEY_DATE }),
    makeKey({ type: "ecc", date: KEY_DATE, expiresInSeconds: 240 * 86_400 }),
    makeKey({ type: "rsa", date: KEY_DATE }),
  ]);
  const toRevoke = await makeKey({ type: "ecc", date: KEY_DATE });
  revoked = await revoke(toRevoke, new Date(STABLE_DATE.getTime() + 30 * 86_400_000));

  const packages = stablePackages().filter((p) => ["libc6", "libgcc-s1", "gcc-12-base"].includes(p.control.Package ?? ""));
  const variants: Record<string, Variant> = {
    good: {},
    tampered: { extra: { faults: { tamperInRelease: true } } },
    unknownKey: { signWith: stranger },
    expiredKey: { signWith: expiring },
    revokedKey: { signWith: toRevoke },
    sha1: { signWith: rsa, extra: { signHash: "sha1" } },
    wrongHash: { extra: { faults: { wrongIndexHash: INDEX } } },
    wrongSize: { extra: { faults: { wrongIndexSize: INDEX } } },
    dropIndex: { extra: { faults: { dropIndex: INDEX } } },
    expired: { extra: { validUntil: PAST_VALID_UNTIL } },
    noInRelease: { extra: { noInRelease: true } },
    // Another suite, signed by the same good key: a misrouted or replayed release.
    otherSuite: { extra: { suites: ["testing"] } },
    // The .deb on disk is fine; Packages (signed through Release) pins other bytes.
    debHash: { extra: { faults: { wrongDebHash: "libc6" } } },
    debSize: { extra: { faults: { wrongDebSize: "libc6" } } },
    malicious: { more: MALICIOUS.map((m) => maliciousPackage(m.kind, m.name)) },
  };
  for (const [name, v] of Object.entries(variants)) {
    archives.set(
      name,
      await buildArchive({
        root: join(work, "www", name),
        suites: ["stable"],
        architectures: [...ARCHES],
        packages: [...packages, ...(v.more ?? [])].map((p) => ({ ...p, suite: v.extra?.suites?.[0] ?? "stable" })),
        signWith: [v.signWith ?? good],
        date: STABLE_DATE,
        signDate: signDateFor(STABLE_DATE),
        ...v.extra,
      }),
    );
  }
  server = await serveDirectory(join(work, "www"));

  // The previous good lock every failing run must leave alone.
  const p = await writeProject(join(work, "reference"), good, SPEC);
  await lockWith({ ...p, cache: join(work, "reference", "cache"), mirror: `${server.url}/good` });
  goodLock = await readFile(p.lockfile, "utf8");
});

afterAll(async () => {
  await server?.close();
  if (work) await removeDir(work);
});

/** A project holding the good lock, whose keyring is `keyring`, fetching from archive `variant`. */
async function project(variant: string, keyring: TestKey = good, spec: ManifestSpec = SPEC): Promise<RunOptions & { dir: string }> {
  const dir = join(work, `p${n++}`);
  const p = await writeProject(dir, keyring, spec);
  await writeFile(p.lockfile, goodLock);
  return { ...p, cache: join(dir, "cache"), mirror: `${server.url}/${variant}` };
}

/** Runs lock, expects `type` with `exitCode`, and the good lock untouched; returns the error. */
async function fails(p: RunOptions, type: typeof VerificationError | typeof NetworkError, exitCode: number): ReturnType<typeof rejection> {
  const e = await rejection(lockWith(p));
  expect(e).toBeInstanceOf(type);
  expect(e.exitCode).toBe(exitCode);
  expectFileUnchanged(Buffer.from(goodLock), await bytesOrNone(p.lockfile));
  return e;
}

const IN_RELEASE = `${ARCHIVE_URL}/dists/stable/InRelease`;

describe("signature faults (exit 1)", () => {
  it("the good archive locks (the control case)", async () => {
    const p = await project("good");
    await writeFile(p.lockfile, "");
    const { result } = await lockWith(p);
    expect(result.text).toBe(goodLock);
    expect(result.lock.sources[0]!.suites[0]!.signedBy).toBe(good.fingerprint);
  });

  it("a tampered InRelease, without falling back to Release + Release.gpg", async () => {
    const p = await project("tampered");
    const before = server.requests.length;
    const e = await fails(p, VerificationError, 1);
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toMatch(/no valid signature/);
    const requests = server.requests.slice(before);
    expect(requests).toContain("/tampered/dists/stable/InRelease");
    // Release and Release.gpg verify fine in this archive: falling back would hide the attack.
    expect(requests.filter((r) => /\/Release(\.gpg)?$/.test(r))).toEqual([]);
    // Nothing past the release is fetched.
    expect(requests.filter((r) => r.includes("Packages"))).toEqual([]);
  });

  it("signed only by a key that is not in the keyring", async () => {
    const e = await fails(await project("unknownKey"), VerificationError, 1);
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toContain("archive-key.asc");
    expect(e.message).toContain(stranger.signingKeyId);
    expect(e.message).toMatch(/no such key in the keyring/);
  });

  it("signed by a key that has expired since", async () => {
    const e = await fails(await project("expiredKey", expiring), VerificationError, 1);
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toMatch(/expired/i);
  });

  it("signed by a key that was revoked since", async () => {
    const e = await fails(await project("revokedKey", revoked), VerificationError, 1);
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toMatch(/revoked/i);
  });

  it("a SHA-1 signature", async () => {
    const e = await fails(await project("sha1", rsa), VerificationError, 1);
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toMatch(/SHA1|SHA-1/i);
  });

  it("a Valid-Until in the past", async () => {
    const e = await fails(await project("expired"), VerificationError, 1);
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toMatch(/Valid-Until is Tue, 09 Jan 2024 03:04:05 UTC/);
    expect(e.hint).toMatch(/allowExpired/);
  });

  it("allowExpired accepts a past Valid-Until and a key that expired after signing, and records them", async () => {
    const spec = { ...SPEC, allowExpired: true };
    const p = await project("expired", good, spec);
    const { result } = await lockWith(p);
    const suite = result.lock.sources[0]!.suites[0]!;
    expect(suite.validUntil).toBe("Tue, 09 Jan 2024 03:04:05 UTC");
    expect(suite.signedBy).toBe(good.fingerprint);
    // A snapshot signed by a key that has expired since is judged at signing time.
    const q = await project("expiredKey", expiring, spec);
    const { result: r2 } = await lockWith(q);
    expect(r2.lock.sources[0]!.suites[0]!.signedBy).toBe(expiring.fingerprint);
    // Revocation is not expiry: a revoked key still does not count.
    const e = await fails(await project("revokedKey", revoked, spec), VerificationError, 1);
    expect(e.message).toMatch(/revoked/i);
  });
});

describe("index faults", () => {
  it("an index whose hash differs from the Release's (exit 1)", async () => {
    const e = await fails(await project("wrongHash"), VerificationError, 1);
    expect(e.message).toContain(`${ARCHIVE_URL}/dists/stable/${INDEX}`);
    expect(e.message).toContain(`${server.url}/wrongHash/dists/stable/main/binary-amd64/by-hash/SHA256/`);
    expect(e.message).toContain(archives.get("wrongHash")!.suites.get("stable")!.indexes.get(INDEX)!.sha256);
  });

  it("an index whose size differs from the Release's (exit 1)", async () => {
    const e = await fails(await project("wrongSize"), VerificationError, 1);
    expect(e.message).toContain(`${ARCHIVE_URL}/dists/stable/${INDEX}`);
    const size = archives.get("wrongSize")!.suites.get("stable")!.indexes.get(INDEX)!.size;
    expect(e.message).toContain(`expected ${size + 1}`);
  });

  it("a 404 for the index, by hash and by name (exit 3, naming the URLs)", async () => {
    const e = await fails(await project("dropIndex"), NetworkError, 3);
    const sha = archives.get("dropIndex")!.suites.get("stable")!.indexes.get(INDEX)!.sha256;
    expect(e.message).toContain(`${server.url}/dropIndex/dists/stable/main/binary-amd64/by-hash/SHA256/${sha}`);
    expect(e.message).toContain(`${server.url}/dropIndex/dists/stable/${INDEX}`);
    expect(e.message).toMatch(/404/);
  });

  it("a truncated index body once: retried, then success", async () => {
    const sha = archives.get("good")!.suites.get("stable")!.indexes.get(INDEX)!.sha256;
    const path = `/good/dists/stable/main/binary-amd64/by-hash/SHA256/${sha}`;
    server.setFault(path, { truncate: 100, times: 1 });
    try {
      const p = await project("good");
      await writeFile(p.lockfile, "");
      const before = server.requests.length;
      const { result } = await lockWith(p);
      expect(server.requests.slice(before).filter((r) => r === path)).toHaveLength(2);
      expect(result.text).toBe(goodLock);
      expect(await readFile(p.lockfile, "utf8")).toBe(goodLock);
    } finally {
      server.setFault(path, undefined);
    }
  });
});

describe("the archive does not carry what the manifest asks for (exit 2)", () => {
  it("an architecture", async () => {
    const p = await project("good", good, { ...SPEC, architectures: ["amd64", "riscv64"] });
    const e = await rejection(lockWith(p));
    expect(e).toBeInstanceOf(ResolveError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`${ARCHIVE_URL}/dists/stable/InRelease lists no architecture riscv64 (it has amd64, arm64)`);
    expectFileUnchanged(Buffer.from(goodLock), await bytesOrNone(p.lockfile));
  });

  it("a component", async () => {
    const p = await project("good", good, { ...SPEC, components: ["main", "contrib"] });
    const e = await rejection(lockWith(p));
    expect(e).toBeInstanceOf(ResolveError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("lists no component contrib");
    expectFileUnchanged(Buffer.from(goodLock), await bytesOrNone(p.lockfile));
  });
});

describe("release faults", () => {
  it("a release signed by the right key but for another suite (exit 1)", async () => {
    const other = await readFile(join(work, "www", "otherSuite", "dists", "testing", "InRelease"));
    const path = "/good/dists/stable/InRelease";
    server.setFault(path, { body: other });
    try {
      const e = await fails(await project("good"), VerificationError, 1);
      expect(e.message).toContain(IN_RELEASE);
      expect(e.message).toMatch(/for suite "testing".*not "stable"/);
    } finally {
      server.setFault(path, undefined);
    }
  });

  it("a mirror without by-hash files: the index is fetched by name", async () => {
    const sha = archives.get("good")!.suites.get("stable")!.indexes.get(INDEX)!.sha256;
    const byHash = `/good/dists/stable/main/binary-amd64/by-hash/SHA256/${sha}`;
    server.setFault(byHash, { status: 404 });
    try {
      const p = await project("good");
      const before = server.requests.length;
      const { result } = await lockWith(p);
      const requests = server.requests.slice(before);
      expect(requests.filter((r) => r === byHash)).toHaveLength(1);
      expect(requests).toContain(`/good/dists/stable/${INDEX}`);
      expect(result.text).toBe(goodLock);
    } finally {
      server.setFault(byHash, undefined);
    }
  });

  it("no InRelease: Release + Release.gpg are used and recorded", async () => {
    const p = await project("noInRelease");
    const before = server.requests.length;
    const { result } = await lockWith(p);
    const requests = server.requests.slice(before);
    expect(requests.slice(0, 3)).toEqual(["/noInRelease/dists/stable/InRelease", "/noInRelease/dists/stable/Release", "/noInRelease/dists/stable/Release.gpg"]);
    const dist = join(work, "www", "noInRelease", "dists", "stable");
    const release = await readFile(join(dist, "Release"));
    const sig = await readFile(join(dist, "Release.gpg"));
    const suite = result.lock.sources[0]!.suites[0]!;
    expect(suite.release).toEqual({
      path: "Release",
      sha256: await sha256File(join(dist, "Release")),
      size: release.length,
      signature: { path: "Release.gpg", sha256: await sha256File(join(dist, "Release.gpg")), size: sig.length },
    });
    expect(suite.signedBy).toBe(good.fingerprint);
    // Same packages as from the InRelease archive.
    expect(result.lock.architectures).toEqual(JSON.parse(goodLock).architectures);
  });

  it("HTTP 500 on InRelease forever: exit 3 after the retries, no fallback", async () => {
    const path = "/good/dists/stable/InRelease";
    server.setFault(path, { status: 500 });
    try {
      const p = await project("good");
      const before = server.requests.length;
      const e = await fails(p, NetworkError, 3);
      expect(e.message).toContain(`${server.url}${path}`);
      expect(e.message).toMatch(/HTTP 500.*after 3 attempts/);
      const requests = server.requests.slice(before);
      expect(requests.filter((r) => r === path)).toHaveLength(3);
      expect(requests.filter((r) => r !== path)).toEqual([]);
    } finally {
      server.setFault(path, undefined);
    }
  });

  it("a stalled InRelease: exit 3 once the timeout runs out on every attempt", async () => {
    const path = "/good/dists/stable/InRelease";
    server.setFault(path, { stall: true });
    try {
      const p = await project("good");
      const e = await fails({ ...p, http: { timeoutMs: 300 } }, NetworkError, 3);
      expect(e.message).toContain(`${server.url}${path}`);
      expect(e.message).toMatch(/stalled|timed out|in time/);
    } finally {
      server.setFault(path, undefined);
    }
  });

  it("a server that is gone: exit 3 naming the mirror URL", async () => {
    const gone = await serveDirectory(join(work, "www", "good"));
    const url = gone.url;
    await gone.close();
    const p = await project("good");
    const e = await fails({ ...p, mirror: url }, NetworkError, 3);
    expect(e.message).toContain(`${url}/dists/stable/InRelease`);
    expect(e.message).toMatch(/refused/);
  });
});

describe(".deb faults (lock downloads and reads every locked .deb to build the layers)", () => {
  const LIBC = `libc6_${V.libc6}_amd64`;
  const debUrl = (variant: string): string => `${ARCHIVE_URL}/${archives.get(variant)!.debs.get(LIBC)!.path}`;

  it("a .deb whose sha256 differs from the one Packages lists: exit 1 naming the .deb, no lock written", async () => {
    const p = await project("debHash");
    await rm(p.lockfile);
    const e = await rejection(lockWith(p));
    expect(e).toBeInstanceOf(VerificationError);
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain(debUrl("debHash"));
    expect(e.message).toContain(archives.get("debHash")!.debs.get(LIBC)!.sha256);
    expect(await bytesOrNone(p.lockfile)).toBeUndefined();
    // And a previous good lock stays as it was.
    await fails(await project("debHash"), VerificationError, 1);
  });

  it("a .deb whose size differs from the one Packages lists: exit 1 naming the .deb", async () => {
    const e = await fails(await project("debSize"), VerificationError, 1);
    expect(e.message).toContain(debUrl("debSize"));
    expect(e.message).toContain(String(archives.get("debSize")!.debs.get(LIBC)!.size + 1));
  });

  it("a 404 for a .deb: exit 3 naming the mirror URL", async () => {
    const path = `/good/${archives.get("good")!.debs.get(LIBC)!.path}`;
    server.setFault(path, { status: 404 });
    try {
      const e = await fails(await project("good"), NetworkError, 3);
      expect(e.message).toContain(`${server.url}${path}`);
      expect(e.message).toMatch(/404/);
    } finally {
      server.setFault(path, undefined);
    }
  });

  it.each(MALICIOUS)("a .deb with $kind entries taken by a file set: exit 1 naming the member, no lock written", async ({ name, member }) => {
    const spec: ManifestSpec = { suites: ["stable"], architectures: ["amd64"], fileSets: { evil: { packages: [name], paths: ["/**"] } } };
    const p = await project("malicious", good, spec);
    await rm(p.lockfile);
    const e = await rejection(lockWith(p));
    // Refused while reading the .deb (DebFormatError), or while placing the member in the layer
    // (LayerSafetyError: a file written through the package's own symlink); both exit 1.
    expect(e.exitCode).toBe(1);
    expect([DebFormatError, LayerSafetyError].some((t) => e instanceof t), String(e)).toBe(true);
    expect(e.message).toContain(e instanceof DebFormatError ? `${name}_1.0-1_all.deb` : `${name} 1.0-1`);
    expect(e.message).toMatch(member);
    expect(await bytesOrNone(p.lockfile)).toBeUndefined();
  });
});
