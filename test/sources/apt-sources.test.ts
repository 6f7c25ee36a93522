import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/model/errors.js";
import { parseAptSources, readAptSources } from "../../src/sources/apt-sources.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "scratch-apt-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const DEB822 = `# The main archive
Types: deb deb-src
URIs: http://mirror-a.example/debian/ https://mirror-b.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

## Sources only: skipped
Types: deb-src
URIs: http://mirror-a.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://disabled.example/debian
Suites: trixie
Components: main
Enabled: no

Types: deb
URIs: cdrom:[Debian]/ file:/srv/local
Suites: bookworm
Components: main

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mDMEZZZZ
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://flat.example/repo
Suites: ./
`;

const ONE_LINE = `# comment
deb http://mirror-a.example/debian/ bookworm main contrib
deb-src http://mirror-a.example/debian bookworm main
deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] https://mirror-b.example/debian bookworm-updates main # trailing comment
deb [ arch=amd64 ] http://security.example/debian-security bookworm-security main
   # indented comment

deb file:/srv/local bookworm main
deb http://flat.example/repo ./
`;

describe("parseAptSources: deb822 .sources", () => {
  it("keeps enabled deb entries with http(s) URIs, in file order", () => {
    expect(parseAptSources(DEB822, "/x/debian.sources")).toEqual([
      {
        uris: ["http://mirror-a.example/debian", "https://mirror-b.example/debian"],
        suites: ["bookworm", "bookworm-updates"],
        components: ["main", "contrib"],
        file: "/x/debian.sources",
        line: 2,
      },
      { uris: ["http://security.example/debian-security"], suites: ["bookworm-security"], components: ["main"], file: "/x/debian.sources", line: 25 },
      { uris: ["http://flat.example/repo"], suites: ["./"], components: [], file: "/x/debian.sources", line: 35 },
    ]);
  });

  it("treats the other apt false words as disabled", () => {
    for (const word of ["no", "No", "false", "off", "0"]) {
      expect(parseAptSources(`Types: deb\nURIs: http://a.example/d\nSuites: s\nComponents: main\nEnabled: ${word}\n`, "a.sources")).toEqual([]);
    }
    expect(parseAptSources(`Types: deb\nURIs: http://a.example/d\nSuites: s\nComponents: main\nEnabled: yes\n`, "a.sources")).toHaveLength(1);
  });

  it("names the file and line of a broken entry", () => {
    const noUris = "Types: deb\nSuites: bookworm\nComponents: main\n\nTypes: deb\nURIs: http://a.example/d\nComponents: main\n";
    expect(() => parseAptSources(noUris, "/etc/x.sources")).toThrow(UsageError);
    expect(() => parseAptSources(noUris, "/etc/x.sources")).toThrow(/^\/etc\/x\.sources:1: the entry has no "URIs:" field/);
    const noSuites = "Types: deb\nURIs: http://a.example/d\nComponents: main\n";
    expect(() => parseAptSources("\n\n" + noSuites, "/etc/y.sources")).toThrow(/^\/etc\/y\.sources:3: the entry has no "Suites:" field/);
    expect(() => parseAptSources("URIs: http://a.example/d\nSuites: s\nComponents: main\n", "z.sources")).toThrow(/z\.sources:1: the entry has no "Types:" field/);
    expect(() => parseAptSources("Types: deb\nURIs: http://a.example/d\nSuites: s\n", "c.sources")).toThrow(/c\.sources:1: .*"Components:"/);
    expect(() => parseAptSources("Types: deb\n continuation\nnot a field\n", "s.sources")).toThrow(/^s\.sources: invalid deb822 syntax at line 3: expected "Field: value"/);
  });
});

describe("parseAptSources: one-line sources.list", () => {
  it("keeps deb lines with http(s) URIs, skipping deb-src, comments and options", () => {
    expect(parseAptSources(ONE_LINE, "/x/sources.list")).toEqual([
      { uris: ["http://mirror-a.example/debian"], suites: ["bookworm"], components: ["main", "contrib"], file: "/x/sources.list", line: 2 },
      { uris: ["https://mirror-b.example/debian"], suites: ["bookworm-updates"], components: ["main"], file: "/x/sources.list", line: 4 },
      { uris: ["http://security.example/debian-security"], suites: ["bookworm-security"], components: ["main"], file: "/x/sources.list", line: 5 },
      { uris: ["http://flat.example/repo"], suites: ["./"], components: [], file: "/x/sources.list", line: 9 },
    ]);
  });

  it("names the file and line of a broken line", () => {
    expect(() => parseAptSources("\ndeb http://a.example/d\n", "/l/a.list")).toThrow(/^\/l\/a\.list:2: missing suite/);
    expect(() => parseAptSources("deb http://a.example/d bookworm\n", "/l/b.list")).toThrow(/^\/l\/b\.list:1: missing component after suite "bookworm"/);
    expect(() => parseAptSources("deb [arch=amd64 http://a.example/d bookworm main\n", "/l/c.list")).toThrow(/^\/l\/c\.list:1: .*closing "\]"/);
    expect(() => parseAptSources("rpm http://a.example/d bookworm main\n", "/l/d.list")).toThrow(/^\/l\/d\.list:1: unknown entry type "rpm"/);
    expect(() => parseAptSources("deb\n", "/l/e.list")).toThrow(/^\/l\/e\.list:1: missing URI/);
  });

  it("accepts CRLF line endings", () => {
    expect(parseAptSources("deb http://a.example/d bookworm main\r\n", "w.list")[0]!.components).toEqual(["main"]);
  });
});

describe("readAptSources", () => {
  it("reads a given file of either format", async () => {
    const f1 = path.join(dir, "one.sources");
    const f2 = path.join(dir, "two.list");
    await writeFile(f1, DEB822);
    await writeFile(f2, ONE_LINE);
    expect((await readAptSources(f1)).map((e) => e.line)).toEqual([2, 25, 35]);
    expect((await readAptSources(f2)).map((e) => e.line)).toEqual([2, 4, 5, 9]);
  });

  it("fails for a given file that does not exist", async () => {
    await expect(readAptSources(path.join(dir, "missing.sources"))).rejects.toThrow(/missing\.sources: no such file/);
  });

  it("reads sources.list then sources.list.d/*.list and *.sources in sorted order", async () => {
    const etc = path.join(dir, "etc-apt");
    await mkdir(path.join(etc, "sources.list.d"), { recursive: true });
    await writeFile(path.join(etc, "sources.list"), "deb http://first.example/d s0 main\n");
    await writeFile(path.join(etc, "sources.list.d", "b.sources"), "Types: deb\nURIs: http://b.example/d\nSuites: s2\nComponents: main\n");
    await writeFile(path.join(etc, "sources.list.d", "a.list"), "deb http://a.example/d s1 main\n");
    await writeFile(path.join(etc, "sources.list.d", "c.list.disabled"), "deb http://c.example/d s3 main\n");
    await writeFile(path.join(etc, "sources.list.d", "Z.sources"), "Types: deb\nURIs: http://z.example/d\nSuites: s4\nComponents: main\n");
    const entries = await readAptSources(undefined, etc);
    expect(entries.map((e) => [path.relative(etc, e.file), e.suites[0]])).toEqual([
      ["sources.list", "s0"],
      ["sources.list.d/Z.sources", "s4"],
      ["sources.list.d/a.list", "s1"],
      ["sources.list.d/b.sources", "s2"],
    ]);
  });

  it("is fine with no apt configuration at all", async () => {
    expect(await readAptSources(undefined, path.join(dir, "no-such-etc"))).toEqual([]);
  });

  const sysDir = "/etc/apt/sources.list.d";
  const hasSystemSources = existsSync(sysDir) && readdirSync(sysDir).some((n) => n.endsWith(".sources"));
  it.skipIf(!hasSystemSources)("reads this machine's own apt sources", async () => {
    const entries = await readAptSources();
    expect(entries.length).toBeGreaterThanOrEqual(1);
    for (const e of entries) {
      expect(e.uris.length).toBeGreaterThanOrEqual(1);
      for (const u of e.uris) expect(u).toMatch(/^https?:\/\/[^/]+.*[^/]$/);
    }
  });
});
