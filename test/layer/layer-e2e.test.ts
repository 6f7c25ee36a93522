// lock → layer on a generated, signed archive served on 127.0.0.1, checked with real tools:
// GNU tar extracts the layer, dpkg-deb -x extracts each .deb, gzip/zstd decompress, sha256 of
// the bytes; plus the refusals (malicious .debs, a lock altered by hand) that must leave
// nothing behind.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import picomatch from "picomatch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { PROVENANCE_PATH } from "../../src/layer/provenance.js";
import { parseProvenance } from "../../src/layer/provenance-read.js";
import { why } from "../../src/commands/why.js";
import { buildDeb, hasCommand, maliciousEntries, type MaliciousKind } from "../fixtures/deb.js";
import type { FixtureArchive } from "../fixtures/archive.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { ARCHES, LONG_PAX, LONG_SPLIT, PROJECT, WHOLE, expectedRules, layerArchive } from "./fixture.js";
import { ancestors, layerWith, lockWith, must, readDiskTree, rejection, removeDir, tempDir, writeProject, type DiskEntry } from "./helpers.js";

const tools = ["tar", "dpkg-deb", "gzip", "zstd", "xz"].every((t) => hasCommand(t));
const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

let work: string;
let server: TestServer;
let archive: FixtureArchive;
let www: string;
let project: { dir: string; config: string; lockfile: string; cache: string };
let lock: Lockfile;
let armoredKey: string;
const mirror = () => [`${server.url}`];

beforeAll(async () => {
  if (!tools) return;
  work = await tempDir("e2e");
  const made = await layerArchive(work);
  archive = made.archive;
  www = made.www;
  armoredKey = made.key.armoredPublicKey;
  server = await serveDirectory(www);
  project = await writeProject(join(work, "project"), armoredKey, PROJECT);
  const r = await lockWith({ ...project, mirrors: mirror() });
  lock = r.lock;
});

afterAll(async () => {
  await server?.close();
  await removeDir(work);
});

/** Extracts a tar with GNU tar (as root: owners and modes as recorded). */
async function extract(tarFile: string, into: string): Promise<Map<string, DiskEntry>> {
  await mkdir(into, { recursive: true });
  await must("tar", ["-x", "--numeric-owner", "-f", tarFile, "-C", into]);
  return readDiskTree(into);
}

/**
 * dpkg-deb -x of a .deb; it does not keep owners (it extracts with --no-same-owner), so the
 * owners come from GNU tar extracting dpkg-deb --fsys-tarfile's stream as root.
 */
async function dpkgExtract(deb: string, into: string): Promise<Map<string, DiskEntry>> {
  await must("dpkg-deb", ["-x", deb, into]);
  const tree = readDiskTree(into);
  const owned = into + "-owners";
  await mkdir(owned);
  await must("sh", ["-c", 'dpkg-deb --fsys-tarfile "$1" | tar -x --same-owner --numeric-owner -f - -C "$2"', "sh", deb, owned]);
  const owners = readDiskTree(owned);
  for (const [p, e] of tree) Object.assign(e, { uid: owners.get(p)!.uid, gid: owners.get(p)!.gid });
  return tree;
}

const isRoot = process.getuid?.() === 0;

describe.skipIf(!tools)("layer from a generated archive", () => {
  it("the lock records the selection rules the manifest asks for", () => {
    for (const arch of ARCHES) {
      const pkgs = lock.architectures[arch]!.packages;
      expect(pkgs.map((p) => p.name)).toEqual([...WHOLE, "selpkg"].sort());
      for (const p of pkgs) expect(p.select.map(({ include, exclude }) => ({ include, exclude })), p.name).toEqual(expectedRules(p.name));
    }
  });

  it("every selected file, link, dir and mode equals what dpkg-deb -x extracts; nothing else comes from the packages", async () => {
    const out = join(work, "out-compare");
    await mkdir(out);
    const results = await layerWith({ lockfile: project.lockfile, cache: project.cache, mirrors: mirror(), output: join(out, "layer-{arch}.tar") });
    expect(results.map((r) => r.arch)).toEqual(ARCHES);
    for (const arch of ARCHES) {
      const tarFile = join(out, `layer-${arch}.tar`);
      const locked = lock.architectures[arch]!;
      expect("sha256:" + sha256(await readFile(tarFile))).toBe(locked.layer.diffId);
      const layer = await extract(tarFile, join(out, `x-${arch}`));
      const prov = parseProvenance(await readFile(tarFile + ".provenance.jsonl", "utf8"), tarFile + ".provenance.jsonl");
      const originOf = new Map(prov.entries.map((e) => [e.path, e.origin]));

      // Every entry carries the lock's SOURCE_DATE_EPOCH as its mtime.
      for (const [p, e] of layer) if (e.type !== "symlink") expect(e.mtime, p).toBe(lock.sourceDateEpoch);

      const seenFromPackages = new Set<string>();
      for (const pkg of locked.packages) {
        const deb = archive.debs.get(`${pkg.name}_${pkg.version}_${pkg.architecture}`)!;
        expect(deb.sha256).toBe(pkg.sha256);
        const ref = await dpkgExtract(deb.absPath, join(out, `deb-${arch}-${pkg.name}`));
        const rules = expectedRules(pkg.name).map((r) => ({ inc: picomatch(r.include, { dot: true }), exc: picomatch(r.exclude, { dot: true }) }));
        const take = (p: string) => rules.some((r) => r.inc(p) && !(r.exc as (s: string) => boolean)(p));
        const takenFiles = [...ref.keys()].filter((p) => ref.get(p)!.type !== "dir" && take(p));
        const neededDirs = new Set(takenFiles.flatMap(ancestors));
        expect(takenFiles.length, pkg.name).toBeGreaterThan(0);

        for (const [p, want] of ref) {
          const got = layer.get(p);
          const origin = originOf.get(p);
          const fromHere = origin?.kind === "package" && origin.package === pkg.name;
          const selected = want.type === "dir" ? neededDirs.has(p) || take(p) : take(p);
          if (!selected) {
            expect(fromHere, `${pkg.name}: ${p} is not selected but is in the layer`).toBe(false);
            continue;
          }
          expect(got, `${pkg.name}: ${p} is selected but missing`).toBeDefined();
          expect(got!.type, p).toBe(want.type);
          if (want.type === "dir" && !fromHere) continue; // an earlier package's (or a parent made before it)
          if (fromHere) seenFromPackages.add(p);
          if (want.type === "symlink") {
            expect(got!.target, p).toBe(want.target);
            continue;
          }
          expect({ p, mode: got!.mode.toString(8), uid: got!.uid, gid: got!.gid }).toEqual({ p, mode: want.mode.toString(8), uid: want.uid, gid: want.gid });
          if (want.type === "file") expect(got!.content!.equals(want.content!), `${p} content`).toBe(true);
        }
        // Hard links: the taken paths that share an inode in dpkg's tree share one in the layer.
        const groups = new Map<number, string[]>();
        for (const p of takenFiles) if (ref.get(p)!.type === "file") groups.set(ref.get(p)!.ino, [...(groups.get(ref.get(p)!.ino) ?? []), p]);
        const layerGroupOf = (p: string) => takenFiles.filter((q) => layer.get(q)?.type === "file" && layer.get(q)!.ino === layer.get(p)!.ino).sort();
        for (const g of groups.values()) for (const p of g) expect(layerGroupOf(p), p).toEqual([...g].sort());
      }

      // The converse: every path the provenance puts on a package was checked above.
      for (const e of prov.entries) {
        if (e.origin.kind === "package") expect(seenFromPackages.has(e.path), `${e.path} from ${e.origin.package}`).toBe(true);
        else if (e.origin.kind === "implicit") expect(layer.get(e.path)).toMatchObject({ type: "dir", mode: 0o755, uid: 0, gid: 0 });
      }
      // Spot checks of the cases the fixture was built for.
      const paths = [...layer.keys()];
      // Of the docs, only the copyright files (and their directories) are there.
      expect(paths.filter((p) => p.startsWith("/usr/share/man"))).toEqual([]);
      const docs = paths.filter((p) => p.startsWith("/usr/share/doc"));
      expect(docs.filter((p) => !/^\/usr\/share\/doc(\/[^/]+(\/copyright)?)?$/.test(p))).toEqual([]);
      expect(docs).toEqual(expect.arrayContaining(["/usr/share/doc/kinds/copyright", "/usr/share/doc/selpkg/copyright"]));
      expect(layer.get(LONG_SPLIT.slice(1))?.type).toBe("file");
      expect(layer.get(LONG_PAX.slice(1))?.type).toBe("file");
      expect(layer.get("/usr/share/kinds/longtarget")?.target).toBe(LONG_SPLIT.slice(1));
      expect(layer.get("/usr/bin/aaa-hard")!.ino).toBe(layer.get("/usr/bin/tool")!.ino);
      expect(layer.get("/usr/share/kinds/short-hard")!.ino).toBe(layer.get(LONG_SPLIT.slice(1))!.ino);
      // the hard link whose target the set does not take became that file, bytes and mode
      expect(layer.get("/usr/lib/sel/link")).toMatchObject({ type: "file", mode: 0o750, content: Buffer.from("hard link target outside the selection\n") });
      expect(layer.has("/opt/sel/target")).toBe(false);
      expect(layer.has("/usr/lib/sel/skip/dropped")).toBe(false);
      expect(layer.has("/etc/other.conf")).toBe(false);
      expect(layer.get("/usr/share/common/shared")).toMatchObject({ type: "file", content: Buffer.from("same\n") });
      if (isRoot) expect(layer.get("/var/lib/kinds")).toMatchObject({ mode: 0o2775, gid: 50 });
    }
  });

  it("the provenance beside the output equals the copy inside the tar, lists every path of the tar and matches the lock", async () => {
    const out = join(work, "out-prov");
    await mkdir(out);
    await layerWith({ lockfile: project.lockfile, cache: project.cache, mirrors: mirror(), arches: ["amd64"], output: join(out, "l.tar") });
    const beside = await readFile(join(out, "l.tar.provenance.jsonl"));
    const inside = await must("tar", ["-xOf", join(out, "l.tar"), PROVENANCE_PATH.slice(1)]);
    expect(inside.equals(beside)).toBe(true);
    const layer = lock.architectures.amd64!.layer;
    expect("sha256:" + sha256(beside)).not.toBe(layer.diffId);
    expect(sha256(beside)).toBe(layer.provenance.sha256);
    expect(layer.provenance.path).toBe(PROVENANCE_PATH);

    const listed = (await must("tar", ["-tf", join(out, "l.tar")])).toString("utf8").split("\n").filter(Boolean).map((n) => "/" + n.replace(/\/$/, ""));
    const prov = parseProvenance(beside.toString("utf8"), "l.tar.provenance.jsonl");
    expect(prov.entries.length).toBe(layer.provenance.entries);
    // every path of the tar but the manifest itself, once, in the tar's (byte) order
    expect(prov.entries.map((e) => e.path)).toEqual(listed.filter((p) => p !== PROVENANCE_PATH));
    expect(listed).toContain(PROVENANCE_PATH);
    // each entry describes the bytes the tar holds
    const tree = await extract(join(out, "l.tar"), join(out, "x"));
    for (const e of prov.entries) {
      const d = tree.get(e.path)!;
      expect(d.type === "file" ? "file" : d.type, e.path).toBe(e.type === "hardlink" ? "file" : e.type);
      if (e.sha256 !== undefined) expect(sha256(d.content!), e.path).toBe(e.sha256);
      if (e.type !== "symlink") expect(d.mode.toString(8).padStart(4, "0"), e.path).toBe(e.mode);
    }
    // and its derivation lines are the lock's derivations
    expect(prov.derivations).toEqual(lock.architectures.amd64!.derivations);

    // gzpkg and zstpkg ship /usr/share/common/shared with the same bytes (the fixture): both are named.
    const shared = prov.entries.find((e) => e.path === "/usr/share/common/shared")!;
    const provider = (name: string, version: string) => ({ kind: "package", package: name, version, architecture: "all", member: "./usr/share/common/shared" });
    expect([shared.origin, ...(shared.alsoFrom ?? [])]).toEqual([provider("gzpkg", "2:0.5"), provider("zstpkg", "3.1~rc1")]);
    const ans = why(lock, "/usr/share/common/shared", "amd64", new Map([["amd64", prov]]));
    expect(ans.matches.map((m) => [m.package, m.version, m.members, m.sets])).toEqual([
      ["gzpkg", "2:0.5", ["./usr/share/common/shared"], ["packages"]],
      ["zstpkg", "3.1~rc1", ["./usr/share/common/shared"], ["packages"]],
    ]);
    // with the manifest, a path the rules would take but no package ships is not in the layer
    expect(why(lock, "/usr/share/common/nothing", "amd64", new Map([["amd64", prov]])).matches).toEqual([]);
    expect(() => why(lock, "/usr/share/common/nothing", "amd64")).toThrow(/provenance manifest of layer amd64 is needed/);
  });

  it("--compress gzip and zstd: the blobs hash to the lock's digests and decompress to the tar whose sha256 is the diff_id", async () => {
    const out = join(work, "out-compress");
    await mkdir(out);
    for (const [kind, tool] of [["gzip", "gzip"], ["zstd", "zstd"]] as const) {
      const file = join(out, `layer.tar.${kind}`);
      const [r] = await layerWith({ lockfile: project.lockfile, cache: project.cache, mirrors: mirror(), arches: ["arm64"], compress: kind, output: file });
      const want = lock.architectures.arm64!.layer;
      const blob = await readFile(file);
      expect("sha256:" + sha256(blob)).toBe(want.compressed[kind]!.digest);
      expect(blob.length).toBe(want.compressed[kind]!.size);
      expect(r!.digest).toBe(want.compressed[kind]!.digest);
      const plain = await must(tool, ["-dc"], { input: blob });
      expect("sha256:" + sha256(plain)).toBe(want.diffId);
      expect(plain.length).toBe(want.size);
    }
  });

  it("--check passes on the lock as made and exits 1 when its diff_id, a derivation output or the gzip digest is altered; it writes nothing", async () => {
    const out = join(work, "out-check");
    await mkdir(out);
    const ok = await layerWith({ lockfile: project.lockfile, cache: project.cache, mirrors: mirror(), check: true, output: join(out, "never-{arch}.tar") });
    expect(ok.every((r) => r.matchesLock && r.output === undefined)).toBe(true);
    const okGzip = await layerWith({ lockfile: project.lockfile, cache: project.cache, mirrors: mirror(), check: true, compress: "gzip" });
    expect(okGzip[0]!.digest).toBe(lock.architectures.amd64!.layer.compressed.gzip!.digest);

    const flip = (hex: string) => hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");
    const alterations: Array<[string, (l: Lockfile) => void, RegExp, "none" | "gzip"]> = [
      ["diff_id", (l) => void (l.architectures.arm64!.layer.diffId = flip(l.architectures.arm64!.layer.diffId)), /arm64.*diff_id/s, "none"],
      [
        "derivation output",
        (l) => {
          const d = l.architectures.amd64!.derivations.find((x) => x.recipe === "dpkg-status")!;
          d.outputs[0]!.sha256 = flip(d.outputs[0]!.sha256);
        },
        /amd64.*derivation dpkg-status 1 differs \(outputs: \/var\/lib\/dpkg\/status\.d\/gzpkg\)/s,
        "none",
      ],
      ["gzip digest", (l) => void (l.architectures.amd64!.layer.compressed.gzip!.digest = flip(l.architectures.amd64!.layer.compressed.gzip!.digest)), /gzip digest/, "gzip"],
    ];
    for (const [what, alter, message, compress] of alterations) {
      const altered = JSON.parse(await readFile(project.lockfile, "utf8")) as Lockfile;
      alter(altered);
      const file = join(out, `altered.lock`);
      await writeFile(file, JSON.stringify(altered, null, 2) + "\n");
      for (const check of [true, false]) {
        const e = await rejection(layerWith({ lockfile: file, cache: project.cache, mirrors: mirror(), check, compress, output: join(out, "l-{arch}.tar") }));
        expect(e.exitCode, what).toBe(1);
        expect(e.message, what).toMatch(message);
      }
    }
    expect(await readdir(out)).toEqual(["altered.lock"]);
  });

  it("a refused architecture leaves no layer of the other architectures behind either", async () => {
    const out = join(work, "out-partial");
    await mkdir(out);
    const altered = JSON.parse(await readFile(project.lockfile, "utf8")) as Lockfile;
    altered.architectures.arm64!.layer.diffId = "sha256:" + "0".repeat(64);
    await writeFile(join(work, "partial.lock"), JSON.stringify(altered));
    const e = await rejection(layerWith({ lockfile: join(work, "partial.lock"), cache: project.cache, mirrors: mirror(), output: join(out, "{arch}.tar") }));
    expect(e.exitCode).toBe(1);
    expect(await readdir(out)).toEqual([]);
  });

  describe("malicious .debs are refused (exit 1) and nothing is written", () => {
    const kinds: MaliciousKind[] = ["dotdot", "absolute", "symlinkEscape", "relativeSymlinkEscape", "hardlinkEscape", "deviceNodes"];
    const says: Record<MaliciousKind, RegExp> = {
      dotdot: /\.\.\/escaped|\.\./,
      absolute: /\/etc\/passwd/,
      symlinkEscape: /\/etc\/x\/passwd.*\/etc\/x/s,
      relativeSymlinkEscape: /\/usr\/up\/etc\/passwd.*\/usr\/up/s,
      hardlinkEscape: /shadow/,
      deviceNodes: /fifo|device/,
    };
    let evil: { lockfile: string; cache: string; lock: Lockfile; pool: string };

    beforeAll(async () => {
      if (!tools) return;
      // A lock of an innocent package; each case then serves a malicious .deb at its URL and
      // puts that .deb's sha256 and size in a copy of the lock, as a tampered lock would.
      const p = await writeProject(join(work, "evil"), armoredKey, { architectures: ["amd64"], policy: "none", packages: ["plainpkg"] });
      const r = await lockWith({ ...p, mirrors: mirror() });
      const pkg = r.lock.architectures.amd64!.packages[0]!;
      evil = { lockfile: p.lockfile, cache: p.cache, lock: r.lock, pool: pkg.url.slice(r.lock.sources[0]!.url.length + 1) };
    });

    for (const kind of kinds) {
      it(kind, async () => {
        const bytes = await buildDeb({ control: { Package: "plainpkg", Version: "1", Architecture: "all", Maintainer: "m <m@test.invalid>", Description: "evil" }, files: maliciousEntries(kind), exactFiles: true, dataCompression: "gz" });
        const root = join(work, `www-evil-${kind}`);
        await mkdir(join(root, evil.pool, ".."), { recursive: true });
        await writeFile(join(root, evil.pool), bytes);
        const s = await serveDirectory(root);
        try {
          const altered = structuredClone(evil.lock);
          Object.assign(altered.architectures.amd64!.packages[0]!, { sha256: sha256(bytes), size: bytes.length });
          delete altered.architectures.amd64!.packages[0]!.decoded; // as a tamperer would, or the decoded-digest check refuses it first
          const lockfile = join(work, `evil-${kind}.lock`);
          await writeFile(lockfile, JSON.stringify(altered));
          const out = join(work, `out-evil-${kind}`);
          await mkdir(out);
          const e = await rejection(layerWith({ lockfile, cache: evil.cache, mirrors: [s.url], output: join(out, "layer.tar") }));
          expect(e.exitCode, e.message).toBe(1);
          expect(e.message).toContain("plainpkg");
          expect(e.message).toMatch(says[kind]);
          expect(await readdir(out)).toEqual([]);
        } finally {
          await s.close();
        }
      });
    }
  });
});
