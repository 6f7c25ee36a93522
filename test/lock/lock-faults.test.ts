// `lock` and `audit` against broken archives and broken servers. Every failure must be the
// right typed error (exit code; for audit, the release or index check that fails), name the URL
// or file involved, and leave the lock file byte-identical. audit judges the lock a change would
// commit: for each broken archive, the lock that a `lock` trusting it would have written.
// Each broken archive is generated once, side by side under one server.
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
import { auditExitCode, formatReport } from "../../src/audit/report.js";
import type { Lockfile } from "../../src/model/lock.js";
import type { LockResult } from "../../src/commands/lock.js";
import {
  ARCHES,
  ARCHIVE_URL,
  auditWith,
  KEY_DATE,
  STABLE_DATE,
  V,
  bytesOrNone,
  expectFileUnchanged,
  independentCanonical,
  lockWith,
  rejection,
  removeDir,
  sha256,
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
let variants: Record<string, Variant>;
let n = 0;

type Variant = { signWith?: TestKey; extra?: Partial<FixtureOptions>; more?: FixturePackage[] };
type Command = "lock" | "audit";
const COMMANDS: Command[] = ["lock", "audit"];

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
  variants = {
    good: {},
    tampered: { extra: { faults: { tamperInRelease: true } } },
    unknownKey: { signWith: stranger },
    expiredKey: { signWith: expiring },
    revokedKey: { signWith: toRevoke },
    sha1: { signWith: rsa, extra: { signHash: "sha1" } },
    wrongHash: { extra: { faults: { wrongIndexHash: INDEX } } },
    wrongSize: { extra: { faults: { wrongIndexSize: INDEX } } },
    undecodable: { extra: { faults: { undecodableIndex: INDEX } } },
    dropIndex: { extra: { faults: { dropIndex: INDEX } } },
    expired: { extra: { validUntil: PAST_VALID_UNTIL } },
    noInRelease: { extra: { noInRelease: true } },
    // Another suite, signed by the same good key: a misrouted or replayed release, and indexes
    // that differ from stable's (one more package).
    otherSuite: { extra: { suites: ["testing"] }, more: stablePackages().filter((p) => p.control.Package === "hello") },
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
  goodLocks.set(JSON.stringify(SPEC), Promise.resolve(goodLock));
});

afterAll(async () => {
  await server?.close();
  if (work) await removeDir(work);
});

/** A project: scratch.json with `keyring`, the lock `command` is to judge, fetching from archive `variant`. */
interface Project extends RunOptions {
  dir: string;
  command: Command;
  /** What the lock file holds before the run (every failing run must leave it so). */
  lockText: string;
}

/** lock starts from the good lock; audit from the lock recording `variant` (see lockRecording). */
async function project(variant: string, keyring: TestKey = good, spec: ManifestSpec = SPEC, command: Command = "lock"): Promise<Project> {
  const dir = join(work, `p${n++}`);
  const p = await writeProject(dir, keyring, spec);
  const lockText = command === "lock" ? goodLock : await lockRecording(variant, spec);
  await writeFile(p.lockfile, lockText);
  return { ...p, cache: join(dir, "cache"), mirror: `${server.url}/${variant}`, command, lockText };
}

/** Edits the project's lock (what a malicious change would commit). */
async function editLock(p: Project, edit: (lock: Lockfile) => void): Promise<void> {
  const lock = JSON.parse(p.lockText) as Lockfile;
  edit(lock);
  p.lockText = independentCanonical(lock);
  await writeFile(p.lockfile, p.lockText);
}

const goodLocks = new Map<string, Promise<string>>();
/** The lock of the good archive for `spec`, made once. */
function goodLockFor(spec: ManifestSpec): Promise<string> {
  const key = JSON.stringify(spec);
  let text = goodLocks.get(key);
  if (!text) {
    const dir = join(work, `base${goodLocks.size}`);
    text = writeProject(dir, good, spec).then(async (p) => {
      await lockWith({ ...p, cache: join(dir, "cache"), mirror: `${server.url}/good` });
      return readFile(p.lockfile, "utf8");
    });
    goodLocks.set(key, text);
  }
  return text;
}

/** A field of a fixture Release, read with a regular expression (not with the code under test). */
function releaseField(release: string, name: string): string | undefined {
  return new RegExp(`^${name}: (.*)$`, "m").exec(release)?.[1];
}

/** sha256 and size the Release's SHA256 section lists for `path`. */
function releaseListing(release: string, path: string): { sha256: string; size: number } {
  const section = release.slice(release.indexOf("\nSHA256:\n"));
  const m = new RegExp(`^ ([0-9a-f]{64}) +(\\d+) ${path.replace(/[.+-]/g, "\\$&")}$`, "m").exec(section);
  if (!m) throw new Error(`the fixture Release lists no ${path}`);
  return { sha256: m[1]!, size: Number(m[2]) };
}

/**
 * The lock a `lock` that trusted archive `variant` would have written: the good lock for
 * `spec`, re-pointed at that archive's release file(s) and at the index hashes its Release
 * lists. The .debs of every variant are the same bytes, so the packages and layers stand.
 */
async function lockRecording(variant: string, spec: ManifestSpec): Promise<string> {
  const lock = JSON.parse(await goodLockFor(spec)) as Lockfile;
  const suite = lock.sources[0]!.suites[0]!;
  const dist = join(work, "www", variant, "dists", "stable");
  const release = await readFile(join(dist, "Release"));
  const inRelease = await bytesOrNone(join(dist, "InRelease"));
  const file = (path: string, bytes: Buffer) => ({ path, sha256: sha256(bytes), size: bytes.length });
  suite.release = inRelease ? file("InRelease", inRelease) : { ...file("Release", release), signature: file("Release.gpg", await readFile(join(dist, "Release.gpg"))) };
  const text = release.toString("utf8");
  suite.date = releaseField(text, "Date")!;
  suite.validUntil = releaseField(text, "Valid-Until") ?? null;
  suite.signedBy = (variants[variant]!.signWith ?? good).fingerprint;
  for (const index of suite.indexes) Object.assign(index, releaseListing(text, index.path));
  return independentCanonical(lock);
}

/** A report's lines, for assertion messages. */
const shown = (report: Awaited<ReturnType<typeof auditWith>>): string => formatReport(report).join("\n");

/**
 * Runs the project's command and expects it to end as `type` says with `exitCode` — for audit,
 * the exit the CLI derives from the report, with a release or index check that fails (or, for
 * a NetworkError, could not be made) — and the lock file untouched. Returns what it said.
 */
async function fails(p: Project, type: typeof VerificationError | typeof NetworkError, exitCode: number): Promise<{ message: string; hint: string }> {
  let said: { message: string; hint: string };
  if (p.command === "lock") {
    const e = await rejection(lockWith(p));
    expect(e).toBeInstanceOf(type);
    expect(e.exitCode).toBe(exitCode);
    said = { message: e.message, hint: e.hint ?? "" };
  } else {
    const report = await auditWith(p);
    expect(auditExitCode(report), shown(report)).toBe(exitCode);
    const status = type === NetworkError ? "unavailable" : "fail";
    const named = report.checks.filter((c) => c.status === status && /^(release|index) /.test(c.name));
    expect(named, shown(report)).not.toEqual([]);
    said = { message: named.map((c) => c.detail).join("\n"), hint: named.map((c) => c.hint ?? "").join("\n") };
  }
  expectFileUnchanged(Buffer.from(p.lockText), await bytesOrNone(p.lockfile));
  return said;
}

/** Runs the project's command and expects success: lock's result, or an audit whose every check passes (undefined). */
async function passes(p: Project): Promise<LockResult | undefined> {
  if (p.command === "lock") return (await lockWith(p)).result;
  const report = await auditWith(p);
  expect(report.checks.filter((c) => c.status !== "ok"), shown(report)).toEqual([]);
  expect(auditExitCode(report)).toBe(0);
  return undefined;
}

/** Requests the server saw while `fn` ran. */
async function requestsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const before = server.requests.length;
  await fn();
  return server.requests.slice(before);
}

const IN_RELEASE = `${ARCHIVE_URL}/dists/stable/InRelease`;
const byHashPath = (variant: string, sha: string): string => `/${variant}/dists/stable/main/binary-amd64/by-hash/SHA256/${sha}`;
const indexSha = (variant: string): string => archives.get(variant)!.suites.get("stable")!.indexes.get(INDEX)!.sha256;

it("the lock audit judges for the good archive is the good lock itself", async () => {
  expect(await lockRecording("good", SPEC)).toBe(goodLock);
});

describe.each(COMMANDS)("%s: signature faults (exit 1)", (command) => {
  const proj = (variant: string, keyring?: TestKey, spec?: ManifestSpec) => project(variant, keyring, spec, command);

  it("the good archive passes (the control case)", async () => {
    const p = await proj("good");
    if (command === "lock") await writeFile(p.lockfile, "");
    const result = await passes(p);
    if (result) {
      expect(result.text).toBe(goodLock);
      expect(result.lock.sources[0]!.suites[0]!.signedBy).toBe(good.fingerprint);
    }
  });

  it("a tampered InRelease, without falling back to Release + Release.gpg", async () => {
    const p = await proj("tampered");
    let e!: { message: string };
    const requests = await requestsDuring(async () => (e = await fails(p, VerificationError, 1)));
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toMatch(/no valid signature/);
    expect(requests).toContain("/tampered/dists/stable/InRelease");
    // Release and Release.gpg verify fine in this archive: falling back would hide the attack.
    expect(requests.filter((r) => /\/Release(\.gpg)?$/.test(r))).toEqual([]);
    // No index is read on the word of an unverified release.
    expect(requests.filter((r) => r.includes("Packages") || r.includes("by-hash"))).toEqual([]);
  });

  it("signed only by a key that is not in the keyring", async () => {
    const e = await fails(await proj("unknownKey"), VerificationError, 1);
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toContain("archive-key.asc");
    expect(e.message).toContain(stranger.signingKeyId);
    expect(e.message).toMatch(/no such key in the keyring/);
  });

  it("signed by a key that has expired since", async () => {
    const e = await fails(await proj("expiredKey", expiring), VerificationError, 1);
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toMatch(/expired/i);
  });

  it("signed by a key that was revoked since", async () => {
    const e = await fails(await proj("revokedKey", revoked), VerificationError, 1);
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toMatch(/revoked/i);
  });

  it("a SHA-1 signature", async () => {
    const e = await fails(await proj("sha1", rsa), VerificationError, 1);
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toMatch(/SHA1|SHA-1/i);
  });

  it("a Valid-Until in the past", async () => {
    const e = await fails(await proj("expired"), VerificationError, 1);
    expect(e.message).toContain(IN_RELEASE);
    expect(e.message).toMatch(/Valid-Until is Tue, 09 Jan 2024 03:04:05 UTC/);
    expect(e.hint).toMatch(/allowExpired/);
  });

  it("allowExpired accepts a past Valid-Until and a key that expired after signing, but not a revoked key", async () => {
    const spec = { ...SPEC, allowExpired: true };
    const result = await passes(await proj("expired", good, spec));
    if (result) {
      const suite = result.lock.sources[0]!.suites[0]!;
      expect(suite.validUntil).toBe("Tue, 09 Jan 2024 03:04:05 UTC");
      expect(suite.signedBy).toBe(good.fingerprint);
    }
    // A snapshot signed by a key that has expired since is judged at signing time.
    const r2 = await passes(await proj("expiredKey", expiring, spec));
    if (r2) expect(r2.lock.sources[0]!.suites[0]!.signedBy).toBe(expiring.fingerprint);
    // Revocation is not expiry: a revoked key still does not count.
    const e = await fails(await proj("revokedKey", revoked, spec), VerificationError, 1);
    expect(e.message).toMatch(/revoked/i);
  });
});

describe.each(COMMANDS)("%s: index faults", (command) => {
  const proj = (variant: string) => project(variant, good, SPEC, command);

  it("an index whose hash differs from the Release's (exit 1)", async () => {
    const e = await fails(await proj("wrongHash"), VerificationError, 1);
    expect(e.message).toContain(`${ARCHIVE_URL}/dists/stable/${INDEX}`);
    expect(e.message).toContain(`${server.url}/wrongHash/dists/stable/main/binary-amd64/by-hash/SHA256/`);
    expect(e.message).toContain(indexSha("wrongHash"));
  });

  it("an index whose size differs from the Release's (exit 1)", async () => {
    const e = await fails(await proj("wrongSize"), VerificationError, 1);
    expect(e.message).toContain(`${ARCHIVE_URL}/dists/stable/${INDEX}`);
    const size = archives.get("wrongSize")!.suites.get("stable")!.indexes.get(INDEX)!.size;
    expect(e.message).toContain(`expected ${size + 1}`);
  });

  it("an index that matches its signed hash but does not decompress (exit 1, not an internal error)", async () => {
    const e = await fails(await proj("undecodable"), VerificationError, 1);
    expect(e.message).toContain(`${ARCHIVE_URL}/dists/stable/${INDEX}`);
    expect(e.message).toMatch(/xz decompression failed/);
  });

  it("a 404 for the index, by hash and by name (exit 3, naming the URLs)", async () => {
    const e = await fails(await proj("dropIndex"), NetworkError, 3);
    expect(e.message).toContain(`${server.url}${byHashPath("dropIndex", indexSha("dropIndex"))}`);
    expect(e.message).toContain(`${server.url}/dropIndex/dists/stable/${INDEX}`);
    expect(e.message).toMatch(/404/);
  });

  it("a truncated index body once: retried, then success", async () => {
    const path = byHashPath("good", indexSha("good"));
    server.setFault(path, { truncate: 100, times: 1 });
    try {
      const p = await proj("good");
      if (command === "lock") await writeFile(p.lockfile, "");
      let result: LockResult | undefined;
      const requests = await requestsDuring(async () => (result = await passes(p)));
      expect(requests.filter((r) => r === path)).toHaveLength(2);
      if (result) {
        expect(result.text).toBe(goodLock);
        expect(await readFile(p.lockfile, "utf8")).toBe(goodLock);
      }
    } finally {
      server.setFault(path, undefined);
    }
  });

  it("an index of another suite, signed by the same key, served in this suite's place (exit 1)", async () => {
    const other = await readFile(join(work, "www", "otherSuite", "dists", "testing", INDEX));
    expect(sha256(other)).not.toBe(indexSha("good"));
    const paths = [`/good/dists/stable/${INDEX}`, byHashPath("good", indexSha("good"))];
    for (const path of paths) server.setFault(path, { body: other });
    try {
      const p = await proj("good");
      // The lock a malicious change commits names that index, as if stable's release listed it.
      if (command === "audit") await editLock(p, (lock) => Object.assign(lock.sources[0]!.suites[0]!.indexes.find((i) => i.path === INDEX)!, { sha256: sha256(other), size: other.length }));
      const e = await fails(p, VerificationError, 1);
      expect(e.message).toContain(`${ARCHIVE_URL}/dists/stable/${INDEX}`);
      // Refused by its size (lock, audit's index check) or its hash (audit's release check).
      expect(e.message).toMatch(new RegExp(`is ${other.length} bytes, expected ${archives.get("good")!.suites.get("stable")!.indexes.get(INDEX)!.size}|sha256 ${sha256(other)}`));
    } finally {
      for (const path of paths) server.setFault(path, undefined);
    }
  });

  it("a mirror that serves the indexes only by hash: by-hash works", async () => {
    const plain = [...archives.get("good")!.suites.get("stable")!.indexes.keys()].filter((k) => k.includes("/Packages")).map((k) => `/good/dists/stable/${k}`);
    for (const path of plain) server.setFault(path, { status: 404 });
    try {
      const p = await proj("good");
      let result: LockResult | undefined;
      const requests = await requestsDuring(async () => (result = await passes(p)));
      expect(requests).toContain(byHashPath("good", indexSha("good")));
      expect(requests.filter((r) => plain.includes(r))).toEqual([]);
      if (result) expect(result.text).toBe(goodLock);
    } finally {
      for (const path of plain) server.setFault(path, undefined);
    }
  });
});

// lock only: audit chooses no indexes, it checks the ones the lock records against the signed
// release ("an index of another suite" above).
describe("the archive does not carry what the manifest asks for (exit 2)", () => {
  it("an architecture", async () => {
    const p = await project("good", good, { ...SPEC, architectures: ["amd64", "riscv64"] });
    const e = await rejection(lockWith(p));
    expect(e).toBeInstanceOf(ResolveError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`${ARCHIVE_URL}/dists/stable/InRelease lists no architecture riscv64 (it has amd64, arm64)`);
    expectFileUnchanged(Buffer.from(goodLock), await bytesOrNone(p.lockfile));
  });

  it("a suite: neither InRelease nor Release there is exit 2 with a did-you-mean, not a network error", async () => {
    const p = await project("good", good, { ...SPEC, suites: ["stabel"] });
    const e = await rejection(lockWith(p));
    expect(e).toBeInstanceOf(ResolveError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`suite "stabel" of source debian not found at ${server.url}/good: neither dists/stabel/InRelease nor dists/stabel/Release exists; did you mean "stable"?`);
    expect(e.hint).toMatch(/check the suite in scratch\.json/);
    // A file: mirror's dists/ can be listed: what it has is said too.
    const q = await project("otherSuite", good, { ...SPEC, suites: ["testng"] });
    const f = await rejection(lockWith({ ...q, mirror: `file://${join(work, "www", "otherSuite")}` }));
    expect(f.exitCode).toBe(2);
    expect(f.message).toMatch(/not found at file:\/\/.*\/otherSuite: neither .* exists \(its dists\/ has testing\); did you mean "testing"\?$/);
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

describe.each(COMMANDS)("%s: release faults", (command) => {
  const proj = (variant: string) => project(variant, good, SPEC, command);

  it("a release signed by the right key but for another suite: a replayed suite (exit 1)", async () => {
    const other = await readFile(join(work, "www", "otherSuite", "dists", "testing", "InRelease"));
    const path = "/good/dists/stable/InRelease";
    server.setFault(path, { body: other });
    try {
      const p = await proj("good");
      // The lock a malicious change commits records that release as stable's.
      if (command === "audit") await editLock(p, (lock) => (lock.sources[0]!.suites[0]!.release = { path: "InRelease", sha256: sha256(other), size: other.length }));
      const e = await fails(p, VerificationError, 1);
      expect(e.message).toContain(IN_RELEASE);
      expect(e.message).toMatch(/for suite "testing".*not "stable"/);
    } finally {
      server.setFault(path, undefined);
    }
  });

  it("a mirror without by-hash files: the index is fetched by name", async () => {
    const byHash = byHashPath("good", indexSha("good"));
    server.setFault(byHash, { status: 404 });
    try {
      let result: LockResult | undefined;
      const p = await proj("good");
      const requests = await requestsDuring(async () => (result = await passes(p)));
      expect(requests.filter((r) => r === byHash)).toHaveLength(1);
      expect(requests).toContain(`/good/dists/stable/${INDEX}`);
      if (result) expect(result.text).toBe(goodLock);
    } finally {
      server.setFault(byHash, undefined);
    }
  });

  it("no InRelease: Release + Release.gpg are used and recorded", async () => {
    const p = await proj("noInRelease");
    let result: LockResult | undefined;
    const requests = await requestsDuring(async () => (result = await passes(p)));
    const releases = requests.filter((r) => /\/(In)?Release(\.gpg)?$/.test(r));
    // lock looks for the InRelease first; audit fetches what the lock records.
    expect(releases).toEqual([...(command === "lock" ? ["/noInRelease/dists/stable/InRelease"] : []), "/noInRelease/dists/stable/Release", "/noInRelease/dists/stable/Release.gpg"]);
    if (result) {
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
    }
  });

  it("HTTP 500 on InRelease forever: exit 3 after the retries, no fallback", async () => {
    const path = "/good/dists/stable/InRelease";
    server.setFault(path, { status: 500 });
    try {
      const p = await proj("good");
      let e!: { message: string };
      const requests = await requestsDuring(async () => (e = await fails(p, NetworkError, 3)));
      expect(e.message).toContain(`${server.url}${path}`);
      expect(e.message).toMatch(/HTTP 500.*after 3 attempts/);
      expect(requests.filter((r) => r === path)).toHaveLength(3);
      // Nothing else of the suite: no fallback, no index on an unverified release's word.
      expect(requests.filter((r) => r !== path && r.includes("/dists/"))).toEqual([]);
    } finally {
      server.setFault(path, undefined);
    }
  });

  it("a stalled InRelease: exit 3 once the timeout runs out on every attempt", async () => {
    const path = "/good/dists/stable/InRelease";
    server.setFault(path, { stall: true });
    try {
      const p = await proj("good");
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
    const p = await proj("good");
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
