// `add`'s edit of scratch.json: on the committed manifests, a minified one, tabs and CRLF,
// everything it does not change stays byte for byte; each result is re-read by the manifest
// loader, and the lock's own path matcher (layer/select over resolve/filesets' rules) takes
// exactly the paths written, out of the real members of the real .debs (listed by dpkg-deb).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addBinaryNeeds, fileSetName } from "../../src/manifest/add-binary-needs.js";
import { parseManifest } from "../../src/manifest/validate.js";
import type { BinaryNeeds, NeededFile } from "../../src/model/binary-needs.js";
import { ManifestError, ResolveError, UsageError } from "../../src/model/errors.js";
import { appliesOn } from "../../src/model/manifest.js";
import { userFileSet } from "../../src/resolve/filesets.js";
import { selector } from "../../src/layer/select.js";
import { hasCommand } from "../fixtures/deb.js";

const ROOT = join(import.meta.dirname, "../..");
const COMMITTED = readFileSync(join(ROOT, "scratch.json"), "utf8");
const BOOKWORM = readFileSync(join(ROOT, "examples/bookworm/scratch.json"), "utf8");
const POOL = join(ROOT, "snapshots/debian/pool/main");
const DEBS = {
  trixieLibc: join(POOL, "g/glibc/libc6_2.41-12+deb13u5_amd64.deb"),
  trixieLibgcc: join(POOL, "g/gcc-14/libgcc-s1_14.2.0-19_amd64.deb"),
  bookwormLibc: join(POOL, "g/glibc/libc6_2.36-9+deb12u14_amd64.deb"),
};
const dpkgDeb = hasCommand("dpkg-deb");
if (!dpkgDeb) console.warn("skipping the matcher checks against real .debs: no dpkg-deb");

const listed = new Map<string, string[]>();
/** Every member path of a .deb as dpkg-deb lists it ("./usr/lib/x" → "/usr/lib/x", no trailing "/"). */
function members(deb: string): string[] {
  if (!listed.has(deb)) listed.set(deb, list(deb));
  return listed.get(deb)!;
}

function list(deb: string): string[] {
  return execFileSync("dpkg-deb", ["-c", deb], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => "/" + l.slice(l.indexOf("./") + 2).replace(/ -> .*$/, "").replace(/\/$/, ""))
    .filter((p) => p !== "/");
}

/** The members of `deb` whose path ends with one of `names` (as dpkg-deb lists them, so the test does not write paths itself). */
function filesOf(deb: string, pkg: string, names: string[]): NeededFile[] {
  const found = members(deb).filter((p) => names.some((n) => p.endsWith("/" + n)));
  return found.map((path) => ({ path, package: pkg, reason: path.slice(path.lastIndexOf("/") + 1) }));
}

function needsOf(binary: string, architecture: string, files: NeededFile[], fileSets: string[] = []): BinaryNeeds {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : 1));
  return { binary, architecture, static: files.length === 0, files: sorted, packages: [...new Set(files.map((f) => f.package))].sort(), fileSets, unresolved: [] };
}

/** What the lock's matcher takes, on `arch`, from `candidates`, for the user set `name` of the manifest text. */
function taken(text: string, name: string, arch: string, candidates: string[]): string[] {
  const set = parseManifest(text, "scratch.json").fileSets.find((s) => s.name === name);
  if (set?.kind !== "user" || !set.packages) throw new Error(`no user set ${name} with packages`);
  const plan = userFileSet(set.name, set.packages, set.paths, set.exclude);
  const rules = plan.packages.filter((p) => appliesOn(p, arch)).map((p) => ({ set: name, include: p.include, exclude: p.exclude }));
  const take = selector(rules);
  return [...new Set(candidates)].filter((p) => take(p)).sort();
}

/** The inserted set as the committed file's style writes it (2 spaces; on one line what fits in 100 columns). */
const TRIXIE_SET = [
  '    "my-app-amd64": {',
  '      "packages": [',
  '        { "name": "libc6", "architectures": ["amd64"] },',
  '        { "name": "libgcc-s1", "architectures": ["amd64"] }',
  "      ],",
  '      "paths": [',
  '        "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",',
  '        "/usr/lib/x86_64-linux-gnu/libc.so.6",',
  '        "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1",',
  '        "/usr/lib64/ld-linux-x86-64.so.2"',
  "      ]",
  "    },",
].join("\n");

describe.skipIf(!dpkgDeb)("add on the committed trixie manifest", () => {
  const files = () => [...filesOf(DEBS.trixieLibc, "libc6", ["ld-linux-x86-64.so.2", "libc.so.6"]), ...filesOf(DEBS.trixieLibgcc, "libgcc-s1", ["libgcc_s.so.1"])];

  it("inserts one set in name order, scoped to amd64, and leaves every other byte as it was", () => {
    const needs = needsOf("./build/my_app", "amd64", files(), ["ca-certs", "tzdata"]);
    expect(needs.files.map((f) => f.path)).toHaveLength(4); // the loader, its /usr/lib64 link, libc, libgcc_s
    const r = addBinaryNeeds(COMMITTED, "scratch.json", [needs], { whole: false });
    expect(r.text).toBe(COMMITTED.replace('    "libc": {},\n', `    "libc": {},\n${TRIXIE_SET}\n`));
    expect(r.additions).toEqual([{ field: "fileSets.my-app-amd64", action: "added", binary: "./build/my_app", detail: "2 packages (libc6, libgcc-s1), 4 paths, for amd64 only" }]);
  });

  it("the lock's matcher takes exactly those paths on amd64, and nothing on arm64", () => {
    const needs = needsOf("./build/my_app", "amd64", files());
    const { text } = addBinaryNeeds(COMMITTED, "scratch.json", [needs], { whole: false });
    const candidates = [...members(DEBS.trixieLibc), ...members(DEBS.trixieLibgcc)];
    expect(taken(text, "my-app-amd64", "amd64", candidates)).toEqual(needs.files.map((f) => f.path));
    expect(taken(text, "my-app-amd64", "arm64", candidates)).toEqual([]);
  });

  it("adding the same binary again changes nothing", () => {
    const needs = needsOf("./build/my_app", "amd64", files(), ["ca-certs"]);
    const once = addBinaryNeeds(COMMITTED, "scratch.json", [needs], { whole: false });
    const twice = addBinaryNeeds(once.text, "scratch.json", [needs], { whole: false });
    expect(twice).toMatchObject({ text: once.text, changed: false, additions: [] });
  });

  it("keeps a minified file on one line", () => {
    const minified = JSON.stringify(JSON.parse(COMMITTED));
    const needs = needsOf("./build/my_app", "amd64", files());
    const r = addBinaryNeeds(minified, "scratch.json", [needs], { whole: false });
    expect(r.text).not.toContain("\n");
    const at = minified.indexOf('"libc":{}') + '"libc":{}'.length;
    const inserted = ',"my-app-amd64":' + JSON.stringify({ packages: needs.packages.map((name) => ({ name, architectures: ["amd64"] })), paths: needs.files.map((f) => f.path) });
    expect(r.text).toBe(minified.slice(0, at) + inserted + minified.slice(at));
  });

  it("keeps tabs and CRLF line ends, and writes the new lines with them", () => {
    const tabbed = (s: string) => s.replace(/^( {2})+/gm, (ws) => "\t".repeat(ws.length / 2)).replace(/\n/g, "\r\n");
    const needs = needsOf("./build/my_app", "amd64", files());
    const r = addBinaryNeeds(tabbed(COMMITTED), "scratch.json", [needs], { whole: false });
    expect(r.text).toBe(tabbed(COMMITTED.replace('    "libc": {},\n', `    "libc": {},\n${TRIXIE_SET}\n`)));
    expect(r.text.replace(/\r\n/g, "")).not.toContain("\n");
  });

  it("replaces the set an earlier add of the same binary wrote, and refuses a set of the user's own of that name", () => {
    const old = addBinaryNeeds(COMMITTED, "scratch.json", [needsOf("./build/my_app", "amd64", filesOf(DEBS.trixieLibc, "libc6", ["libc.so.6"]))], { whole: false }).text;
    const r = addBinaryNeeds(old, "scratch.json", [needsOf("./other/my_app", "amd64", files())], { whole: false });
    expect(r.text).toBe(COMMITTED.replace('    "libc": {},\n', `    "libc": {},\n${TRIXIE_SET}\n`));
    expect(r.additions.map((a) => a.action)).toEqual(["replaced"]);

    const own = COMMITTED.replace('    "libc": {},\n', '    "libc": {},\n    "my-app-amd64": { "packages": ["libc6"], "paths": ["/usr/lib/x86_64-linux-gnu/*.so.6"] },\n');
    expect(() => addBinaryNeeds(own, "scratch.json", [needsOf("./build/my_app", "amd64", files())], { whole: false })).toThrow(ManifestError);
    expect(() => addBinaryNeeds(own, "scratch.json", [needsOf("./build/my_app", "amd64", files())], { whole: false })).toThrow(/scratch\.json: fileSets\.my-app-amd64: a file set of this name is already there/);
  });

  it("--whole requests the packages at top level, after fileSets, scoped to amd64; again changes nothing", () => {
    const needs = needsOf("./build/my_app", "amd64", files());
    const r = addBinaryNeeds(COMMITTED, "scratch.json", [needs], { whole: true });
    const packages = '  "packages": [\n    { "name": "libc6", "architectures": ["amd64"] },\n    { "name": "libgcc-s1", "architectures": ["amd64"] }\n  ]';
    expect(r.text).toBe(COMMITTED.replace(/\n {2}\}\n\}\n$/, `\n  },\n${packages}\n}\n`));
    expect(parseManifest(r.text, "scratch.json").packages).toEqual([
      { name: "libc6", architectures: ["amd64"] },
      { name: "libgcc-s1", architectures: ["amd64"] },
    ]);
    expect(addBinaryNeeds(r.text, "scratch.json", [needs], { whole: true }).changed).toBe(false);
  });

  it("--whole widens a request scoped to another architecture and keeps one that applies everywhere", () => {
    const text = COMMITTED.replace(/\n {2}\}\n\}\n$/, '\n  },\n  "packages": ["libgcc-s1=14.2.0-19", { "name": "libc6", "architectures": ["arm64"] }]\n}\n');
    const r = addBinaryNeeds(text, "scratch.json", [needsOf("./app", "amd64", files())], { whole: true });
    expect(r.text).toBe(text.replace('"architectures": ["arm64"]', '"architectures": ["arm64", "amd64"]'));
    expect(r.additions).toEqual([{ field: "packages[1].architectures", action: "extended", binary: "./app", detail: "libc6 also for amd64" }]);
  });
});

describe.skipIf(!dpkgDeb)("add of a binary that is a package's own file", () => {
  const files = () => filesOf(DEBS.trixieLibc, "libc6", ["ld-linux-x86-64.so.2", "libc.so.6"]);
  const node = (): BinaryNeeds => ({ ...needsOf("./node", "amd64", files()), shippedBy: { package: "nodejs", path: "/usr/bin/node" } });

  it("requests that package at top level, scoped to the binary's architecture, besides the set; again changes nothing; with --whole too", () => {
    const r = addBinaryNeeds(COMMITTED, "scratch.json", [node()], { whole: false });
    expect(r.additions.map((a) => `${a.field} ${a.action} ${a.detail}`)).toEqual([
      `fileSets.node-amd64 added 1 package (libc6), ${files().length} paths, for amd64 only`,
      "packages[0] added nodejs for amd64 only (the package whose /usr/bin/node the binary is)",
    ]);
    const top = JSON.parse(r.text) as { packages: unknown[] };
    expect(top.packages).toEqual([{ name: "nodejs", architectures: ["amd64"] }]);
    expect(addBinaryNeeds(r.text, "scratch.json", [node()], { whole: false }).changed).toBe(false);
    const whole = JSON.parse(addBinaryNeeds(COMMITTED, "scratch.json", [node()], { whole: true }).text) as { packages: unknown[] };
    expect(whole.packages).toEqual([{ name: "libc6", architectures: ["amd64"] }, { name: "nodejs", architectures: ["amd64"] }]);
  });
});

describe.skipIf(!dpkgDeb)("add on the bookworm example", () => {
  const files = () => filesOf(DEBS.bookwormLibc, "libc6", ["ld-linux-x86-64.so.2", "libc.so.6"]);

  it("takes bookworm's own paths (/lib, /lib64), adds no built-in the manifest has, and the matcher takes exactly them", () => {
    const needs = needsOf("app", "amd64", files(), ["ca-certs", "tzdata"]);
    expect(needs.files.map((f) => f.path)).toEqual(["/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]);
    const r = addBinaryNeeds(BOOKWORM, "examples/bookworm/scratch.json", [needs], { whole: false });
    const set = [
      '    "app-amd64": {',
      '      "packages": [{ "name": "libc6", "architectures": ["amd64"] }],',
      '      "paths": [',
      '        "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",',
      '        "/lib/x86_64-linux-gnu/libc.so.6",',
      '        "/lib64/ld-linux-x86-64.so.2"',
      "      ]",
      "    },",
    ].join("\n");
    expect(r.text).toBe(BOOKWORM.replace('  "fileSets": {\n', `  "fileSets": {\n${set}\n`));
    expect(r.additions.map((a) => a.field)).toEqual(["fileSets.app-amd64"]);
    expect(taken(r.text, "app-amd64", "amd64", members(DEBS.bookwormLibc))).toEqual(needs.files.map((f) => f.path));
  });
});

describe("add's edit, on hand-made manifests", () => {
  const manifest = (rest: string, architectures = '["amd64"]') => `{\n  "sources": [{ "name": "d", "url": "https://deb.example/debian", "suites": ["trixie"], "keyring": "k.asc" }],\n  "architectures": ${architectures},\n${rest}\n}\n`;
  const libc: NeededFile = { path: "/usr/lib/x86_64-linux-gnu/libc.so.6", package: "libc6", reason: "libc.so.6" };

  it("writes plain package names when the manifest builds one architecture, and a one-line object that fits stays one line", () => {
    const whole = addBinaryNeeds(manifest('  "packages": ["hello"]'), "s.json", [needsOf("app", "amd64", [libc])], { whole: true });
    expect(whole.text).toBe(manifest('  "packages": ["hello", "libc6"]'));
    // A member that would take the line past 100 columns: the object is then one member per line.
    const more = addBinaryNeeds(manifest('  "fileSets": { "base": {} }'), "s.json", [needsOf("app", "amd64", [libc])], { whole: false });
    expect(more.text).toBe(manifest('  "fileSets": {\n    "app-amd64": { "packages": ["libc6"], "paths": ["/usr/lib/x86_64-linux-gnu/libc.so.6"] },\n    "base": {}\n  }'));
  });

  it("writes a one-line object one member per line when the new member would make its line too long, keeping the old members' text", () => {
    const long: NeededFile = { path: "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", package: "libstdc++6", reason: "libstdc++.so.6" };
    const r = addBinaryNeeds(manifest('  "fileSets": {"tzdata": {"timezone":"UTC"}}'), "s.json", [needsOf("app", "amd64", [libc, long])], { whole: false });
    expect(r.text).toBe(
      manifest(
        [
          '  "fileSets": {',
          '    "app-amd64": {',
          '      "packages": ["libc6", "libstdc++6"],',
          '      "paths": ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"]',
          "    },",
          '    "tzdata": {"timezone":"UTC"}',
          "  }",
        ].join("\n"),
      ),
    );
  });

  it("adds fileSets before packages when the manifest has none, and the hinted built-ins in name order", () => {
    const r = addBinaryNeeds(manifest('  "packages": ["hello"]'), "s.json", [needsOf("app", "amd64", [libc], ["tzdata", "ca-certs"])], { whole: false });
    expect(r.text).toBe(
      manifest('  "fileSets": {\n    "app-amd64": { "packages": ["libc6"], "paths": ["/usr/lib/x86_64-linux-gnu/libc.so.6"] },\n    "ca-certs": {},\n    "tzdata": {}\n  },\n  "packages": ["hello"]'),
    );
  });

  it("a static binary adds only its hints, and nothing when the manifest has them", () => {
    const go = needsOf("./server", "amd64", [], ["ca-certs", "tzdata"]);
    const r = addBinaryNeeds(manifest('  "fileSets": { "base": {} }'), "s.json", [go], { whole: false });
    expect(r.text).toBe(manifest('  "fileSets": { "base": {}, "ca-certs": {}, "tzdata": {} }'));
    expect(addBinaryNeeds(r.text, "s.json", [go], { whole: false }).changed).toBe(false);
  });

  it("escapes glob characters, so that the matcher takes each real path and none of its near misses", () => {
    const odd = ["/opt/a{b,c}/lib.so", "/opt/lib[1].so", "/opt/l*b?.so", "/opt/x(y)|z.so", "/opt/back\\slash.so", "/opt/+(p)@(q)!(r).so", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"];
    const files = odd.map((path) => ({ path, package: "odd", reason: "test" }));
    const r = addBinaryNeeds(manifest('  "fileSets": { "base": {} }'), "s.json", [needsOf("app", "amd64", files)], { whole: false });
    const nearMisses = ["/opt/ab/lib.so", "/opt/ac/lib.so", "/opt/lib1.so", "/opt/lXb?.so", "/opt/lXbY.so", "/opt/xy.so", "/opt/z.so", "/opt/backslash.so", "/opt/pq.so", "/opt/p@(q)!(r).so", "/usr/lib/x86_64-linux-gnu/libstdc.so.6"];
    expect(taken(r.text, "app-amd64", "amd64", [...odd, ...nearMisses])).toEqual([...odd].sort());
    expect(r.text).toContain('"/usr/lib/x86_64-linux-gnu/libstdc++.so.6"'); // nothing to escape there
    expect(r.text).toContain('"/opt/a\\\\{b,c\\\\}/lib.so"');
    // An add of the same binary again recognises the escaped paths as its own.
    expect(addBinaryNeeds(r.text, "s.json", [needsOf("app", "amd64", files)], { whole: false }).changed).toBe(false);
  });

  it("refuses a path no glob can take alone (two backslashes in a row), pointing to --whole, which takes it", () => {
    const odd = needsOf("./app", "amd64", [{ path: "/opt/a\\\\b.so", package: "odd", reason: "test" }]);
    const run = () => addBinaryNeeds(manifest('  "fileSets": { "base": {} }'), "s.json", [odd], { whole: false });
    expect(run).toThrow(ResolveError);
    expect(run).toThrow('./app needs "/opt/a\\\\\\\\b.so" of odd, and no path glob takes that path alone');
    expect(addBinaryNeeds(manifest('  "fileSets": { "base": {} }'), "s.json", [odd], { whole: true }).manifest.packages).toEqual([{ name: "odd" }]);
  });

  it("refuses unresolved needs, naming each, and writes nothing", () => {
    const needs: BinaryNeeds = {
      ...needsOf("./app", "amd64", [libc]),
      unresolved: [
        { name: "libfoo.so.1", neededBy: ["./app"], searched: ["/usr/lib/x86_64-linux-gnu/libfoo.so.1", "/lib/x86_64-linux-gnu/libfoo.so.1"] },
        { name: "libbar.so.2", neededBy: ["libfoo.so.1"], searched: ["/usr/lib/x86_64-linux-gnu/libbar.so.2"], candidates: ["libbar2", "libbar2-nonfree"] },
      ],
    };
    const run = () => addBinaryNeeds(manifest('  "fileSets": { "base": {} }'), "s.json", [needs], { whole: false });
    expect(run).toThrow(ResolveError);
    expect(run).toThrow(/\.\/app: libfoo\.so\.1 \(needed by \.\/app\): no package of the manifest's suites ships it \(looked for \/usr\/lib\/x86_64-linux-gnu\/libfoo\.so\.1, /);
    expect(run).toThrow(/\.\/app: libbar\.so\.2 \(needed by libfoo\.so\.1\): shipped by libbar2, libbar2-nonfree/);
  });

  it("refuses a binary for an architecture the manifest does not build, and two binaries that would share a set", () => {
    expect(() => addBinaryNeeds(manifest('  "fileSets": { "base": {} }'), "s.json", [needsOf("./app", "arm64", [libc])], { whole: false })).toThrow(UsageError);
    expect(() => addBinaryNeeds(manifest('  "fileSets": { "base": {} }'), "s.json", [needsOf("./app", "arm64", [libc])], { whole: false })).toThrow(/\.\/app is built for arm64, and s\.json builds amd64/);
    const twice = [needsOf("a/app", "amd64", [libc]), needsOf("b/app", "amd64", [libc])];
    expect(() => addBinaryNeeds(manifest('  "fileSets": { "base": {} }'), "s.json", twice, { whole: false })).toThrow(/a\/app and b\/app would both be file set "app-amd64"/);
  });

  it("names sets by the set-name rule", () => {
    expect([fileSetName("./build/My_App", "amd64"), fileSetName("/x/server-arm64", "arm64"), fileSetName("./__", "amd64"), fileSetName("lib.so.1", "riscv64")]).toEqual(["my-app-amd64", "server-arm64", "binary-amd64", "lib-so-1-riscv64"]);
  });
});
