import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockfileError } from "../../src/model/errors.js";
import { parseLockfile, readLockfile } from "../../src/lockfile/read.js";
import { describeLockChanges } from "../../src/lockfile/diff.js";
import satisfies from "semver/functions/satisfies.js";
import { LOCKFILE_SUPPORTED, LOCKFILE_VERSION, type Lockfile } from "../../src/model/lock.js";
import { canonicalJson } from "../../src/util/canonical-json.js";

const H = (c: string): string => c.repeat(64);

function sample(): Lockfile {
  return {
    lockfileVersion: LOCKFILE_VERSION,
    manifest: { file: "scratch.json", sha256: H("a") },
    sourceDateEpoch: 1700000000,
    policy: "none",
    sources: [
      {
        name: "debian",
        url: "https://archive.example/debian",
        suites: [
          {
            suite: "bookworm",
            release: { path: "InRelease", sha256: H("b"), size: 151000 },
            date: "Sat, 11 Nov 2023 09:25:04 UTC",
            validUntil: null,
            signedBy: "4D64FEC119C2029067D6E791F8D2585B8783D481",
            indexes: [{ component: "main", architecture: "amd64", path: "main/binary-amd64/Packages.xz", sha256: H("c"), size: 8800000 }],
          },
          {
            suite: "bookworm-updates",
            release: { path: "Release", sha256: H("d"), size: 1000, signature: { path: "Release.gpg", sha256: H("e"), size: 800 } },
            date: "Sat, 11 Nov 2023 09:25:04 UTC",
            validUntil: "Sat, 18 Nov 2023 09:25:04 UTC",
            signedBy: "B".repeat(64),
            indexes: [],
          },
        ],
      },
    ],
    architectures: {
      amd64: {
        packages: [
          {
            name: "libc6",
            version: "2.36-9+deb12u3",
            architecture: "amd64",
            source: "debian",
            suite: "bookworm",
            component: "main",
            url: "https://archive.example/debian/pool/main/g/glibc/libc6_2.36-9+deb12u3_amd64.deb",
            size: 2756000,
            sha256: H("f"),
            reasons: ["file set libc"],
            select: [{ set: "libc", include: ["/lib/**"], exclude: ["/usr/share/doc/**"] }],
          },
        ],
        skipped: [{ name: "libfoo", reason: "not available on amd64" }],
        derivations: [
          {
            recipe: "usr-merge",
            version: "1",
            options: { arch: "amd64" },
            inputs: [],
            outputs: [{ path: "/bin", type: "symlink", mode: "0777", uid: 0, gid: 0, sha256: H("1") }],
          },
          {
            recipe: "tzdata",
            version: "1",
            options: { timezone: "Europe/Paris" },
            inputs: [{ path: "/usr/share/zoneinfo/Europe/Paris", sha256: H("2") }],
            outputs: [
              { path: "/etc/localtime", type: "symlink", mode: "0777", uid: 0, gid: 0, sha256: H("3") },
              { path: "/etc/timezone", type: "file", mode: "0644", uid: 0, gid: 0, sha256: H("4") },
            ],
          },
          {
            recipe: "base",
            version: "1",
            options: {},
            inputs: [],
            outputs: [{ path: "/tmp", type: "dir", mode: "1777", uid: 0, gid: 0, sha256: H("5") }],
          },
        ],
        layer: {
          diffId: `sha256:${H("6")}`,
          size: 3_481_600,
          provenance: { path: "/var/lib/scratch-pkgs/manifest.jsonl", sha256: H("7"), entries: 42 },
          compressed: {
            gzip: { digest: `sha256:${H("8")}`, size: 1_200_000, settings: { compressor: "zlib-streams@1.0.4", level: 6, mtime: 0, os: 3, strategy: "default" } },
            zstd: { digest: `sha256:${H("9")}`, size: 1_000_000, settings: { compressor: "@hpcc-js/wasm-zstd@1.12.5", level: 3, checksum: false } },
          },
        },
      },
    },
  };
}

function text(v: unknown): string {
  return canonicalJson(v);
}

function lockError(t: string): LockfileError {
  try {
    parseLockfile(t, "scratch.lock");
  } catch (e) {
    expect(e).toBeInstanceOf(LockfileError);
    expect((e as LockfileError).exitCode).toBe(2);
    expect((e as LockfileError).message.startsWith("scratch.lock: ")).toBe(true);
    return e as LockfileError;
  }
  throw new Error("expected a LockfileError");
}

function mutate(f: (l: any) => void): string {
  const l = sample();
  f(l);
  return text(l);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "scratch-lockread-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("parseLockfile", () => {
  it("reads a valid lock back unchanged", () => {
    expect(parseLockfile(text(sample()), "scratch.lock")).toEqual(sample());
    // The reader takes this build's own format as supported without asking semver.
    expect(satisfies(LOCKFILE_VERSION, LOCKFILE_SUPPORTED, { includePrerelease: true })).toBe(true);
  });

  it("reports invalid JSON with line and column", () => {
    const err = lockError('{\n  "lockfileVersion": "1.0.0",\n  oops\n}');
    expect(err.message).toMatch(/^scratch\.lock: invalid JSON at line 3, column 3:/);
  });

  it("requires an object with a lockfileVersion", () => {
    expect(lockError("[]").message).toMatch(/must be a JSON object/);
    expect(lockError(mutate((l) => delete l.lockfileVersion)).message).toMatch(/^scratch\.lock: lockfileVersion: missing required key/);
  });

  it.each([["1.0"], ["one"], [""], [1]])("rejects the invalid version %j", (v) => {
    const err = lockError(mutate((l) => (l.lockfileVersion = v)));
    expect(err.message).toMatch(/^scratch\.lock: lockfileVersion: .* is not a valid lockfile version/);
  });

  it("asks to upgrade for a newer major version", () => {
    const err = lockError(mutate((l) => (l.lockfileVersion = "2.0.0")));
    expect(err.message).toMatch(/lockfileVersion: format 2\.0\.0 was made by a newer scratch-pkgs .*; upgrade/);
    expect(err.hint).toMatch(/upgrade/);
  });

  it("asks to regenerate a lock of an older, unsupported version", () => {
    const err = lockError(mutate((l) => (l.lockfileVersion = "0.9.0")));
    expect(err.message).toMatch(/lockfileVersion: format 0\.9\.0 is older/);
    expect(err.hint).toMatch(/scratch-pkgs lock/);
  });

  it("rejects unknown keys in a version it knows, but lets a newer minor add fields", () => {
    const extra = (l: any) => {
      l.architectures.amd64.packages[0].futureField = 1;
      l.futureTop = { x: 1 };
    };
    const err = lockError(mutate(extra));
    // The first in document order (canonical JSON sorts keys: "architectures" before "futureTop").
    expect(err.message).toMatch(/^scratch\.lock: architectures\.amd64\.packages\[0\]\.futureField: unknown key "futureField"/);
    const newer = parseLockfile(mutate((l) => (extra(l), (l.lockfileVersion = "1.7.0"))), "scratch.lock");
    expect(newer.architectures["amd64"]!.packages[0]!.name).toBe("libc6");
    // Known fields are still checked in a newer minor.
    expect(lockError(mutate((l) => ((l.lockfileVersion = "1.7.0"), (l.sourceDateEpoch = "x")))).message).toMatch(/sourceDateEpoch: must be an integer/);
  });

  it.each<[string, (l: any) => void, RegExp]>([
    ["manifest.sha256", (l) => (l.manifest.sha256 = "ABC"), /is not valid: a sha256 digest/],
    ["sourceDateEpoch", (l) => (l.sourceDateEpoch = -1), /must be ≥ 0/],
    ["policy", (l) => (l.policy = "some"), /must be one of "none", "closure"/],
    ["sources[0].suites[0].signedBy", (l) => (l.sources[0].suites[0].signedBy = "abcd"), /OpenPGP fingerprint/],
    ["sources[0].suites[1].validUntil", (l) => (l.sources[0].suites[1].validUntil = 5), /must be a string or null, got an integer/],
    ["sources[0].suites[0].release.size", (l) => (l.sources[0].suites[0].release.size = 1.5), /must be an integer, got a number/],
    ["sources[0].suites[0].indexes[0].path", (l) => (l.sources[0].suites[0].indexes[0].path = "../x"), /is not valid/],
    ["sources[0].url", (l) => (l.sources[0].url = "ftp://x"), /an http\(s\) URL/],
    ["architectures.amd64.packages[0].sha256", (l) => (l.architectures.amd64.packages[0].sha256 = H("g")), /sha256 digest/],
    ["architectures.amd64.packages[0].reasons", (l) => delete l.architectures.amd64.packages[0].reasons, /missing required key "reasons"/],
    ["architectures.amd64.packages[0].select[0].include[0]", (l) => (l.architectures.amd64.packages[0].select[0].include = ["lib/**"]), /absolute path glob/],
    ["architectures.amd64.skipped[0].reason", (l) => (l.architectures.amd64.skipped[0].reason = ""), /must not be empty/],
    ["architectures.AMD64", (l) => (l.architectures.AMD64 = l.architectures.amd64), /"AMD64" is not a valid name/],
    ["architectures.amd64.packages[0].version", (l) => (l.architectures.amd64.packages[0].version = "1:"), /is not a valid Debian version \(package libc6\)/],
    ["architectures.amd64.packages[0].source", (l) => (l.architectures.amd64.packages[0].source = "other"), /names source "other", which the lock's "sources" does not list/],
    ["architectures.amd64.packages[0].suite", (l) => (l.architectures.amd64.packages[0].suite = "trixie"), /names suite "trixie", which source "debian" does not list/],
    ["sources[1].name", (l) => l.sources.push(l.sources[0]), /duplicate source "debian"/],
    // The layer and derivation records.
    ["architectures.amd64.derivations", (l) => delete l.architectures.amd64.derivations, /missing required key "derivations"/],
    ["architectures.amd64.layer", (l) => delete l.architectures.amd64.layer, /missing required key "layer"/],
    ["architectures.amd64.layer.diffId", (l) => (l.architectures.amd64.layer.diffId = H("6")), /OCI digest "sha256:<64 hex digits>"/],
    ["architectures.amd64.layer.diffId", (l) => (l.architectures.amd64.layer.diffId = `sha512:${H("6")}`), /OCI digest/],
    ["architectures.amd64.layer.diffId", (l) => (l.architectures.amd64.layer.diffId = `sha256:${H("G")}`), /OCI digest/],
    ["architectures.amd64.layer.zstd", (l) => (l.architectures.amd64.layer.zstd = l.architectures.amd64.layer.compressed.zstd), /unknown key "zstd"/],
    ["architectures.amd64.derivations[0].outputs[0].target", (l) => (l.architectures.amd64.derivations[0].outputs[0].target = "usr/bin"), /unknown key "target"/],
    ["architectures.amd64.layer.size", (l) => (l.architectures.amd64.layer.size = -1), /must be ≥ 0/],
    ["architectures.amd64.layer.provenance.path", (l) => (l.architectures.amd64.layer.provenance.path = "var/lib/x"), /absolute layer path/],
    ["architectures.amd64.layer.provenance.sha256", (l) => (l.architectures.amd64.layer.provenance.sha256 = "x"), /sha256 digest/],
    ["architectures.amd64.layer.compressed.zstd.digest", (l) => (l.architectures.amd64.layer.compressed.zstd.digest = "sha256:abc"), /OCI digest/],
    ["architectures.amd64.layer.compressed.gzip.settings", (l) => (l.architectures.amd64.layer.compressed.gzip.settings = "zlib-streams@1.0.4 -6"), /must be an object/],
    ["architectures.amd64.layer.compressed.gzip.settings.level", (l) => delete l.architectures.amd64.layer.compressed.gzip.settings.level, /missing required key "level"/],
    ["architectures.amd64.layer.compressed.gzip.settings.compressor", (l) => delete l.architectures.amd64.layer.compressed.gzip.settings.compressor, /missing required key "compressor"/],
    ["architectures.amd64.layer.compressed.gzip.settings.level", (l) => (l.architectures.amd64.layer.compressed.gzip.settings.level = "6"), /must be a number/],
    ["architectures.amd64.layer.compressed.zstd.settings.window", (l) => (l.architectures.amd64.layer.compressed.zstd.settings.window = { log: 27 }), /must be/],
    ["architectures.amd64.layer.compressed.zstd.settings", (l) => (l.architectures.amd64.layer.compressed.zstd = { digest: `sha256:${H("9")}`, size: 1 }), /missing required key "settings"/],
    ["architectures.amd64.derivations[1].outputs[1].mode", (l) => (l.architectures.amd64.derivations[1].outputs[1].mode = "644"), /4-digit octal mode/],
    ["architectures.amd64.derivations[1].outputs[1].mode", (l) => (l.architectures.amd64.derivations[1].outputs[1].mode = "0688"), /4-digit octal mode/],
    ["architectures.amd64.derivations[2].outputs[0].mode", (l) => (l.architectures.amd64.derivations[2].outputs[0].mode = 1777), /must be a string/],
    ["architectures.amd64.derivations[1].outputs[0].type", (l) => (l.architectures.amd64.derivations[1].outputs[0].type = "hardlink"), /must be one of "file", "dir", "symlink"/],
    ["architectures.amd64.derivations[1].outputs[0].path", (l) => (l.architectures.amd64.derivations[1].outputs[0].path = "etc/localtime"), /absolute layer path/],
    ["architectures.amd64.derivations[1].inputs[0].sha256", (l) => (l.architectures.amd64.derivations[1].inputs[0].sha256 = H("A")), /sha256 digest/],
    ["architectures.amd64.derivations[1].options.timezone", (l) => (l.architectures.amd64.derivations[1].options.timezone = ["UTC"]), /must be/],
    ["architectures.amd64.derivations[0].recipe", (l) => (l.architectures.amd64.derivations[0].recipe = ""), /must not be empty/],
    ["architectures.amd64.derivations[0].version", (l) => delete l.architectures.amd64.derivations[0].version, /missing required key "version"/],
  ])("reports %s", (fieldPath, f, detail) => {
    const err = lockError(mutate(f));
    expect(err.message).toContain(`scratch.lock: ${fieldPath}: `);
    expect(err.message).toMatch(detail);
  });
});

describe("parseLockfile: package URLs lie under their source's URL", () => {
  const POOL = "https://archive.example/debian/pool/main/g/glibc";
  const withUrl = (url: string) => mutate((l) => (l.architectures.amd64.packages[0].url = url));

  it("accepts a pool path with an encoded epoch colon, as the archive names such files", () => {
    const lock = parseLockfile(withUrl(`${POOL}/libc6_1%3a2.36-9+deb12u3_amd64.deb`), "scratch.lock");
    expect(lock.architectures["amd64"]!.packages[0]!.url).toBe(`${POOL}/libc6_1%3a2.36-9+deb12u3_amd64.deb`);
  });

  it.each<[string, string, RegExp]>([
    ["`..`", `${POOL}/../../../../etc/passwd`, /path segment "\.\." leaves or hides its place/],
    ["`.`", `${POOL}/./libc6.deb`, /path segment "\." leaves/],
    ["%2e%2e", `${POOL}/%2e%2e/%2E%2E/etc/passwd`, /path segment "%2e%2e" leaves/],
    ["an encoded slash", `${POOL}/..%2f..%2fetc/passwd`, /path segment "\.\.%2f\.\.%2fetc" leaves/],
    ["a double encoding", `${POOL}/%252e%252e/passwd`, /path segment "%252e%252e" leaves/],
    ["a bad encoding", `${POOL}/%zz.deb`, /"%zz.deb" has a malformed percent-encoding/],
    ["a backslash", `${POOL}/..\\..\\passwd`, /has characters a pool file name does not use/],
    ["a query", `${POOL}/libc6.deb?x=1`, /has characters a pool file name does not use/],
    ["a fragment", `${POOL}/libc6.deb#x`, /has characters a pool file name does not use/],
    ["an empty segment", `${POOL}//libc6.deb`, /without empty segments/],
    ["another host", "https://elsewhere.example/debian/pool/main/g/glibc/libc6.deb", /is not under the source's URL https:\/\/archive\.example\/debian$/],
    ["another scheme", "http://archive.example/debian/pool/main/g/glibc/libc6.deb", /is not under the source's URL/],
    ["a sibling path", "https://archive.example/debian-evil/pool/libc6.deb", /is not under the source's URL/],
    ["credentials", "https://archive.example/debian@elsewhere.example/pool/libc6.deb", /is not under the source's URL/],
  ])("refuses %s: LockfileError naming the architecture, package and field", (_what, url, detail) => {
    const err = lockError(withUrl(url));
    expect(err.message).toContain(`scratch.lock: architectures.amd64.packages[0].url: package libc6 (amd64): ${JSON.stringify(url)}`);
    expect(err.message).toMatch(detail);
  });

  it.each<[string, string, RegExp]>([
    ["a query", "https://archive.example/debian?x", /must not have a query or fragment/],
    ["credentials", "https://u:p@archive.example/debian", /contains credentials/],
    ["a trailing slash", "https://archive.example/debian/", /ends with "\/", which a lock never writes/],
  ])("refuses a source URL with %s, naming the source", (_what, url, detail) => {
    const err = lockError(mutate((l) => (l.sources[0].url = url)));
    expect(err.message).toContain(`scratch.lock: sources[0].url: source debian: `);
    expect(err.message).toMatch(detail);
  });

  it("refuses an empty architecture map", () => {
    expect(lockError(mutate((l) => (l.architectures = {}))).message).toBe("scratch.lock: architectures: lists no architecture, so there is nothing to build or audit");
  });

  it("refuses a request for an architecture the lock does not have, naming the field", () => {
    const ok = mutate((l) => (l.requests = [{ reason: "packages[0]", name: "cpuid", architectures: ["amd64"] }]));
    expect(parseLockfile(ok, "scratch.lock").requests).toHaveLength(1);
    const err = lockError(mutate((l) => (l.requests = [{ reason: "packages[0]", name: "cpuid", architectures: ["amd64"] }, { reason: "file set tools", name: "cpuid", architectures: ["amd64", "arm64"] }])));
    expect(err.message).toBe('scratch.lock: requests[1].architectures: request file set tools (cpuid) names architecture "arm64", which the lock\'s "architectures" does not have (it has amd64)');
  });
});

describe("parseLockfile: path origins (format 1.3.0)", () => {
  const origin = { set: "tools", path: "/usr/lib/x86_64-linux-gnu/libc.so.6", listed: "/lib/x86_64-linux-gnu/libc.so.6", package: "libc6" };
  const contents = { component: "main", architecture: "amd64", path: "main/Contents-amd64.gz", sha256: H("9"), size: 12_000_000 };

  it("reads the Contents indexes and the path origins, and an older lock without them", () => {
    const lock = parseLockfile(mutate((l) => ((l.sources[0].suites[0].contents = [contents]), (l.architectures.amd64.paths = [origin]))), "scratch.lock");
    expect(lock.architectures.amd64!.paths).toEqual([origin]);
    expect(lock.sources[0]!.suites[0]!.contents).toEqual([contents]);
    for (const older of ["1.0.0", "1.1.0", "1.2.0"]) expect(parseLockfile(mutate((l) => (l.lockfileVersion = older)), "scratch.lock").architectures.amd64!.paths).toBeUndefined();
  });

  it.each<[string, (l: any) => void, RegExp]>([
    ["architectures.amd64.paths[0].package", (l) => (l.architectures.amd64.paths = [{ ...origin, package: "libssl3" }]), /path \/usr\/lib\/x86_64-linux-gnu\/libc\.so\.6 \(file set tools\) names package "libssl3", which architecture amd64 does not lock/],
    ["architectures.amd64.paths[0].listed", (l) => (l.architectures.amd64.paths = [{ ...origin, listed: "lib/x" }]), /absolute layer path/],
    ["architectures.amd64.paths[0].package", (l) => (l.architectures.amd64.paths = [{ set: "tools", path: "/x", listed: "/x" }]), /missing required key "package"/],
    ["sources[0].suites[0].contents[0].sha256", (l) => (l.sources[0].suites[0].contents = [{ ...contents, sha256: "x" }]), /sha256 digest/],
  ])("reports %s", (fieldPath, f, detail) => {
    const err = lockError(mutate(f));
    expect(err.message).toContain(`scratch.lock: ${fieldPath}: `);
    expect(err.message).toMatch(detail);
  });
});

describe("describeLockChanges", () => {
  it("names paths of path-only sets whose package is new, gone or another", () => {
    const at = (path: string, pkg: string, listed = path) => ({ set: "tools", path, listed, package: pkg });
    const old = sample();
    old.architectures.amd64!.paths = [at("/usr/bin/a", "a"), at("/usr/bin/b", "b")];
    const cur = sample();
    cur.architectures.amd64!.paths = [at("/usr/bin/b", "b2", "/bin/b"), at("/usr/bin/c", "c")];
    expect(describeLockChanges(old, cur)).toEqual([
      "amd64: - path /usr/bin/a (file set tools) from a",
      "amd64: path /usr/bin/b (file set tools): from b → b2 (listed as /bin/b)",
      "amd64: + path /usr/bin/c (file set tools) from c",
    ]);
  });

  it("names a compressed blob whose digest changed, and one whose compressor only was renamed", () => {
    const old = sample();
    const cur = sample();
    const gzip = cur.architectures.amd64!.layer.compressed.gzip!;
    cur.architectures.amd64!.layer.compressed.gzip = { ...gzip, settings: { ...gzip.settings, compressor: "zlib-streams@9.9.9" } };
    expect(describeLockChanges(old, cur)).toEqual(["amd64: gzip made by zlib-streams@1.0.4 → zlib-streams@9.9.9 (the same bytes)"]);
    cur.architectures.amd64!.layer.compressed.gzip = { ...gzip, digest: `sha256:${H("9")}` };
    expect(describeLockChanges(old, cur)).toEqual([`amd64: gzip blob ${gzip.digest} → sha256:${H("9")}`]);
  });

  it("names requests added, removed and applying elsewhere", () => {
    const old = sample();
    old.requests = [
      { reason: "packages[0]", name: "cpuid", architectures: ["amd64"] },
      { reason: "packages[1]", name: "libquadmath0", optional: true },
    ];
    const cur = sample();
    cur.requests = [
      { reason: "packages[0]", name: "cpuid" },
      { reason: "file set tools", name: "strace", architectures: ["amd64"], optional: true },
    ];
    expect(describeLockChanges(old, cur)).toEqual([
      "request file set tools (strace): new (amd64, optional)",
      "request packages[0] (cpuid): amd64 → every architecture",
      "request packages[1] (libquadmath0): removed (was every architecture, optional)",
    ]);
  });
});

describe("readLockfile", () => {
  it("reads a lock file from disk", async () => {
    const file = path.join(dir, "scratch.lock");
    await writeFile(file, text(sample()));
    expect(await readLockfile(file)).toEqual(sample());
  });

  it("says to run `scratch-pkgs lock` when the file is missing", async () => {
    const file = path.join(dir, "missing.lock");
    const err = await readLockfile(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LockfileError);
    expect((err as LockfileError).message).toBe(`${file}: no such lockfile`);
    expect((err as LockfileError).hint).toMatch(/run `scratch-pkgs lock`/);
  });

  it("names the file in validation errors", async () => {
    const file = path.join(dir, "bad.lock");
    await writeFile(file, mutate((l) => (l.policy = 3)));
    await expect(readLockfile(file)).rejects.toThrow(`${file}: policy: must be a string, got an integer`);
  });
});
