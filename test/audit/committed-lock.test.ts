/**
 * The project's own scratch.lock, audited offline from snapshots/: every file it pins (each
 * suite's signed InRelease, the amd64 and arm64 Packages.xz, the .debs) is recorded there by
 * scripts/record-snapshots.mjs, laid out as the archive is, and served to the real CLI as
 * file: mirrors. No network at all: signatures against the committed Debian keys, index hashes,
 * package hashes, and both layers rebuilt and compared with the lock. `audit --offline` runs on a
 * small lock recorded from the same snapshots (one package, one layer): it proves the same of
 * the offline mode at a fraction of the cost, and the committed lock is still audited in full once.
 * The second example, examples/bookworm (Debian 12), is only re-locked with --check from the same
 * snapshots/: its files are recorded there too, and a second full audit would cost as much again.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { cleanEnv, compileCli } from "../fixtures/cli.js";
import { readLock, removeDir, tempDir } from "../lock/helpers.js";

const ROOT = resolve(import.meta.dirname, "../..");
const RECORD = "node scripts/record-snapshots.mjs --mirror debian=URL --mirror debian-security=URL (after npm run build) to record what the lock pins";

let work: string;
let main: string;
let lock: Lockfile;

interface Report {
  ok: boolean;
  checks: Array<{ name: string; status: string; detail: string }>;
  summary: { total: number; failed: number; unavailable: number };
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [main, ...args], { cwd: ROOT, env: cleanEnv(), maxBuffer: 16 << 20 }, (e, stdout, stderr) =>
      done({ code: e ? (typeof e.code === "number" ? e.code : -1) : 0, stdout, stderr }),
    ),
  );
}

/** Each source of the lock served from its recorded directory under snapshots/. */
function snapshotMirrors(l: Lockfile = lock): string[] {
  return l.sources.flatMap((s) => ["--mirror", `${s.name}=${pathToFileURL(join(ROOT, "snapshots", s.name)).href}`]);
}

/** The check names a clean audit of `l` gives: one per release and index, per package, per layer. */
function allChecks(l: Lockfile): string[] {
  return [
    "manifest",
    "sources",
    ...l.sources.flatMap((s) => s.suites.flatMap((x) => [`release ${s.name}/${x.suite}`, `index ${s.name}/${x.suite}`])),
    ...Object.keys(l.architectures)
      .sort()
      .flatMap((a) => [...l.architectures[a]!.packages.map((p) => `package ${a}/${p.name}`), `layer ${a}`]),
  ];
}

function expectAllOk(r: { code: number; stdout: string; stderr: string }): Report {
  const report = JSON.parse(r.stdout) as Report;
  const bad = report.checks.filter((c) => c.status !== "ok");
  expect(bad, `${bad.map((c) => `${c.status} ${c.name}: ${c.detail}`).join("\n")}\n(if snapshots/ lacks a file, run ${RECORD})`).toEqual([]);
  expect(r.code, r.stderr).toBe(0);
  expect(report.ok).toBe(true);
  return report;
}

beforeAll(async () => {
  work = await tempDir("committed-audit");
  [main, lock] = await Promise.all([compileCli(join(work, "build")), readLock(join(ROOT, "scratch.lock"))]);
}, 120_000);

afterAll(async () => {
  if (work) await removeDir(work);
});

describe("the committed scratch.lock, offline from snapshots/", () => {
  const cache = () => join(work, "cache");

  it("audits clean: every release, index, package and both layers", async () => {
    const report = expectAllOk(await cli(["audit", "--json", "--cache", cache(), ...snapshotMirrors()]));
    // One check per recorded release and index, per locked package, per layer: nothing skipped.
    expect(report.checks.map((c) => c.name)).toEqual(allChecks(lock));
    expect(Object.keys(lock.architectures).sort()).toEqual(["amd64", "arm64"]);
    for (const a of ["amd64", "arm64"]) {
      expect(report.checks.find((c) => c.name === `layer ${a}`)!.detail).toContain(lock.architectures[a]!.layer.diffId);
    }
  }, 180_000);

  it("a small lock recorded from the same snapshots audits clean, then again with --offline from the cache that audit filled", async () => {
    // ca-certificates alone from bookworm-updates, amd64: the snapshot's own signed release,
    // index and .deb, and a layer with the CA bundle derived from it.
    const dir = join(work, "small");
    await mkdir(dir);
    const source = lock.sources.find((s) => s.name === "debian")!;
    const config = join(dir, "scratch.json");
    await writeFile(config, JSON.stringify({ sources: [{ name: source.name, url: source.url, suites: ["bookworm-updates"], keyring: join(ROOT, "keys/debian-archive-bookworm.asc"), allowExpired: true }], architectures: ["amd64"], fileSets: { "ca-certs": {} } }));
    const files = ["--config", config, "--lockfile", join(dir, "scratch.lock")];
    const mirror = ["--mirror", `debian=${pathToFileURL(join(ROOT, "snapshots/debian")).href}`];
    const locked = await cli(["lock", "--quiet", ...files, "--cache", join(dir, "lock-cache"), ...mirror]);
    expect(locked.code, `${locked.stderr}\n(if snapshots/ lacks a file, run ${RECORD})`).toBe(0);
    const small = await readLock(join(dir, "scratch.lock"));
    expect(Object.values(small.architectures).map((a) => a.packages.map((p) => p.name))).toEqual([["ca-certificates"]]);

    const online = expectAllOk(await cli(["audit", "--json", ...files, "--cache", join(dir, "cache"), ...mirror]));
    expect(online.checks.map((c) => c.name)).toEqual(allChecks(small));
    const report = expectAllOk(await cli(["audit", "--json", "--offline", ...files, "--cache", join(dir, "cache")]));
    expect(report.checks.map((c) => c.name)).toEqual(allChecks(small));
    expect(report.summary).toEqual({ total: report.checks.length, failed: 0, unavailable: 0 });
    expect(report.checks.find((c) => c.name === "layer amd64")!.detail).toContain(small.architectures.amd64!.layer.diffId);
  }, 180_000);

  it("is what the recorded archive resolves to: the README's first command locks with --check, through snapshots/", async () => {
    // The quickstart's own words, so that a first run can neither rewrite the lock nor fail here.
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    const first = /```sh\n([\s\S]*?)\n```/.exec(readme)![1]!.split("\n").filter((l) => !l.startsWith("npm test")).join(" ").replace(/\\\s+/g, " ");
    const lockCommand = first.split("&&").map((c) => c.trim()).find((c) => c.startsWith("npx scratch-pkgs lock "));
    expect(lockCommand, `the README's first command locks: ${first}`).toBeDefined();
    const args = lockCommand!.split(/\s+/).slice(2).map((a) => a.replace("$PWD", ROOT));
    expect(args).toContain("--check");
    expect(args.filter((a) => a.startsWith("debian") || a.startsWith("--mirror")).join(" ")).toBe(snapshotMirrors().join(" "));
    // The audit's cache: its .debs and decoded members came from the same snapshots (each
    // re-hashed on use); the releases and indexes are verified again, and resolved again.
    const r = await cli([...args, "--cache", cache()]);
    expect(r.code, `${r.stdout}${r.stderr}\n(if snapshots/ lacks a file, run ${RECORD})`).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/up to date/);
  }, 180_000);

  it("examples/bookworm, the second example, is what the recorded archive resolves to: lock --check through snapshots/", async () => {
    const dir = join(ROOT, "examples/bookworm");
    const bookworm = await readLock(join(dir, "scratch.lock"));
    expect(bookworm.sources.flatMap((s) => s.suites.map((x) => x.suite))).toEqual(["bookworm", "bookworm-updates", "bookworm-security"]);
    const files = ["--config", join(dir, "scratch.json"), "--lockfile", join(dir, "scratch.lock")];
    const r = await cli(["lock", "--check", ...files, "--cache", join(work, "bookworm-cache"), ...snapshotMirrors(bookworm)]);
    expect(r.code, `${r.stdout}${r.stderr}\n(if snapshots/ lacks a file, run ${RECORD} --lockfile examples/bookworm/scratch.lock)`).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/up to date/);
  }, 180_000);
});
