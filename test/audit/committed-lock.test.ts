/**
 * The project's own scratch.lock, audited offline from snapshots/: every file it pins (each
 * suite's signed InRelease, the amd64 and arm64 Packages.xz, the .debs) is recorded there by
 * scripts/record-snapshots.mjs, laid out as the archive is, and served to the real CLI as
 * file: mirrors. No network at all: signatures against the committed Debian keys, index hashes,
 * package hashes, and both layers rebuilt and compared with the lock.
 */
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { cleanEnv, compileCli } from "../fixtures/cli.js";
import { readLock, removeDir, tempDir } from "../lock/helpers.js";

const ROOT = resolve(import.meta.dirname, "../..");
const RECORD = "node scripts/record-snapshots.mjs --apt-sources (after npm run build) to record what the lock pins";

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
function snapshotMirrors(): string[] {
  return lock.sources.flatMap((s) => ["--mirror", `${s.name}=${pathToFileURL(join(ROOT, "snapshots", s.name)).href}`]);
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
    const expected = [
      "manifest",
      "sources",
      ...lock.sources.flatMap((s) => s.suites.flatMap((x) => [`release ${s.name}/${x.suite}`, `index ${s.name}/${x.suite}`])),
      ...Object.keys(lock.architectures)
        .sort()
        .flatMap((a) => [...lock.architectures[a]!.packages.map((p) => `package ${a}/${p.name}`), `layer ${a}`]),
    ];
    expect(report.checks.map((c) => c.name)).toEqual(expected);
    expect(Object.keys(lock.architectures).sort()).toEqual(["amd64", "arm64"]);
    for (const a of ["amd64", "arm64"]) {
      expect(report.checks.find((c) => c.name === `layer ${a}`)!.detail).toContain(lock.architectures[a]!.layer.diffId);
    }
  }, 180_000);

  it("audits clean again with --offline, from the cache the first audit filled", async () => {
    const report = expectAllOk(await cli(["audit", "--json", "--offline", "--cache", cache()]));
    expect(report.summary).toEqual({ total: report.checks.length, failed: 0, unavailable: 0 });
    expect(report.checks.filter((c) => c.name.startsWith("layer ")).map((c) => c.status)).toEqual(["ok", "ok"]);
  }, 180_000);

  it("is what the recorded archive resolves to (lock --check)", async () => {
    const r = await cli(["lock", "--check", "--cache", join(work, "lock-cache"), ...snapshotMirrors()]);
    expect(r.code, `${r.stdout}${r.stderr}\n(if snapshots/ lacks a file, run ${RECORD})`).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/up to date/);
  }, 180_000);
});
