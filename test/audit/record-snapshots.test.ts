/**
 * scripts/record-snapshots.mjs, the way snapshots/ is kept in step with a lock: it records
 * every file the lock pins (fetched and verified by the tool) and the suite's Contents indexes,
 * laid out as the archive is; a second run keeps what is already right and replaces what is
 * not; and the recorded directory serves `audit` as a file: mirror with no network. The archive here is the recorded
 * bookworm-updates snapshot, served on 127.0.0.1.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { cleanEnv, compileCli } from "../fixtures/cli.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { readLock, removeDir, tempDir } from "../lock/helpers.js";

const ROOT = resolve(import.meta.dirname, "../..");

let work: string;
let server: TestServer;
let main: string;
let script: string;
let lock: Lockfile;
let pinned: Array<{ rel: string; sha256: string }>;

function node(args: string[], cwd = work): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, args, { cwd, env: cleanEnv(), maxBuffer: 16 << 20 }, (e, stdout, stderr) => done({ code: e ? (typeof e.code === "number" ? e.code : -1) : 0, stdout, stderr })),
  );
}

const sha256 = async (file: string): Promise<string> => createHash("sha256").update(await readFile(file)).digest("hex");
const out = () => join(work, "recorded");
const record = () => node([script, "--lockfile", join(work, "scratch.lock"), "--out", out(), "--mirror", server.url, "--cache", join(work, "record-cache")]);

beforeAll(async () => {
  work = await tempDir("record-snapshots");
  server = await serveDirectory(join(ROOT, "snapshots/debian"));
  main = await compileCli(join(work, "build"));
  // The script finds the program in ../dist beside it, as in the repository.
  await mkdir(join(work, "build/scripts"));
  script = join(work, "build/scripts/record-snapshots.mjs");
  await copyFile(join(ROOT, "scripts/record-snapshots.mjs"), script);
  await writeFile(
    join(work, "scratch.json"),
    JSON.stringify({
      sources: [{ name: "debian", url: "https://archive.test.invalid/snapshot/debian", suites: ["bookworm-updates"], keyring: join(ROOT, "keys/debian-archive-bookworm.asc"), allowExpired: true }],
      architectures: ["amd64"],
      fileSets: { "ca-certs": {} },
    }),
  );
  const locked = await node([main, "lock", "--mirror", server.url, "--cache", join(work, "lock-cache")]);
  expect(locked.code, locked.stderr).toBe(0);
  lock = await readLock(join(work, "scratch.lock"));
  const suite = lock.sources[0]!.suites[0]!;
  const release = await readFile(join(ROOT, "snapshots/debian/dists", suite.suite, "InRelease"), "utf8");
  pinned = [
    { rel: `dists/${suite.suite}/${suite.release.path}`, sha256: suite.release.sha256 },
    ...suite.indexes.map((i) => ({ rel: `dists/${suite.suite}/${i.path}`, sha256: i.sha256 })),
    // Contents (recorded for bookworm-updates by default): pinned by the release's SHA256 list, read here with a regex.
    ...["main/Contents-amd64.gz", "main/Contents-all.gz"].map((path) => {
      const sha = new RegExp(`^ ([0-9a-f]{64}) +\\d+ ${path.replace(/\./g, "\\.")}$`, "m").exec(release)?.[1];
      return { rel: `dists/${suite.suite}/${path}`, sha256: sha! };
    }),
    ...lock.architectures.amd64!.packages.map((p) => ({ rel: p.url.slice(lock.sources[0]!.url.length + 1), sha256: p.sha256 })),
  ];
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (work) await removeDir(work);
});

describe("scripts/record-snapshots.mjs", () => {
  it("records every pinned file under <out>/<source>/, byte for byte", async () => {
    const r = await record();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${pinned.length} written, 0 already recorded, ${pinned.length} files`);
    for (const f of pinned) expect(await sha256(join(out(), "debian", f.rel)), f.rel).toBe(f.sha256);
  });

  it("keeps what is recorded and replaces a file that no longer matches the lock", async () => {
    const again = await record();
    expect(again.stdout).toContain(`0 written, ${pinned.length} already recorded`);
    const deb = join(out(), "debian", pinned.at(-1)!.rel);
    const bytes = await readFile(deb);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(deb, bytes);
    const fixed = await record();
    expect(fixed.stdout).toContain(`1 written, ${pinned.length - 1} already recorded`);
    expect(await sha256(deb)).toBe(pinned.at(-1)!.sha256);
  });

  it("the recorded directory serves audit as a file: mirror", async () => {
    const r = await node([main, "audit", "--json", "--cache", join(work, "audit-cache"), "--mirror", `debian=${pathToFileURL(join(out(), "debian")).href}`]);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
    expect(report.checks.filter((c) => c.status !== "ok")).toEqual([]);
    expect(r.code).toBe(0);
    expect(report.ok).toBe(true);
  });
});
