// `scratch-pkgs layer` on the real command line (a private tsc build of the CLI): --json, exit
// codes, and byte-identical layers whatever the TZ, locale, umask, working directory and cache.
import { createHash } from "node:crypto";
import { copyFile, cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { buildDeb, hasCommand, maliciousEntries } from "../fixtures/deb.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { ARCHES, PROJECT, layerArchive } from "./fixture.js";
import { cleanEnv, compileCli, removeDir, run, tempDir, writeProject, type Run } from "./helpers.js";
import { replay } from "../fixtures/vt-screen.js";

const tools = ["cmp", "gzip", "zstd", "xz"].every((t) => hasCommand(t));
const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

let work: string;
let main: string;
let server: TestServer;
let project: { dir: string; config: string; lockfile: string; cache: string };
let lock: Lockfile;

/** node bin.js ARGS in `cwd`, under `umask`, with `env` added to a clean environment. */
function cli(args: string[], o: { cwd?: string; env?: Record<string, string>; umask?: string } = {}): Promise<Run> {
  const script = `umask ${o.umask ?? "022"}; exec "$0" "$@"`;
  return run("sh", ["-c", script, process.execPath, main, ...args], { cwd: o.cwd ?? work, env: cleanEnv(o.env) });
}

beforeAll(async () => {
  if (!tools) return;
  work = await tempDir("cli");
  const [built, made] = await Promise.all([compileCli(join(work, "build")), layerArchive(work)]);
  main = built;
  server = await serveDirectory(made.www);
  project = await writeProject(join(work, "project"), made.key.armoredPublicKey, PROJECT);
  const r = await cli(["lock", "--config", project.config, "--lockfile", project.lockfile, "--mirror", server.url, "--cache", project.cache, "--quiet"]);
  if (r.code !== 0) throw new Error(`set-up lock failed (${r.code}): ${r.stderr}`);
  lock = JSON.parse(await readFile(project.lockfile, "utf8")) as Lockfile;
});

afterAll(async () => {
  await server?.close();
  await removeDir(work);
});

const layerArgs = (...more: string[]) => ["layer", "--lockfile", project.lockfile, "--mirror", server.url, "--cache", project.cache, ...more];

/** A word for sh -c. */
const shq = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

describe.skipIf(!tools || !hasCommand("script"))("progress on a terminal (a pseudo-terminal made by util-linux script)", () => {
  it("names each phase and the mirror used, and the final screen holds the full result lines and nothing else", async () => {
    const dir = join(work, "tty");
    await mkdir(dir);
    const lockfile = join(dir, "scratch.lock");
    const out = join(dir, "amd64.tar.gz");
    const COLUMNS = 120;
    const cmd = (args: string[]) => [process.execPath, main, ...args].map(shq).join(" ");
    // A cold lock and a cold layer, each with an empty cache, so every phase has work to show.
    const script = [
      `stty cols ${COLUMNS} rows 40`,
      cmd(["lock", "--config", project.config, "--lockfile", lockfile, "--mirror", server.url, "--cache", join(dir, "lock-cache")]),
      cmd(["layer", "--lockfile", lockfile, "--arch", "amd64", "--compress", "gzip", "--mirror", server.url, "--cache", join(dir, "layer-cache"), "--output", out]),
    ].join(" && ");
    const r = await run("script", ["-q", "-e", "-c", script, "/dev/null"], { cwd: work, env: cleanEnv({ SHELL: "/bin/sh" }) });
    const stream = r.stdout.toString("utf8");
    expect(r.code, stream).toBe(0);

    const made = JSON.parse(await readFile(lockfile, "utf8")) as Lockfile;
    const counts = ARCHES.map((a) => `${a} ${made.architectures[a]!.packages.length} packages`).join(", ");
    const amd64 = made.architectures.amd64!.layer;
    expect(replay(stream, COLUMNS)).toEqual({
      lines: [
        `${lockfile} written (${counts})`,
        `amd64: diff_id ${amd64.diffId} (${amd64.size} bytes), gzip ${amd64.compressed.gzip!.digest} (${amd64.compressed.gzip!.size} bytes) → ${out}`,
      ],
      wrapOff: false,
    });
    for (const phase of ["fetching releases", "decoding the amd64 indexes", "resolving amd64", "building the amd64 layer", "compressing the amd64 layer", "decoding the arm64 indexes", "building the arm64 layer (", `building the amd64 layer (${made.architectures.amd64!.packages.length} packages, gzip)`]) {
      expect(stream).toContain(phase);
    }
    // The mirror that served the files, never the manifest's URL (which is not fetched from).
    expect(stream).toMatch(new RegExp(`\\d+/\\d+ files, [^\\r]* from ${server.url.replace(/[.]/g, "\\.")}`));
    expect(stream).not.toContain("archive.test.invalid");
  });
});

describe.skipIf(!tools)("scratch-pkgs layer (CLI)", () => {
  it("--json prints one JSON document on stdout, with the lock's digests", async () => {
    const out = join(work, "json");
    await mkdir(out);
    const r = await cli(layerArgs("--output", join(out, "{arch}.tar.zst"), "--compress", "zstd", "--json"));
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout.toString("utf8")) as { ok: boolean; layers: Array<{ arch: string; diffId: string; digest: string; output: string }> };
    expect(doc.ok).toBe(true);
    expect(doc.layers.map((l) => l.arch)).toEqual(ARCHES);
    for (const l of doc.layers) {
      expect(l.diffId).toBe(lock.architectures[l.arch]!.layer.diffId);
      expect(l.digest).toBe(lock.architectures[l.arch]!.layer.compressed.zstd!.digest);
      expect("sha256:" + sha256(await readFile(l.output))).toBe(l.digest);
    }
    // --check --json: one document too, and nothing written
    const c = await cli(layerArgs("--check", "--json", "--arch", "arm64"));
    expect(c.code, c.stderr).toBe(0);
    expect((JSON.parse(c.stdout.toString("utf8")) as { layers: unknown[] }).layers).toHaveLength(1);
  });

  it("exit codes: 1 for a lock the layer does not match and for a malicious .deb (nothing written), 2 without --output or --check", async () => {
    const out = join(work, "codes");
    await mkdir(out);
    const altered = structuredClone(lock);
    altered.architectures.amd64!.layer.diffId = "sha256:" + "1".repeat(64);
    await writeFile(join(work, "altered.lock"), JSON.stringify(altered));
    const check = await cli(["layer", "--lockfile", join(work, "altered.lock"), "--mirror", server.url, "--cache", project.cache, "--check"]);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain("diff_id");
    expect(check.stdout.length).toBe(0);

    // a lock that pins a .deb whose data.tar writes through its own symlink
    const bytes = await buildDeb({ control: { Package: "plainpkg", Version: "1", Architecture: "all", Maintainer: "m <m@test.invalid>", Description: "evil" }, files: maliciousEntries("symlinkEscape"), exactFiles: true, dataCompression: "xz" });
    const pkg = lock.architectures.amd64!.packages.find((p) => p.name === "plainpkg")!;
    const rel = pkg.url.slice(lock.sources[0]!.url.length + 1);
    const evilRoot = join(work, "www-evil");
    await mkdir(join(evilRoot, rel, ".."), { recursive: true });
    await writeFile(join(evilRoot, rel), bytes);
    const evilServer = await serveDirectory(evilRoot);
    try {
      const evil = structuredClone(lock);
      const target = evil.architectures.amd64!.packages.find((p) => p.name === "plainpkg")!;
      Object.assign(target, { sha256: sha256(bytes), size: bytes.length });
      delete target.decoded; // as a tamperer would, or the decoded-digest check refuses it first
      await writeFile(join(work, "evil.lock"), JSON.stringify(evil));
      // The project's cache without the layers kept there: layer would copy the one the lock's
      // digests name without reading any .deb (README, Trust).
      const evilCache = join(work, "evil-cache");
      await cp(project.cache, evilCache, { recursive: true });
      const kept = [evil.architectures.amd64!.layer.diffId, ...Object.values(evil.architectures.amd64!.layer.compressed).map((c) => c.digest)];
      for (const digest of kept) await rm(join(evilCache, "sha256", digest.slice(7, 9), digest.slice(7)), { force: true });
      const r = await cli(["layer", "--lockfile", join(work, "evil.lock"), "--mirror", evilServer.url, "--cache", evilCache, "--arch", "amd64", "--output", join(out, "layer.tar")]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain("/etc/x/passwd");
    } finally {
      await evilServer.close();
    }
    expect(await readdir(out)).toEqual([]);

    const usage = await cli(layerArgs());
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--output");
  });

  it("the same lock gives byte-identical layers whatever the TZ, locale, umask, working directory and cache", async () => {
    const a = join(work, "det-a");
    const b = join(work, "det-b");
    await mkdir(a);
    await mkdir(join(b, "out"), { recursive: true });
    // run B reads the lock through a relative path from another directory
    await copyFile(project.lockfile, join(b, "scratch.lock"));
    for (const compress of ["none", "gzip", "zstd"]) {
      const name = `layer-{arch}.${compress}`;
      // A: warm cache, UTC, C locale, umask 022, absolute paths
      const ra = await cli(layerArgs("--output", join(a, name), "--compress", compress, "--quiet"), { cwd: a, env: { TZ: "UTC", LC_ALL: "C", LANG: "C" }, umask: "022" });
      expect(ra.code, ra.stderr).toBe(0);
      // B: a fresh cache (everything fetched again from the server), another zone, locale and umask, relative paths
      const before = server.requests.length;
      const cache = `cache-${compress}`;
      const rb = await cli(["layer", "--lockfile", "scratch.lock", "--mirror", server.url, "--cache", cache, "--output", join("out", name), "--compress", compress, "--quiet"], {
        cwd: b,
        env: { TZ: "Pacific/Chatham", LC_ALL: "C.UTF-8", LANG: "tr_TR.UTF-8", LANGUAGE: "tr" },
        umask: "077",
      });
      expect(rb.code, rb.stderr).toBe(0);
      const fetched = new Set(server.requests.slice(before).filter((p) => p.endsWith(".deb")));
      const pinned = new Set(ARCHES.flatMap((x) => lock.architectures[x]!.packages.map((p) => p.url.slice(lock.sources[0]!.url.length))));
      expect([...fetched].sort()).toEqual([...pinned].sort());
      expect((await readdir(join(b, cache))).length).toBeGreaterThan(0);
      for (const arch of ARCHES) {
        const fa = join(a, name.replace("{arch}", arch));
        const fb = join(b, "out", name.replace("{arch}", arch));
        for (const [x, y] of [[fa, fb], [fa + ".provenance.jsonl", fb + ".provenance.jsonl"]] as const) {
          const c = await run("cmp", [x, y]);
          expect(c.code, `cmp ${x} ${y}: ${c.stdout.toString()}`).toBe(0);
        }
        const want = lock.architectures[arch]!.layer;
        expect("sha256:" + sha256(await readFile(fa))).toBe(compress === "none" ? want.diffId : want.compressed[compress]!.digest);
      }
    }
  });

  it("why names every package that ships a path, from the provenance manifest lock keeps in the cache", async () => {
    const r = await cli(["why", "/usr/share/common/shared", "--lockfile", project.lockfile, "--cache", project.cache, "--arch", "amd64"]);
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString("utf8")).toBe(
      "amd64: gzpkg 2:0.5 ships it as ./usr/share/common/shared (file sets: packages)\n  packages[1]\n" +
        "amd64: zstpkg 3.1~rc1 ships it as ./usr/share/common/shared (file sets: packages)\n  packages[2]\n",
    );
    // With a cache that lacks the manifest, the one `layer` wrote beside the layer (the first test's) answers alike.
    const empty = join(work, "why-empty-cache");
    const given = await cli(["why", "/usr/share/common/shared", "--lockfile", project.lockfile, "--cache", empty, "--arch", "amd64", "--provenance", join(work, "json", "amd64.tar.zst.provenance.jsonl")]);
    expect({ code: given.code, stdout: given.stdout.toString("utf8") }).toEqual({ code: 0, stdout: r.stdout.toString("utf8") });
    // Without any, the selection rules are no answer: exit 2, saying where the manifest comes from.
    const none = await cli(["why", "/usr/share/common/shared", "--lockfile", project.lockfile, "--cache", empty]);
    expect(none.code).toBe(2);
    expect(none.stdout.toString("utf8")).toBe("");
    expect(none.stderr).toMatch(/the provenance manifest of layer amd64 \(sha256 [0-9a-f]{64}\) is neither in the cache .* nor given with --provenance/);
    expect(none.stderr).toMatch(/hint: run scratch-pkgs lock .* or pass --provenance FILE/);
  });
});
