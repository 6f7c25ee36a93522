import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManifestError } from "../../src/model/errors.js";
import { BUILTIN_FILE_SETS, keyringPath, loadManifest, manifestSha256 } from "../../src/manifest/load.js";
import { canonicalJson } from "../../src/util/canonical-json.js";

let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "scratch-manifest-"));
  await mkdir(path.join(dir, "keys"));
  await writeFile(path.join(dir, "keys", "archive.asc"), "not parsed here\n");
  await mkdir(path.join(dir, "keys", "adir"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes text (or an object as JSON) to a fresh file in the temp dir. */
async function write(content: unknown): Promise<string> {
  const file = path.join(dir, `m${n++}.json`);
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return file;
}

function minimal(): Record<string, unknown> {
  return {
    sources: [{ name: "debian", url: "https://archive.example/debian", suites: ["bookworm"], keyring: "keys/archive.asc" }],
    architectures: ["amd64"],
    fileSets: { libc: {} },
  };
}

/** Loads and expects a ManifestError; returns it for assertions. */
async function loadError(content: unknown): Promise<ManifestError> {
  const file = await write(content);
  try {
    await loadManifest(file);
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    const err = e as ManifestError;
    expect(err.file).toBe(file);
    expect(err.exitCode).toBe(2);
    expect(err.message.startsWith(file + ": ")).toBe(true);
    return err;
  }
  throw new Error("expected a ManifestError");
}

async function expectError(content: unknown, fieldPath: string, detail: RegExp): Promise<ManifestError> {
  const err = await loadError(content);
  expect(err.fieldPath).toBe(fieldPath);
  if (fieldPath) expect(err.message).toContain(`: ${fieldPath}: `);
  expect(err.message).toMatch(detail);
  return err;
}

function edit(f: (m: any) => void): Record<string, unknown> {
  const m = minimal();
  f(m);
  return m;
}

describe("loadManifest: valid manifests", () => {
  it("normalises and defaults every field", async () => {
    const file = await write({
      sources: [
        {
          name: "debian",
          url: "https://snapshot.example/archive/debian/20261122T000000Z/",
          suites: ["bookworm", "bookworm-updates"],
          keyring: "./keys/archive.asc",
          allowExpired: true,
        },
        { name: "security", url: "http://security.example/debian-security", suites: ["bookworm-security"], components: ["main", "non-free-firmware"], keyring: "keys/archive.asc" },
      ],
      architectures: ["amd64", "arm64"],
      policy: "closure",
      fileSets: {
        tzdata: { timezone: "Europe/Amsterdam" },
        openssl: { packages: ["libssl3"], paths: ["/usr/lib/*/libssl.so.*"], exclude: ["/usr/share/doc/**"] },
        libc: {},
        "ca-certs": {},
        base: {},
        extra: { packages: ["zlib1g"], paths: ["/usr/lib/**"] },
      },
      packages: ["libstdc++6", "zlib1g=1:1.2.13.dfsg-1"],
      dpkgStatus: false,
      copyright: false,
    });
    const loaded = await loadManifest(file);
    expect(loaded.file).toBe(file);
    expect(loaded.dir).toBe(dir);
    expect(loaded.manifest).toEqual({
      sources: [
        {
          name: "debian",
          url: "https://snapshot.example/archive/debian/20261122T000000Z",
          suites: ["bookworm", "bookworm-updates"],
          components: ["main"],
          keyring: "keys/archive.asc",
          allowExpired: true,
        },
        {
          name: "security",
          url: "http://security.example/debian-security",
          suites: ["bookworm-security"],
          components: ["main", "non-free-firmware"],
          keyring: "keys/archive.asc",
          allowExpired: false,
        },
      ],
      architectures: ["amd64", "arm64"],
      policy: "closure",
      fileSets: [
        { kind: "base", name: "base" },
        { kind: "ca-certs", name: "ca-certs" },
        { kind: "user", name: "extra", packages: ["zlib1g"], paths: ["/usr/lib/**"], exclude: [] },
        { kind: "libc", name: "libc" },
        { kind: "user", name: "openssl", packages: ["libssl3"], paths: ["/usr/lib/*/libssl.so.*"], exclude: ["/usr/share/doc/**"] },
        { kind: "tzdata", name: "tzdata", timezone: "Europe/Amsterdam" },
      ],
      packages: [{ name: "libstdc++6" }, { name: "zlib1g", version: "1:1.2.13.dfsg-1" }],
      dpkgStatus: false,
      copyright: false,
    });
    expect(keyringPath(loaded.dir, loaded.manifest.sources[0]!)).toBe(path.join(dir, "keys", "archive.asc"));
  });

  it("applies defaults: components main, allowExpired false, policy none, dpkgStatus and copyright true, tzdata UTC", async () => {
    const { manifest } = await loadManifest(await write(edit((m) => (m.fileSets = { tzdata: {} }))));
    expect(manifest.sources[0]!.components).toEqual(["main"]);
    expect(manifest.sources[0]!.allowExpired).toBe(false);
    expect(manifest.policy).toBe("none");
    expect(manifest.dpkgStatus).toBe(true);
    expect(manifest.copyright).toBe(true);
    expect(manifest.packages).toEqual([]);
    expect(manifest.fileSets).toEqual([{ kind: "tzdata", name: "tzdata", timezone: "UTC" }]);
  });

  it("accepts packages alone, without file sets", async () => {
    const { manifest } = await loadManifest(await write(edit((m) => {
      delete m.fileSets;
      m.packages = ["busybox-static"];
    })));
    expect(manifest.fileSets).toEqual([]);
    expect(manifest.packages).toEqual([{ name: "busybox-static" }]);
  });

  it("hashes the canonical JSON of the normalised manifest", async () => {
    const loaded = await loadManifest(await write(minimal()));
    const expected = createHash("sha256").update(canonicalJson(loaded.manifest)).digest("hex");
    expect(loaded.sha256).toBe(expected);
    expect(manifestSha256(loaded.manifest)).toBe(expected);
  });

  it("gives the same sha256 when only whitespace, key order, trailing slashes or spelt-out defaults change", async () => {
    const a = await loadManifest(await write(minimal()));
    const reordered =
      '{"fileSets":{"libc":{}},\n\n   "architectures":["amd64"],"sources":[{"keyring":"./keys/archive.asc","suites":["bookworm"],' +
      '"url":"https://archive.example/debian/","name":"debian","components":["main"],"allowExpired":false}],"policy":"none","dpkgStatus":true,"copyright":true}';
    const b = await loadManifest(await write(reordered));
    expect(b.sha256).toBe(a.sha256);
  });

  it("gives a different sha256 when the meaning changes", async () => {
    const a = await loadManifest(await write(minimal()));
    const b = await loadManifest(await write(edit((m) => (m.architectures = ["arm64"]))));
    const c = await loadManifest(await write(edit((m) => (m.fileSets = { libc: {}, tzdata: {} }))));
    expect(new Set([a.sha256, b.sha256, c.sha256]).size).toBe(3);
  });

  it("accepts a JSON $schema key and a UTF-8 BOM", async () => {
    const { manifest } = await loadManifest(await write("\ufeff" + JSON.stringify({ $schema: "./scratch.schema.json", ...minimal() })));
    expect(manifest.architectures).toEqual(["amd64"]);
  });

  it("exports the built-in set names", () => {
    expect([...BUILTIN_FILE_SETS]).toEqual(["base", "ca-certs", "libc", "tzdata"]);
  });
});

describe("loadManifest: file and syntax errors", () => {
  it("reports a missing file with a hint", async () => {
    const file = path.join(dir, "nope.json");
    const err = await loadManifest(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).message).toBe(`${file}: no such file`);
    expect((err as ManifestError).hint).toMatch(/--config/);
  });

  it("reports a directory instead of a file", async () => {
    await expect(loadManifest(path.join(dir, "keys"))).rejects.toThrow(/is a directory/);
  });

  it.each([
    ['{\n  "sources": [],\n}', 3, 1, /trailing comma/],
    ['{\n  "sources": []\n  "architectures": []\n}', 3, 3, /expected "," or "}"/],
    ["{'sources': []}", 1, 2, /double quotes/],
    ['// comment\n{}', 1, 1, /no comments/],
    ['{"a": 1, "a": 2}', 1, 10, /duplicate key "a"/],
    ['{"a": "x', 1, 7, /unterminated string/],
    ["", 1, 1, /end of file/],
    ['{"a": 1} x', 1, 10, /after the end/],
  ])("reports invalid JSON %j with line and column", async (text, line, column, detail) => {
    const err = await expectError(text, "", detail);
    expect(err.message).toContain(`invalid JSON at line ${line}, column ${column}:`);
  });

  it("reports a document that is not an object", async () => {
    await expectError("[]", "", /must be an object, got an array/);
  });
});

describe("loadManifest: top level", () => {
  it("rejects unknown keys with a suggestion", async () => {
    const err = await expectError(edit((m) => (m.architecture = ["amd64"])), "architecture", /unknown key "architecture" \(did you mean "architectures"\?\)/);
    expect(err.message).toMatch(/allowed keys: .*"fileSets"/);
  });

  it("rejects unknown keys without a close match, listing the allowed ones", async () => {
    const err = await expectError(edit((m) => (m.zzzzzz = 1)), "zzzzzz", /unknown key "zzzzzz"; allowed keys:/);
    expect(err.message).not.toMatch(/did you mean/);
  });

  it("requires sources and architectures", async () => {
    await expectError(edit((m) => delete m.sources), "sources", /missing required key "sources"/);
    await expectError(edit((m) => delete m.architectures), "architectures", /missing required key "architectures"/);
  });

  it("requires at least one file set or package", async () => {
    await expectError(edit((m) => delete m.fileSets), "fileSets", /nothing is requested/);
    await expectError(edit((m) => ((m.fileSets = {}), (m.packages = []))), "fileSets", /nothing is requested/);
  });

  it("checks policy, dpkgStatus and copyright", async () => {
    await expectError(edit((m) => (m.policy = "all")), "policy", /must be one of "none", "closure", got "all"/);
    await expectError(edit((m) => (m.dpkgStatus = "yes")), "dpkgStatus", /must be a boolean, got a string/);
    await expectError(edit((m) => (m.copyright = "no")), "copyright", /must be a boolean, got a string/);
  });

  it("reports the first error in document order, whatever the schema's order", async () => {
    // dpkgStatus comes first in the file, so its error wins over the later architectures error.
    const text = '{"dpkgStatus": 1, "sources": [], "architectures": ["AMD64"], "fileSets": {"libc": {}}}';
    await expectError(text, "dpkgStatus", /must be a boolean/);
    const text2 = '{"architectures": ["AMD64"], "sources": [], "dpkgStatus": 1, "fileSets": {"libc": {}}}';
    await expectError(text2, "architectures[0]", /"AMD64" is not valid/);
  });

  it("prefers a misspelt key over the missing key it causes", async () => {
    await expectError(
      edit((m) => {
        m.sources[0].suite = m.sources[0].suites;
        delete m.sources[0].suites;
      }),
      "sources[0].suite",
      /unknown key "suite" \(did you mean "suites"\?\)/,
    );
  });
});

describe("loadManifest: sources", () => {
  it("requires at least one source", async () => {
    await expectError(edit((m) => (m.sources = [])), "sources", /must not be empty/);
  });

  it("requires name, url, suites and keyring", async () => {
    for (const key of ["name", "url", "suites", "keyring"]) {
      await expectError(edit((m) => delete m.sources[0][key]), `sources[0].${key}`, new RegExp(`missing required key "${key}"`));
    }
  });

  it("validates source names and rejects duplicates", async () => {
    await expectError(edit((m) => (m.sources[0].name = "Debian")), "sources[0].name", /"Debian" is not valid: use lower-case letters/);
    await expectError(
      edit((m) => m.sources.push({ ...m.sources[0], suites: ["trixie"] })),
      "sources[1].name",
      /duplicate source name "debian" \(also sources\[0\]\.name\)/,
    );
  });

  it.each([
    ["ftp://archive.example/debian", /is not valid: use an http:\/\/ or https:\/\//],
    ["https://archive.example/debian?x=1", /without a query or fragment/],
    ["https://archive.example/debian#top", /without a query or fragment/],
    ["archive.example/debian", /is not valid/],
    ["https://user:pw@archive.example/debian", /contains credentials/],
    ["https://exa mple/debian", /is not valid/],
  ])("rejects url %s", async (url, detail) => {
    await expectError(edit((m) => (m.sources[0].url = url)), "sources[0].url", detail);
  });

  it("validates suites", async () => {
    await expectError(edit((m) => (m.sources[0].suites = [])), "sources[0].suites", /must not be empty/);
    await expectError(edit((m) => (m.sources[0].suites = ["bookworm", "trixie", "bookworm"])), "sources[0].suites[2]", /"bookworm" is listed twice \(also sources\[0\]\.suites\[0\]\)/);
    await expectError(edit((m) => (m.sources[0].suites = ["../etc"])), "sources[0].suites[0]", /is not valid: a suite or codename/);
    await expectError(edit((m) => (m.sources[0].suites = "bookworm")), "sources[0].suites", /must be an array, got a string/);
  });

  it("validates components", async () => {
    await expectError(edit((m) => (m.sources[0].components = [])), "sources[0].components", /must not be empty/);
    await expectError(edit((m) => (m.sources[0].components = ["main", "main"])), "sources[0].components[1]", /listed twice/);
  });

  it("checks allowExpired is a boolean", async () => {
    await expectError(edit((m) => (m.sources[0].allowExpired = "true")), "sources[0].allowExpired", /must be a boolean/);
  });

  it("requires the keyring file to exist, relative to the manifest", async () => {
    const err = await expectError(edit((m) => (m.sources[0].keyring = "keys/missing.asc")), "sources[0].keyring", /keyring "keys\/missing.asc" not found/);
    expect(err.message).toContain(path.join(dir, "keys", "missing.asc"));
    expect(err.hint).toMatch(/relative to the manifest's directory/);
    await expectError(edit((m) => (m.sources[0].keyring = "keys/adir")), "sources[0].keyring", /is not a file/);
    await expectError(edit((m) => (m.sources[0].keyring = "")), "sources[0].keyring", /must not be empty/);
  });
});

describe("loadManifest: architectures", () => {
  it("validates architecture names", async () => {
    await expectError(edit((m) => (m.architectures = [])), "architectures", /must not be empty/);
    await expectError(edit((m) => (m.architectures = ["amd64", "arm64", "amd64"])), "architectures[2]", /"amd64" is listed twice/);
    await expectError(edit((m) => (m.architectures = ["amd64", "x86_64"])), "architectures[1]", /"x86_64" is not valid: a Debian architecture name/);
    await expectError(edit((m) => (m.architectures = ["amd64", "all"])), "architectures[1]", /"all" is not a machine architecture/);
  });
});

describe("loadManifest: file sets", () => {
  it("rejects invalid set names", async () => {
    await expectError(edit((m) => (m.fileSets = { My_Set: { packages: ["a1"], paths: ["/x"] } })), "fileSets.My_Set", /"My_Set" is not a valid name/);
  });

  it("rejects user-defined fields on a built-in set", async () => {
    const err = await expectError(
      edit((m) => (m.fileSets = { libc: { packages: ["libc6"] } })),
      "fileSets.libc.packages",
      /built-in file set "libc" takes no options, not "packages"; give your set another name/,
    );
    expect(err.fieldPath).toBe("fileSets.libc.packages");
    await expectError(edit((m) => (m.fileSets = { tzdata: { paths: ["/x"] } })), "fileSets.tzdata.paths", /built-in file set "tzdata" takes only "timezone"/);
  });

  it("validates the tzdata time zone", async () => {
    await expectError(edit((m) => (m.fileSets = { tzdata: { timezone: "../../etc/passwd" } })), "fileSets.tzdata.timezone", /is not valid: a time zone name/);
    await expectError(edit((m) => (m.fileSets = { tzdata: { timezone: 1 } })), "fileSets.tzdata.timezone", /must be a string/);
    const { manifest } = await loadManifest(await write(edit((m) => (m.fileSets = { tzdata: { timezone: "America/Argentina/Buenos_Aires" } }))));
    expect(manifest.fileSets[0]).toEqual({ kind: "tzdata", name: "tzdata", timezone: "America/Argentina/Buenos_Aires" });
  });

  it("requires paths in a user-defined set, and packages unless its paths are exact", async () => {
    await expectError(edit((m) => (m.fileSets = { ssl: { packages: ["libssl3"] } })), "fileSets.ssl.paths", /missing required key "paths": a user-defined file set needs "paths"/);
    await expectError(edit((m) => (m.fileSets = { ssl: { packages: [], paths: ["/x"] } })), "fileSets.ssl.packages", /must not be empty/);
    await expectError(edit((m) => (m.fileSets = { ssl: { packages: ["libssl3"], paths: [] } })), "fileSets.ssl.paths", /must not be empty/);
  });

  it("suggests the built-in set a misspelt name was meant to be", async () => {
    await expectError(edit((m) => (m.fileSets = { "ca-cert": {} })), "fileSets.ca-cert", /^\S+: fileSets\.ca-cert: there is no built-in file set "ca-cert": did you mean "ca-certs"\?/);
    // Said before the rules of a set of one's own, which the built-in's options would break.
    const e = await expectError(edit((m) => (m.fileSets = { tzdat: { timezone: "UTC" } })), "fileSets.tzdat", /there is no built-in file set "tzdat": did you mean "tzdata"\?/);
    expect(e.hint).toContain('"tzdata"');
    // A set with packages or paths is one's own, however close its name.
    await expectError(edit((m) => (m.fileSets = { libcc: { packages: ["libc6"] } })), "fileSets.libcc.paths", /missing required key "paths"/);
  });

  it("validates user-defined set contents", async () => {
    await expectError(edit((m) => (m.fileSets = { ssl: { packages: ["LibSSL"], paths: ["/x"] } })), "fileSets.ssl.packages[0]", /"LibSSL" is not valid: a Debian package name/);
    await expectError(edit((m) => (m.fileSets = { ssl: { packages: ["libssl3"], paths: ["usr/lib/**"] } })), "fileSets.ssl.paths[0]", /is not valid: use an absolute path glob/);
    await expectError(edit((m) => (m.fileSets = { ssl: { packages: ["libssl3"], paths: ["/x"], exclude: ["doc/**"] } })), "fileSets.ssl.exclude[0]", /absolute path glob/);
    await expectError(edit((m) => (m.fileSets = { ssl: { packages: ["libssl3"], paths: ["/x"], include: ["/y"] } })), "fileSets.ssl.include", /unknown key "include"/);
  });

  it("takes a set of exact paths alone (its packages come from Contents), keeping the canonical form of sets with packages", async () => {
    const { manifest, sha256 } = await loadManifest(await write(edit((m) => (m.fileSets = { curl: { paths: ["/usr/bin/[", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib64/ld-linux-x86-64.so.2"] } }))));
    expect(manifest.fileSets).toEqual([{ kind: "user", name: "curl", paths: ["/usr/bin/[", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib64/ld-linux-x86-64.so.2"], exclude: [] }]);
    expect(canonicalJson(manifest.fileSets[0])).not.toContain('"packages"');
    expect(sha256).toBe(createHash("sha256").update(canonicalJson(manifest)).digest("hex"));
  });

  it.each([
    ["/usr/lib/*/libssl.so.3", "is a glob"],
    ["/usr/lib/**", "is a glob"],
    ["/usr/bin/{a,b}", "is a glob"],
    ["/usr/lib/libfoo.so.?", "is a glob"],
    ["/usr/bin/a\\b", "is a glob"],
    ["/usr/bin/", "is not a normal absolute file path"],
    ["/usr/../etc/passwd", "is not a normal absolute file path"],
  ])("refuses %s in a set without packages, naming the set and the path", async (bad, why) => {
    const e = await expectError(edit((m) => (m.fileSets = { tools: { paths: ["/usr/bin/curl", bad] } })), "fileSets.tools.paths[1]", /names no "packages", so its paths must be exact file paths/);
    expect(e.message).toContain(`file set "tools" names no "packages"`);
    expect(e.message).toContain(`${JSON.stringify(bad)} ${why}`);
    expect(e.hint).toContain('add "packages"');
  });

  it("scopes a set without packages to some of the manifest's architectures, and only such a set", async () => {
    const two = (sets: unknown) => edit((m) => ((m.architectures = ["amd64", "arm64"]), (m.fileSets = sets)));
    const { manifest } = await loadManifest(await write(two({ ssl: { paths: ["/usr/lib/x86_64-linux-gnu/libssl.so.3"], architectures: ["amd64"] } })));
    expect(manifest.fileSets).toEqual([{ kind: "user", name: "ssl", paths: ["/usr/lib/x86_64-linux-gnu/libssl.so.3"], exclude: [], architectures: ["amd64"] }]);
    await expectError(two({ ssl: { paths: ["/x"], architectures: ["amd46"] } }), "fileSets.ssl.architectures[0]", /"amd46" is not an architecture this manifest builds; it builds "amd64", "arm64"/);
    await expectError(two({ ssl: { packages: ["libssl3"], paths: ["/x"], architectures: ["amd64"] } }), "fileSets.ssl.architectures", /names "packages": scope each of them instead/);
  });

  it("refuses exclude in a set without packages", async () => {
    await expectError(edit((m) => (m.fileSets = { tools: { paths: ["/usr/bin/curl"], exclude: ["/usr/share/doc/**"] } })), "fileSets.tools.exclude", /its exact paths leave nothing to exclude/);
  });

  it('reserves the name "packages"', async () => {
    await expectError(edit((m) => (m.fileSets = { packages: { packages: ["a1"], paths: ["/x"] } })), "fileSets.packages", /"packages" is reserved/);
    await expectError(edit((m) => (m.fileSets = { copyright: { packages: ["a1"], paths: ["/x"] } })), "fileSets.copyright", /"copyright" is reserved/);
  });
});

describe("loadManifest: packages", () => {
  it("validates names and versions", async () => {
    await expectError(edit((m) => (m.packages = ["zlib1g", "Zlib"])), "packages[1]", /"Zlib" is not a valid Debian package name/);
    await expectError(edit((m) => (m.packages = ["zlib1g=1:"])), "packages[0]", /"1:" is not a valid Debian version for zlib1g/);
    await expectError(edit((m) => (m.packages = ["zlib1g=abc"])), "packages[0]", /not a valid Debian version/);
    await expectError(edit((m) => (m.packages = ["zlib1g", "zlib1g=1.2"])), "packages[1]", /"zlib1g" is listed twice \(also packages\[0\]\)/);
    await expectError(edit((m) => (m.packages = [""])), "packages[0]", /must not be empty/);
    await expectError(edit((m) => (m.packages = "zlib1g")), "packages", /must be an array/);
  });
});

describe("loadManifest: per-architecture and optional requests", () => {
  const twoArch = (f: (m: any) => void) =>
    edit((m) => {
      m.architectures = ["amd64", "arm64"];
      f(m);
    });

  it("takes objects in packages and in a user set's packages; a plain entry, or one with no scope, is kept as before", async () => {
    const { manifest, sha256 } = await loadManifest(
      await write(
        twoArch((m) => {
          m.fileSets = { tools: { packages: ["hello", { name: "cpuid", architectures: ["amd64"] }, { name: "mawk" }], paths: ["/usr/bin/*"] } };
          m.packages = [{ name: "zlib1g", version: "1:1.2.13.dfsg-1", optional: true }, { name: "libquadmath0", architectures: ["amd64"], optional: false }, "hello=2.10-3"];
        }),
      ),
    );
    expect(manifest.fileSets).toEqual([{ kind: "user", name: "tools", packages: ["hello", { name: "cpuid", architectures: ["amd64"] }, "mawk"], paths: ["/usr/bin/*"], exclude: [] }]);
    expect(manifest.packages).toEqual([
      { name: "zlib1g", version: "1:1.2.13.dfsg-1", optional: true },
      { name: "libquadmath0", architectures: ["amd64"] },
      { name: "hello", version: "2.10-3" },
    ]);
    // {"name": "x"} means "x": the same manifest sha256 as the plain form.
    const plain = await loadManifest(
      await write(
        twoArch((m) => {
          m.fileSets = { tools: { packages: ["hello", { name: "cpuid", architectures: ["amd64"] }, "mawk"], paths: ["/usr/bin/*"] } };
          m.packages = [{ name: "zlib1g", version: "1:1.2.13.dfsg-1", optional: true }, { name: "libquadmath0", architectures: ["amd64"] }, { name: "hello", version: "2.10-3" }];
        }),
      ),
    );
    expect(plain.sha256).toBe(sha256);
  });

  it("an architecture the manifest does not build is an error naming the field", async () => {
    const err = await expectError(twoArch((m) => (m.packages = ["hello", { name: "cpuid", architectures: ["amd64", "amd6"] }])), "packages[1].architectures[1]", /"amd6" is not an architecture this manifest builds \(did you mean "amd64"\?\); it builds "amd64", "arm64"/);
    expect(err.hint).toMatch(/"architectures"/);
    await expectError(twoArch((m) => (m.fileSets = { tools: { packages: [{ name: "cpuid", architectures: ["i386"] }], paths: ["/x"] } })), "fileSets.tools.packages[0].architectures[0]", /"i386" is not an architecture this manifest builds/);
  });

  it("checks the object form's keys and values", async () => {
    await expectError(twoArch((m) => (m.packages = [{ name: "cpuid", arch: ["amd64"] }])), "packages[0].arch", /unknown key "arch"/);
    await expectError(twoArch((m) => (m.packages = [{ architectures: ["amd64"] }])), "packages[0].name", /missing required key "name"/);
    await expectError(twoArch((m) => (m.packages = [{ name: "CPUID" }])), "packages[0].name", /not valid: a Debian package name/);
    await expectError(twoArch((m) => (m.packages = [{ name: "cpuid", architectures: [] }])), "packages[0].architectures", /must not be empty/);
    await expectError(twoArch((m) => (m.packages = [{ name: "cpuid", optional: "yes" }])), "packages[0].optional", /must be a boolean/);
    await expectError(twoArch((m) => (m.packages = [{ name: "zlib1g", version: "abc" }])), "packages[0].version", /"abc" is not a valid Debian version for zlib1g/);
    await expectError(twoArch((m) => (m.packages = [7])), "packages[0]", /must be a string or an object, got an integer/);
    await expectError(twoArch((m) => (m.packages = ["cpuid", { name: "cpuid", architectures: ["amd64"] }])), "packages[1]", /"cpuid" is listed twice/);
    await expectError(twoArch((m) => (m.fileSets = { tools: { packages: ["cpuid", { name: "cpuid", optional: true }], paths: ["/x"] } })), "fileSets.tools.packages[1]", /"cpuid" is listed twice \(also fileSets\.tools\.packages\[0\]\)/);
    await expectError(twoArch((m) => (m.fileSets = { tools: { packages: [{ name: "cpuid", version: "1" }], paths: ["/x"] } })), "fileSets.tools.packages[0].version", /unknown key "version"/);
  });
});
