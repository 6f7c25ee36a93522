// Bad input on the real command line (a private tsc build of the CLI): each kind of garbage —
// a .deb member that does not decompress or untar, a member a layer cannot record, an index
// or a Release that verifies but does not parse, a malformed manifest or lock, a missing lock,
// a file set glob that takes nothing — ends in its documented exit code and a message naming
// the file or URL, never in "internal error" (exit 70).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAr } from "../fixtures/ar.js";
import { buildArchive, type FixturePackage } from "../fixtures/archive.js";
import { buildTar, compress, hasCommand, renderControl, withParentDirs, type DataCompression, type DebEntry } from "../fixtures/deb.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";
import { compileCli, cleanEnv, must, run } from "../layer/helpers.js";
import { ARCHIVE_URL, KEY_DATE, STABLE_DATE, removeDir, signDateFor, tempDir, writeProject, type ManifestSpec } from "../lock/helpers.js";

const tools = ["xz", "zstd", "dpkg-deb", "tar", "bash"].every((t) => hasCommand(t));

let work: string;
let main: string;
let server: TestServer;
let key: TestKey;
let n = 0;

const control = (name: string): Record<string, string> => ({
  Package: name,
  Version: "1.0",
  Architecture: "all",
  Maintainer: "Fixture <fixture@test.invalid>",
  Description: `${name} (fixture)`,
});
const filesOf = (name: string): DebEntry[] => [{ path: `./usr/share/${name}/data`, type: "file", content: `${name}\n` }];

/** A .deb whose data member is `data` under `member`, around a good control.tar.gz. */
async function debWithData(name: string, member: string, data: Uint8Array): Promise<Uint8Array> {
  const controlTar = gzipSync(await buildTar([{ path: "./", type: "dir" }, { path: "./control", type: "file", content: renderControl(control(name)) }]));
  return buildAr([
    { name: "debian-binary", data: new TextEncoder().encode("2.0\n"), mtime: 0 },
    { name: "control.tar.gz", data: new Uint8Array(controlTar), mtime: 0 },
    { name: member, data, mtime: 0 },
  ]);
}

/** A package whose data.tar.<kind> is cut in half: pinned by its hash, yet it does not decompress. */
async function truncatedMember(kind: Exclude<DataCompression, "none">): Promise<FixturePackage> {
  const name = `cut-${kind}`;
  const whole = await compress(await buildTar(withParentDirs(filesOf(name))), kind);
  return { control: control(name), files: filesOf(name), debBytes: await debWithData(name, `data.tar.${kind}`, whole.subarray(0, whole.length >> 1)) };
}

const BIG_UID = 3_000_000;

beforeAll(async () => {
  if (!tools) return;
  work = await tempDir("cli-errors");
  key = await makeKey({ type: "ecc", date: KEY_DATE });
  const garbageTar = new TextEncoder().encode("this is not a tar header. ".repeat(40));
  const packages: FixturePackage[] = [
    { control: control("okpkg"), files: filesOf("okpkg") },
    await truncatedMember("xz"),
    await truncatedMember("gz"),
    await truncatedMember("zst"),
    { control: control("badtar"), files: [], debBytes: await debWithData("badtar", "data.tar", garbageTar) },
    { control: control("bigid"), files: [{ path: "./usr/share/bigid/data", type: "file", content: "big\n", uid: BIG_UID, gid: 0 }], dataCompression: "xz" },
  ];
  const common = { suites: ["stable"], architectures: ["amd64"], packages, signWith: [key], date: STABLE_DATE, signDate: signDateFor(STABLE_DATE) };
  const [built] = await Promise.all([
    compileCli(join(work, "build")),
    buildArchive({ ...common, root: join(work, "www", "good") }),
    buildArchive({ ...common, root: join(work, "www", "badindex"), faults: { undecodableIndex: "main/binary-amd64/Packages.xz" } }),
    buildArchive({ ...common, root: join(work, "www", "badrelease"), faults: { malformedRelease: true } }),
  ]);
  main = built;
  server = await serveDirectory(join(work, "www"));
}, 240_000);

afterAll(async () => {
  await server?.close();
  if (work) await removeDir(work);
});

interface Outcome {
  code: number | null;
  stderr: string;
  error: { kind: string; message: string; exitCode: number };
}

/** node main.js ARGS --json, expecting a failure: its exit code and the JSON error document. */
async function fails(args: string[]): Promise<Outcome> {
  const r = await run(process.execPath, [main, ...args, "--json"], { cwd: work, env: cleanEnv() });
  const stderr = r.stderr;
  expect(stderr).not.toContain("internal error");
  const doc = JSON.parse(r.stdout.toString("utf8")) as { ok: boolean; error: Outcome["error"] };
  expect(doc.ok).toBe(false);
  expect(doc.error.exitCode).toBe(r.code);
  return { code: r.code, stderr, error: doc.error };
}

/** A project asking for `spec` (amd64, suite stable, no dependencies unless asked). */
async function project(spec: ManifestSpec): Promise<{ dir: string; config: string; lockfile: string; cache: string }> {
  const p = await writeProject(join(work, `p${n++}`), key, { suites: ["stable"], architectures: ["amd64"], policy: "none", fileSets: {}, ...spec });
  return { ...p, cache: join(p.dir, "cache") };
}

async function lockFails(spec: ManifestSpec, variant = "good"): Promise<Outcome> {
  const p = await project(spec);
  return fails(["lock", "--config", p.config, "--lockfile", p.lockfile, "--cache", p.cache, "--mirror", `${server.url}/${variant}`]);
}

describe.skipIf(!tools)("bad input through the CLI", () => {
  it.each([
    ["cut-xz", "data.tar.xz", /xz decompression failed/],
    ["cut-gz", "data.tar.gz", /gzip decompression failed/],
    ["cut-zst", "data.tar.zst", /zstd decompression failed/],
    ["badtar", "data.tar", /malformed tar/],
  ])("a .deb whose %s member is garbage (its hash matches): exit 1 naming the .deb and the member", async (name, member, why) => {
    const { code, error } = await lockFails({ packages: [name] });
    expect([code, error.kind]).toEqual([1, "deb"]);
    expect(error.message).toContain(`${name}_1.0_all.deb: ${member}: `);
    expect(error.message).toMatch(why);
  });

  it("a .deb member owned by uid 3000000 (valid for dpkg-deb) is refused where the .deb is read: exit 1 naming package, member, field and value", async () => {
    const deb = join(work, "www", "good", "pool", "main", "b", "bigid", "bigid_1.0_all.deb");
    // The oracle: dpkg-deb lists the .deb, and GNU tar reads the member's numeric owner.
    expect((await must("dpkg-deb", ["-c", deb])).toString("utf8")).toContain("./usr/share/bigid/data");
    const owners = await must("bash", ["-o", "pipefail", "-c", 'dpkg-deb --fsys-tarfile "$0" | tar -tvf - --numeric-owner', deb]);
    expect(owners.toString("utf8")).toMatch(new RegExp(`${BIG_UID}/0 .*\\./usr/share/bigid/data`));

    const { code, error } = await lockFails({ packages: ["bigid"] });
    expect([code, error.kind]).toEqual([1, "deb"]);
    expect(error.message).toBe(`bigid_1.0_all.deb: ./usr/share/bigid/data: uid ${BIG_UID} is beyond what a layer can record (uid 0 to ${0o7777777}, ustar's limit)`);
  });

  it("an index that matches its signed hash but does not decompress: exit 1 naming its URL", async () => {
    const { code, error } = await lockFails({ packages: ["okpkg"] }, "badindex");
    expect([code, error.kind]).toEqual([1, "verification"]);
    expect(error.message).toContain(`${ARCHIVE_URL}/dists/stable/main/binary-amd64/Packages.xz`);
    expect(error.message).toMatch(/xz decompression failed/);
  });

  it("a signed Release that is not valid deb822: exit 1 naming its URL and line", async () => {
    const { code, error } = await lockFails({ packages: ["okpkg"] }, "badrelease");
    expect([code, error.kind]).toEqual([1, "verification"]);
    expect(error.message).toMatch(new RegExp(`^${ARCHIVE_URL}/dists/stable/InRelease: invalid deb822 syntax at line \\d+: expected "Field: value", got "this line is not a field"`));
  });

  it("malformed JSON in scratch.json: exit 2 naming the file, line and column", async () => {
    const p = await project({ packages: ["okpkg"] });
    await writeFile(p.config, '{\n  "sources": [,]\n}\n');
    const { code, error } = await fails(["lock", "--config", p.config, "--lockfile", p.lockfile, "--mirror", `${server.url}/good`]);
    expect([code, error.kind]).toEqual([2, "manifest"]);
    expect(error.message).toMatch(new RegExp(`^${p.config}: invalid JSON at line 2, column \\d+: `));
  });

  it("malformed JSON in scratch.lock: exit 2 naming the file, line and column", async () => {
    const lockfile = join(work, "broken.lock");
    await writeFile(lockfile, '{"lockfileVersion": "1.0.0",\n "sources": [}\n');
    const { code, error } = await fails(["layer", "--lockfile", lockfile, "--check"]);
    expect([code, error.kind]).toEqual([2, "lockfile"]);
    expect(error.message).toMatch(new RegExp(`^${lockfile}: invalid JSON at line 2, column \\d+: `));
  });

  it("a missing lock is one error, kind lockfile and exit 2, for lock --check, layer, image, audit and why", async () => {
    const p = await project({ packages: ["okpkg"] });
    const missing = join(p.dir, "missing.lock");
    const out = join(p.dir, "out");
    await mkdir(out);
    const runs: Record<string, string[]> = {
      "lock --check": ["lock", "--check", "--config", p.config, "--lockfile", missing, "--mirror", `${server.url}/good`],
      layer: ["layer", "--check", "--lockfile", missing],
      image: ["image", "--output", join(out, "img"), "--lockfile", missing],
      audit: ["audit", "--config", p.config, "--lockfile", missing],
      why: ["why", "okpkg", "--lockfile", missing],
    };
    for (const [command, args] of Object.entries(runs)) {
      const { code, error } = await fails(args);
      expect([command, code, error.kind, error.message]).toEqual([command, 2, "lockfile", `${missing}: no such lockfile`]);
    }
  });

  it("a user file set glob that takes nothing from its packages: exit 2 naming the set, the glob and the packages searched", async () => {
    const { code, error, stderr } = await lockFails({ fileSets: { tools: { packages: ["okpkg"], paths: ["/usr/share/okpkg/**", "/usr/bin/okpkg"] } } });
    expect([code, error.kind]).toEqual([2, "empty-selection"]);
    expect(error.message).toBe('file set "tools": on amd64, paths glob "/usr/bin/okpkg" takes nothing from okpkg 1.0');
    expect(stderr).toContain("hint: fix fileSets.tools.paths");
  });

  it("an exclude that removes everything a glob matches counts as taking nothing", async () => {
    const { code, error } = await lockFails({ fileSets: { tools: { packages: ["okpkg"], paths: ["/usr/share/okpkg/data"], exclude: ["/usr/share/okpkg/*"] } } });
    expect([code, error.kind]).toEqual([2, "empty-selection"]);
    expect(error.message).toContain('glob "/usr/share/okpkg/data" takes nothing from okpkg 1.0');
  });
});
