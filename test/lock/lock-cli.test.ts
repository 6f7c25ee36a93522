// The real command line (`node dist/cli/bin.js`): exit codes, what goes to stdout and stderr,
// --json, --quiet, `why`, and byte-identical locks whatever the TZ, locale, umask and working
// directory. The CLI is compiled with tsc into a private dist/ in a temp dir, so this file never
// races another build of the repository's dist/.
import { execFileSync } from "node:child_process";
import { chmod, copyFile, cp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import type { AuditReport } from "../../src/audit/report.js";
import { compileCli, cleanEnv, runCommand, type CommandRun } from "../fixtures/cli.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { serveSnapshots, type SnapshotServer } from "../fixtures/snapshot-server.js";
import { RENAMES, killAt, ptraceWorks, renameTarget, syscalls } from "../fixtures/strace.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";
import {
  ARCHIVE_URL,
  KEY_DATE,
  UPDATES_DATE,
  V,
  buildTwoSuites,
  bytesOrNone,
  expectFileUnchanged,
  lockWith,
  machineZone,
  readTar,
  removeDir,
  sha256,
  tempDir,
  versions,
  writeProject,
  type ManifestSpec,
} from "./helpers.js";

let work: string;
let main: string;
let key: TestKey;
let server: TestServer;
/** snapshot.debian.org's stand-in: www/v1 imported at IMPORT_V1, www/v2 (the archive moved on) at IMPORT_V2. */
let snap: SnapshotServer;
const IMPORT_V1 = "20240103T060000Z";
const IMPORT_V2 = "20240202T060000Z";
let n = 0;
/** A closure lock of the full manifest, made once by the CLI, for the `why` tests, and the cache that lock filled. */
let whyLock: string;
let whyCache: string;

const FULL: ManifestSpec = { policy: "closure", packages: ["hello"] };

type Run = CommandRun;

/** Runs a command in `work` by default. */
const run = (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> => runCommand(cmd, args, { cwd: opts.cwd ?? work, ...(opts.env ? { env: opts.env } : {}) });

const cli = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> => run(process.execPath, [main, ...args], opts);

/** `lock` flags for a project, fetching from the local server. */
const lockArgs = (p: { config: string; lockfile: string; cache: string }, ...more: string[]): string[] => [
  "lock",
  "--config",
  p.config,
  "--lockfile",
  p.lockfile,
  "--mirror",
  `${server.url}/v1`,
  "--cache",
  p.cache,
  ...more,
];

async function project(spec: ManifestSpec = FULL, keyring: TestKey = key): Promise<{ dir: string; config: string; lockfile: string; cache: string }> {
  const dir = join(work, `p${n++}`);
  const p = await writeProject(dir, keyring, spec);
  return { ...p, cache: join(dir, "cache") };
}

beforeAll(async () => {
  work = await tempDir("lock-cli");
  const compile = compileCli(join(work, "build")).then((m) => {
    main = m;
  });
  key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
  const www = join(work, "www");
  await Promise.all([compile, buildTwoSuites(join(www, "v1"), key, "v1"), buildTwoSuites(join(www, "v2"), key, "v2")]);
  server = await serveDirectory(www);
  snap = await serveSnapshots("debian", [
    { timestamp: IMPORT_V2, root: join(www, "v2") },
    { timestamp: IMPORT_V1, root: join(www, "v1") },
  ]);

  const p = await project(FULL);
  const r = await cli(lockArgs(p, "--quiet"));
  if (r.code !== 0) throw new Error(`set-up lock failed (${r.code}): ${r.stderr}`);
  whyLock = p.lockfile;
  whyCache = p.cache;
});

afterAll(async () => {
  await server?.close();
  await snap?.close();
  if (work) await removeDir(work);
});

describe("lock", () => {
  it("writes the lock; stdout holds only the result; no progress when piped; the library agrees byte for byte", async () => {
    const p = await project();
    const r = await cli(lockArgs(p));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${p.lockfile} written (amd64 8 packages, arm64 8 packages)\n`);
    // Notes only; no bar, no carriage returns, no escape sequences.
    expect(r.stderr).not.toMatch(/[\r\x1b]/);
    expect(r.stderr).toBe("");
    const text = await readFile(p.lockfile, "utf8");
    expect(text).toContain(ARCHIVE_URL);
    expect(text).not.toContain(server.url);

    const q = await project();
    await lockWith({ ...q, mirror: `${server.url}/v1` });
    expect(await readFile(q.lockfile, "utf8")).toBe(text);
  });

  it("--quiet prints nothing at all on success", async () => {
    const p = await project();
    const r = await cli(lockArgs(p, "--quiet"));
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await bytesOrNone(p.lockfile)).toBeDefined();
  });

  it("--json prints exactly one JSON document on success", async () => {
    const p = await project();
    const r = await cli(lockArgs(p, "--json"));
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; written: boolean; lock: unknown; lockfile: string };
    expect(doc).toMatchObject({ ok: true, written: true, lockfile: p.lockfile });
    expect(doc.lock).toEqual(JSON.parse(await readFile(p.lockfile, "utf8")));
  });

  it("--json prints exactly one JSON document on failure, too (exit 3, offline with an empty cache)", async () => {
    const p = await project();
    const r = await cli(lockArgs(p, "--json", "--offline"));
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: { kind: string; exitCode: number; message: string; hint?: string } };
    expect(doc.ok).toBe(false);
    expect(doc.error).toMatchObject({ kind: "network", exitCode: 3 });
    expect(doc.error.message).toMatch(new RegExp(`${ARCHIVE_URL}/dists/stable(-updates)?/InRelease`));
    expect(doc.error.message).toContain("--offline");
    expect(r.stderr).toContain("scratch-pkgs: error: ");
    expect(await bytesOrNone(p.lockfile)).toBeUndefined();
  });

  it("--json with a usage error: exit 2 and one JSON document", async () => {
    const r = await cli(["lock", "--json", "--bogus-flag"]);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: { kind: string; message: string } };
    expect(doc).toMatchObject({ ok: false, error: { kind: "usage", exitCode: 2 } });
    expect(doc.error.message).toMatch(/bogus-flag/);
  });

  it("a verification failure exits 1 and keeps the old lock", async () => {
    const stranger = await makeKey({ type: "ecc", date: KEY_DATE });
    const p = await project(FULL, stranger);
    await writeFile(p.lockfile, "old lock\n");
    const r = await cli(lockArgs(p));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${ARCHIVE_URL}/dists/stable`);
    expect(r.stderr).toMatch(/no valid signature/);
    expect(await readFile(p.lockfile, "utf8")).toBe("old lock\n");
  });

  it("an unresolvable manifest exits 2 with the chain", async () => {
    const p = await project({ packages: ["no-such-package"] });
    const r = await cli(lockArgs(p));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot resolve for amd64: packages[0] → no-such-package");
    expect(await bytesOrNone(p.lockfile)).toBeUndefined();
  });

  it("--update of a name not in the lock exits 2", async () => {
    const p = await project();
    await copyFile(whyLock, p.lockfile);
    const before = await readFile(p.lockfile);
    const r = await cli(lockArgs(p, "--update", "no-such-package"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--update no-such-package");
    expectFileUnchanged(before, await readFile(p.lockfile));
  });

  it("--check: exit 0 when up to date (file untouched), exit 1 when the manifest changed", async () => {
    const p = await project();
    await copyFile(whyLock, p.lockfile);
    const before = await readFile(p.lockfile);
    const mtime = (await stat(p.lockfile)).mtimeMs;
    const ok = await cli(lockArgs(p, "--check"));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/is up to date/);
    expect((await stat(p.lockfile)).mtimeMs).toBe(mtime);

    await writeProject(p.dir, key, { ...FULL, packages: ["hello", "mawk"] });
    const stale = await cli(lockArgs(p, "--check"));
    expect(stale.code).toBe(1);
    expect(stale.stdout).toBe("");
    expect(stale.stderr).toMatch(/scratch\.json changed since the lock was made/);
    expect(stale.stderr).toMatch(/amd64: \+ mawk 1\.3\.4/);
    // Only what really changed: mawk, and the libc packages it now also reaches.
    expect(stale.stderr).toMatch(/amd64: libc6: reasons or selection changed/);
    expect(stale.stderr).not.toMatch(/tzdata|hello|netbase/);
    expectFileUnchanged(before, await readFile(p.lockfile));
    expect((await stat(p.lockfile)).mtimeMs).toBe(mtime);
  });
});

describe("lock: where to fetch from, and --update", () => {
  const withoutMirror = (p: { config: string; lockfile: string; cache: string }): string[] => ["lock", "--config", p.config, "--lockfile", p.lockfile, "--cache", p.cache];

  it("SCRATCH_PKGS_MIRROR stands in for --mirror", async () => {
    const p = await project();
    const r = await cli(withoutMirror(p), { env: cleanEnv({ SCRATCH_PKGS_MIRROR: `${server.url}/v1` }) });
    expect(r.code, r.stderr).toBe(0);
    expectFileUnchanged(await readFile(whyLock), await readFile(p.lockfile));
  });

  it("--apt-sources FILE uses the URIs of the entry that carries the suites", async () => {
    const p = await project();
    const sources = join(p.dir, "fixture.sources");
    await writeFile(sources, `Types: deb\nURIs: ${server.url}/v1\nSuites: stable stable-updates\nComponents: main\nSigned-By: /dev/null\n`);
    const r = await cli([...withoutMirror(p), "--apt-sources", sources]);
    expect(r.code, r.stderr).toBe(0);
    expectFileUnchanged(await readFile(whyLock), await readFile(p.lockfile));
  });

  it("--update with no names takes the newest of everything; --update NAME only that package", async () => {
    const v2 = ["--mirror", `${server.url}/v2`];
    const all = await project();
    await copyFile(whyLock, all.lockfile);
    const r = await cli([...withoutMirror(all), ...v2, "--update"]);
    expect(r.code, r.stderr).toBe(0);
    const lockAll = JSON.parse(await readFile(all.lockfile, "utf8")) as Lockfile;
    expect(versions(lockAll, "amd64")).toMatchObject({ tzdata: V.tzdata2, "ca-certificates": V.ca2, libc6: V.libc6Update2 });

    const one = await project();
    await copyFile(whyLock, one.lockfile);
    const r1 = await cli([...withoutMirror(one), "--update", "tzdata", ...v2]);
    expect(r1.code, r1.stderr).toBe(0);
    const lockOne = JSON.parse(await readFile(one.lockfile, "utf8")) as Lockfile;
    expect(versions(lockOne, "arm64")).toMatchObject({ tzdata: V.tzdata2, "ca-certificates": V.ca, libc6: V.libc6Update2 });
    // The pin that vanished is reported on stderr, with what replaced it.
    expect(r1.stderr).toContain(`arm64: libc6 ${V.libc6Update} is no longer in the archive; now ${V.libc6Update2}`);
  });
});

describe("snapshot URLs: the lock's own URLs serve what it pins", () => {
  // Between the two imports: the snapshot serves v1 there (libc6 deb12u4), the mirror has moved on to v2.
  const BETWEEN = "20240110T000000Z";
  const small: ManifestSpec = { fileSets: { libc: {} }, architectures: ["amd64"] };
  let p: { dir: string; config: string; lockfile: string; cache: string };
  const files = () => ["--config", p.config, "--lockfile", p.lockfile];
  /** A fresh cache per run, so every file comes from the URLs asked. */
  const fresh = () => ["--cache", join(p.dir, `cache-${n++}`)];
  const mirrorV2 = () => ["--mirror", `${server.url}/v2`];

  beforeAll(async () => {
    p = await project(small);
    await writeFile(p.config, (await readFile(p.config, "utf8")).replace(ARCHIVE_URL, snap.archiveUrl(IMPORT_V1)));
    await chmod(p.config, 0o600);
  });

  it("--snapshot TIMESTAMP from the snapshot itself, before libc6 was superseded: the lock builds from its URLs, which the mirror no longer serves", async () => {
    const r = await cli(["lock", ...files(), ...fresh(), "--snapshot", BETWEEN]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(p.config, "utf8")).toContain(`"${snap.archiveUrl(BETWEEN)}"`);
    const lock = JSON.parse(await readFile(p.lockfile, "utf8")) as Lockfile;
    const libc = lock.architectures.amd64!.packages.find((q) => q.name === "libc6")!;
    expect(libc.version).toBe(V.libc6Update);
    expect(libc.url.startsWith(`${snap.archiveUrl(BETWEEN)}/pool/`)).toBe(true);
    // The timestamp is resolved by a redirect to the import, as snapshot.debian.org does.
    expect(snap.requests).toContain(`/archive/debian/${IMPORT_V1}/dists/stable-updates/InRelease`);
    const pool = libc.url.slice(snap.archiveUrl(BETWEEN).length);
    expect((await fetch(`${server.url}/v2${pool}`)).status, "the mirror dropped the superseded .deb").toBe(404);

    const built = await cli(["layer", "--lockfile", p.lockfile, "--arch", "amd64", "--check", ...fresh()]);
    expect(built.code, built.stderr).toBe(0);
  });

  it("through a mirror that moved on, a release newer than the snapshot timestamp is refused (exit 2) and nothing is written", async () => {
    const before = await bytesOrNone(p.lockfile);
    const r = await cli(["lock", ...files(), ...fresh(), ...mirrorV2(), "--update"]);
    expect(r.code, r.stderr).toBe(2);
    const date = new Date(UPDATES_DATE.getTime() + 30 * 86_400_000).toUTCString().replace("GMT", "UTC");
    expect(r.stderr).toContain(`source "debian" suite stable-updates: the release is dated ${date}, after the snapshot timestamp ${BETWEEN}`);
    expect(r.stderr).toContain("--update --snapshot now");
    expectFileUnchanged(before, await bytesOrNone(p.lockfile));
  });

  it("lock --update --snapshot now moves only the timestamp in scratch.json, then locks; audit from the lock's URLs passes", async () => {
    const text = await readFile(p.config, "utf8");
    const r = await cli(["lock", ...files(), ...fresh(), ...mirrorV2(), "--update", "--snapshot", "now"]);
    expect(r.code, r.stderr).toBe(0);
    const moved = await readFile(p.config, "utf8");
    const stamp = /\/archive\/debian\/(\d{8}T\d{6}Z)"/.exec(moved)?.[1];
    expect(stamp! > IMPORT_V2).toBe(true);
    expect(moved).toBe(text.replace(BETWEEN, stamp!));
    expect((await stat(p.config)).mode & 0o777, "the manifest keeps its mode").toBe(0o600);
    expect(r.stderr).toContain(`source "debian" snapshot ${BETWEEN} → ${stamp}`);
    const lock = JSON.parse(await readFile(p.lockfile, "utf8")) as Lockfile;
    expect(versions(lock, "amd64").libc6).toBe(V.libc6Update2);
    expect(lock.sources[0]!.url).toBe(snap.archiveUrl(stamp!));

    // No mirror: every release, index and .deb from the snapshot URLs the lock records, the layer rebuilt.
    const audit = await cli(["audit", "--json", ...files(), ...fresh()]);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    expect((JSON.parse(audit.stdout) as { ok: boolean }).ok).toBe(true);
  });

  it("--snapshot TIMESTAMP locks the state imported at or before it; a future one, or with --check, is refused", async () => {
    const r = await cli(["lock", ...files(), ...fresh(), "--update", "--snapshot", IMPORT_V1]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(p.config, "utf8")).toContain(`"${snap.archiveUrl(IMPORT_V1)}"`);
    expect(versions(JSON.parse(await readFile(p.lockfile, "utf8")) as Lockfile, "amd64").libc6).toBe(V.libc6Update);
    const future = await cli(["lock", ...files(), ...fresh(), "--snapshot", "29991231T000000Z", "--offline"]);
    expect(future.code).toBe(2);
    expect(future.stderr).toContain("--snapshot 29991231T000000Z is in the future");
    const check = await cli(["lock", ...files(), ...fresh(), "--snapshot", "now", "--check", "--offline"]);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain("--check writes nothing");
  });

  it("audit from a snapshot URL that has not imported the locked release yet: exit 1, the hint says so", async () => {
    // After v2's stable-updates Date (so lock accepts it through the mirror), before snapshot imported it.
    const early = "20240202T040000Z";
    const r = await cli(["lock", ...files(), ...fresh(), ...mirrorV2(), "--update", "--snapshot", early]);
    expect(r.code, r.stderr).toBe(0);
    const audit = await cli(["audit", "--json", ...files(), ...fresh()]);
    expect(audit.code, audit.stdout + audit.stderr).toBe(1);
    const checks = new Map((JSON.parse(audit.stdout) as AuditReport).checks.map((c) => [c.name, c]));
    const hint = `the snapshot at ${early} may not have imported the release dated `;
    for (const name of ["release debian/stable-updates", "package amd64/libc6"]) {
      expect(checks.get(name)).toMatchObject({ status: "fail" });
      expect(checks.get(name)!.hint).toContain(hint);
      expect(checks.get(name)!.hint).toContain("re-run later, or re-lock with scratch-pkgs lock --update --snapshot now");
    }
    expect(checks.get("package amd64/libc6")!.detail).toContain(`${snap.archiveUrl(early)}/pool/`);
  });

  it.skipIf(!ptraceWorks)("--snapshot killed at either rename: scratch.json and the lock are each whole, old or new, a pair --check calls stale; the next run completes and cleans", async () => {
    const base = await project(small);
    await writeFile(base.config, (await readFile(base.config, "utf8")).replace(ARCHIVE_URL, snap.archiveUrl(IMPORT_V1)));
    const cache = join(work, `kill-cache-${n++}`);
    const env = cleanEnv({ UV_THREADPOOL_SIZE: "1" });
    const args = (dir: string, ...more: string[]) => ["lock", "--config", join(dir, "scratch.json"), "--lockfile", join(dir, "scratch.lock"), "--cache", cache, "--quiet", ...more];
    expect((await cli(args(base.dir))).code).toBe(0);
    /** A copy of the locked project (scratch.json, the lock, the keyring). */
    const copy = async (name: string) => {
      const dir = join(work, name);
      await cp(base.dir, dir, { recursive: true });
      return dir;
    };
    const files = async (dir: string) => new Map(await Promise.all((await readdir(dir)).sort().map(async (f): Promise<[string, string]> => [f, sha256(await readFile(join(dir, f)))])));
    const old = await files(base.dir);
    const moveArgs = (dir: string) => args(dir, "--snapshot", BETWEEN);

    // One run first fills the cache with what the moved sources fetch, so that every run below
    // renames the same cache entries (none); then the unkilled run: the new pair, and where its
    // two renames are among the worker's.
    expect((await cli(moveArgs(await copy(`kill-warm-${n++}`)))).code).toBe(0);
    const ref = await copy(`kill-ref-${n++}`);
    const trace = join(work, `kill-${n++}.trace`);
    const r = await run("strace", ["-f", "-qq", "-y", "-o", trace, "-e", `trace=${RENAMES}`, process.execPath, main, ...moveArgs(ref)], { env });
    expect(r.code, r.stderr).toBe(0);
    const fresh = await files(ref);
    expect(fresh.get("scratch.json")).not.toBe(old.get("scratch.json"));
    expect(fresh.get("scratch.lock")).not.toBe(old.get("scratch.lock"));
    const renames = (await syscalls(trace)).filter((c) => RENAMES.split(",").includes(c.name));
    const worker = renames.at(-1)!.tid;
    const ours = renames.filter((c) => c.tid === worker).map((c, i) => ({ n: i + 1, target: renameTarget(c.line) })).filter((c) => c.target.startsWith(`${ref}/`));
    // scratch.json first, as documented: a half-done pair is then a lock --check calls stale.
    expect(ours.map((c) => c.target.slice(ref.length + 1))).toEqual(["scratch.json", "scratch.lock"]);

    // Both kill points at once (the machine has two cores).
    await Promise.all(ours.map(async (point, i) => {
      const dir = await copy(`kill-${i}-${n++}`);
      const k = await run("strace", ["-f", "-qq", ...killAt(RENAMES, point.n), process.execPath, main, ...moveArgs(dir)], { env });
      expect(k.code, `rename #${point.n}: ${k.stderr}`).not.toBe(0);
      const after = await files(dir);
      const kept = new Map([...after].filter(([f]) => !f.startsWith(".")));
      // Killed before the first rename: both old; before the second: scratch.json new, the lock old.
      expect(kept, `rename #${point.n}`).toEqual(new Map([...old, ...(i === 1 ? [["scratch.json", fresh.get("scratch.json")!] as [string, string]] : [])]));
      const check = await cli(args(dir, "--check", "--offline"));
      expect(check.code, check.stderr).toBe(i === 0 ? 0 : 1);
      if (i === 1) expect(check.stderr).toContain("scratch.json changed since the lock was made");
      const again = await cli(moveArgs(dir));
      expect(again.code, again.stderr).toBe(0);
      expect(await files(dir), `after rename #${point.n}`).toEqual(fresh);
    }));
  });

  it("--apt-sources whose suites miss one the manifest asks for: exit 2 naming both, no fallback to the manifest URL", async () => {
    const sources = join(p.dir, "stable-only.sources");
    await writeFile(sources, `Types: deb\nURIs: ${server.url}/v1\nSuites: stable\nComponents: main\n`);
    const r = await cli(["lock", ...files(), ...fresh(), "--apt-sources", sources]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`the apt sources (${sources}) carry the suites stable, not stable-updates (source "debian") that the sources ask for`);
    expect(r.stderr).toContain("--apt-sources-fallback");
  });
});

describe("--snapshot-fallback: a lock whose live-mirror URLs no longer serve a .deb", () => {
  // Locked from the mirror's v1 state; the mirror then moved on to v2, which dropped the superseded libc6.
  let p: { dir: string; config: string; lockfile: string; cache: string };
  let gone: string;
  const layer = (env: Record<string, string>, ...more: string[]) =>
    cli(["layer", "--lockfile", p.lockfile, "--arch", "amd64", "--check", "--mirror", `${server.url}/v2`, "--cache", join(p.dir, `cache-${n++}`), ...more], { env: cleanEnv(env) });

  beforeAll(async () => {
    p = await project({ fileSets: { libc: {} }, architectures: ["amd64"] });
    const r = await cli(lockArgs(p, "--quiet"));
    if (r.code !== 0) throw new Error(`set-up lock failed (${r.code}): ${r.stderr}`);
    const libc = (JSON.parse(await readFile(p.lockfile, "utf8")) as Lockfile).architectures.amd64!.packages.find((q) => q.name === "libc6")!;
    expect(libc.version).toBe(V.libc6Update);
    gone = `${server.url}/v2${libc.url.slice(ARCHIVE_URL.length)}`;
  });

  it("without the flag: exit 3 naming the URL and the flag; with it, the file comes from the snapshot API and the layer matches", async () => {
    const refused = await layer({});
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(gone);
    expect(refused.stderr).toContain("HTTP 404");
    expect(refused.stderr).toContain("--snapshot-fallback");

    const asked = snap.requests.length;
    const built = await layer({ SCRATCH_PKGS_SNAPSHOT_URL: snap.url }, "--snapshot-fallback");
    expect(built.code, built.stderr).toBe(0);
    const api = snap.requests.slice(asked);
    expect(api).toContain(`/mr/binary/libc6/${encodeURIComponent(V.libc6Update)}/binfiles`);
    expect(api.filter((r) => r.startsWith("/file/"))).toHaveLength(1);
  });

  it("image and audit take the same fallback: without the flag exit 3 (audit: the package check fails), with it an image whose layer is the lock's (audit: the package is ok)", async () => {
    const env = { SCRATCH_PKGS_SNAPSHOT_URL: snap.url };
    const image = (out: string, ...more: string[]) =>
      cli(["image", "--lockfile", p.lockfile, "--arch", "amd64", "--mirror", `${server.url}/v2`, "--cache", join(p.dir, `cache-${n++}`), "--output", join(p.dir, out), "--quiet", ...more], { env: cleanEnv(env) });
    const refused = await image("refused.tar");
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(gone);
    expect(refused.stderr).toContain("--snapshot-fallback");
    expect(await bytesOrNone(join(p.dir, "refused.tar"))).toBeUndefined();
    const made = await image("image.tar", "--snapshot-fallback");
    expect(made.code, made.stderr).toBe(0);
    // The docker-archive's config lists the lock's diff_id (read back with tar, not our reader).
    const manifest = JSON.parse(execFileSync("tar", ["-xOf", join(p.dir, "image.tar"), "manifest.json"], { encoding: "utf8" })) as Array<{ Config: string }>;
    const config = JSON.parse(execFileSync("tar", ["-xOf", join(p.dir, "image.tar"), manifest[0]!.Config], { encoding: "utf8" })) as { rootfs: { diff_ids: string[] } };
    const lock = JSON.parse(await readFile(p.lockfile, "utf8")) as Lockfile;
    expect(config.rootfs.diff_ids).toEqual([lock.architectures.amd64!.layer.diffId]);

    const audit = (...more: string[]) => cli(["audit", "--json", "--lockfile", p.lockfile, "--config", p.config, "--mirror", `${server.url}/v2`, "--cache", join(p.dir, `cache-${n++}`), ...more], { env: cleanEnv(env) });
    // The mirror moved on, so its releases are not the locked ones either (audit fails them:
    // the fallback finds .debs, not old InRelease files); the .deb check is what the flag changes.
    const libc = async (...more: string[]) => {
      const r = await audit(...more);
      expect(r.code, r.stderr).toBe(1);
      return (JSON.parse(r.stdout) as AuditReport).checks.find((c) => c.name === "package amd64/libc6");
    };
    expect(await libc()).toMatchObject({ status: "unavailable" });
    expect(await libc("--snapshot-fallback")).toMatchObject({ status: "ok" });
  });

  it("a snapshot service that serves other bytes is refused (exit 1)", async () => {
    const liar = await serveSnapshots("debian", [{ timestamp: IMPORT_V1, root: join(work, "www", "v1") }], { corruptFiles: true });
    try {
      const r = await layer({ SCRATCH_PKGS_SNAPSHOT_URL: liar.url }, "--snapshot-fallback");
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`${liar.url}/file/[0-9a-f]{40} has sha256 [0-9a-f]{64}, expected`));
    } finally {
      await liar.close();
    }
  });
});

describe("lock and layer agree; SOURCE_DATE_EPOCH", () => {
  it("SOURCE_DATE_EPOCH changes sourceDateEpoch and so the diff_id; `layer` writes exactly the tars the lock promises", async () => {
    const p = await project();
    await copyFile(whyLock, p.lockfile);
    const plain = JSON.parse(await readFile(whyLock, "utf8")) as Lockfile;
    const epoch = 1_500_000_000;
    const dated = join(p.dir, "dated.lock");
    // The same cache as a lock at the release Date: the memoised layer must not be reused.
    const r = await cli(["lock", "--config", p.config, "--lockfile", dated, "--mirror", `${server.url}/v1`, "--cache", p.cache, "--quiet"], { env: cleanEnv({ SOURCE_DATE_EPOCH: String(epoch) }) });
    expect(r.code, r.stderr).toBe(0);
    const lock = JSON.parse(await readFile(dated, "utf8")) as Lockfile;
    expect(lock.sourceDateEpoch).toBe(epoch);
    expect(plain.sourceDateEpoch).not.toBe(epoch);
    for (const arch of ["amd64", "arm64"]) {
      expect(lock.architectures[arch]!.packages).toEqual(plain.architectures[arch]!.packages);
      expect(lock.architectures[arch]!.layer.diffId).not.toBe(plain.architectures[arch]!.layer.diffId);
    }

    for (const [file, l] of [[dated, lock], [whyLock, plain]] as const) {
      const out = join(p.dir, `${l.sourceDateEpoch}.tar`);
      const layer = await cli(["layer", "--lockfile", file, "--arch", "amd64", "--output", out, "--mirror", `${server.url}/v1`, "--cache", p.cache]);
      expect(layer.code, layer.stderr).toBe(0);
      const tar = await readFile(out);
      expect(`sha256:${sha256(tar)}`).toBe(l.architectures.amd64!.layer.diffId);
      expect(layer.stdout).toContain(`amd64: diff_id ${l.architectures.amd64!.layer.diffId} (${tar.length} bytes)`);
      for (const m of (await readTar(tar)).values()) expect(m.mtime).toBe(l.sourceDateEpoch);
    }
    const zst = join(p.dir, "layer.tar.zst");
    const z = await cli(["layer", "--lockfile", dated, "--arch", "arm64", "--compress", "zstd", "--output", zst, "--mirror", `${server.url}/v1`, "--cache", p.cache, "--quiet"]);
    expect(z.code, z.stderr).toBe(0);
    expect(`sha256:${sha256(await readFile(zst))}`).toBe(lock.architectures.arm64!.layer.compressed.zstd!.digest);

    // Not a number of seconds: a usage error, nothing written.
    const bad = join(p.dir, "bad.lock");
    const b = await cli(["lock", "--config", p.config, "--lockfile", bad, "--mirror", `${server.url}/v1`, "--cache", p.cache], { env: cleanEnv({ SOURCE_DATE_EPOCH: "yesterday" }) });
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("SOURCE_DATE_EPOCH=yesterday");
    expect(await bytesOrNone(bad)).toBeUndefined();
  });
});

describe("why", () => {
  it("prints the chain that brought a package in", async () => {
    const r = await cli(["why", "libgcc-s1", "--lockfile", whyLock]);
    expect(r.code).toBe(0);
    for (const arch of ["amd64", "arm64"]) expect(r.stdout).toContain(`${arch}: libgcc-s1 ${V.gcc} (file sets: copyright, libc, packages)`);
    expect(r.stdout).toContain("  file set libc → libc6 → libgcc-s1\n");
    expect(r.stdout).toContain("  packages[0] → hello → libc6 → libgcc-s1\n");
  });

  it("names the package member that made a path, from the provenance manifest lock keeps in the cache", async () => {
    const r = await cli(["why", "/usr/share/zoneinfo/UTC", "--lockfile", whyLock, "--cache", whyCache, "--arch", "arm64"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`arm64: tzdata ${V.tzdata} ships it as ./usr/share/zoneinfo/UTC (file sets: tzdata)\n  file set tzdata\n`);
  });

  it("a path the layer lacks exits 1, even where a selection rule would take it (zoneinfo/**)", async () => {
    for (const path of ["/usr/share/doc/tzdata/changelog.Debian.gz", "/usr/share/zoneinfo/No/Such/Zone"]) {
      const r = await cli(["why", path, "--lockfile", whyLock, "--cache", whyCache]);
      expect({ path, code: r.code, stdout: r.stdout }).toEqual({ path, code: 1, stdout: "" });
      expect(r.stderr).toContain(`error: the layer of ${whyLock} has no ${path}\n`);
    }
    const c = await cli(["why", "/usr/share/doc/tzdata/copyright", "--lockfile", whyLock, "--cache", whyCache, "--arch", "arm64"]);
    expect(c.code).toBe(0);
    expect(c.stdout).toContain(`arm64: tzdata ${V.tzdata} ships it as ./usr/share/doc/tzdata/copyright (file sets: copyright)`);
  });

  it("says when the layer made a path itself, and which sets a package directory is the parent for", async () => {
    const why = (path: string) => cli(["why", path, "--lockfile", whyLock, "--cache", whyCache, "--arch", "arm64"]);
    const made = await why("/var/lib/dpkg/status.d");
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toBe("arm64: /var/lib/dpkg/status.d is made by the layer itself (parent directory); no package ships it\n");
    // /etc itself is taken by no rule: it is there for base-files' and netbase's files below it.
    const dir = await why("/etc");
    expect(dir.code, dir.stderr).toBe(0);
    expect(dir.stdout).toBe(
      [`arm64: base-files ${V.baseFiles} ships it as ./etc/ (the parent directory of what file sets base take)`, "  file set base", `arm64: netbase ${V.netbase} ships it as ./etc/ (the parent directory of what file sets base take)`, "  file set base", ""].join("\n"),
    );
  });

  it("--json gives one document", async () => {
    const r = await cli(["why", "libc6", "--lockfile", whyLock, "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; matches: Array<{ architecture: string; version: string }> };
    expect(doc.ok).toBe(true);
    expect(doc.matches.map((m) => [m.architecture, m.version])).toEqual([
      ["amd64", V.libc6Update],
      ["arm64", V.libc6Update],
    ]);
  });

  it("exits 1 for something the lock does not have", async () => {
    const r = await cli(["why", "nothing", "--lockfile", whyLock]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`nothing is not in ${whyLock}`);
  });

  it("an optional request skipped where the archive lacks it: exit 1 saying where and why, not 'add it to scratch.json'", async () => {
    // libquadmath0 is amd64-only in the fixture archive: arm64's lock records it as skipped.
    const p = await project({ ...FULL, packages: [{ name: "libquadmath0", optional: true }] });
    const locked = await cli(lockArgs(p, "--quiet"));
    expect(locked.code, locked.stderr).toBe(0);
    const r = await cli(["why", "libquadmath0", "--lockfile", p.lockfile, "--arch", "arm64"]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
    expect(r.stderr).toContain(`libquadmath0 is not in ${p.lockfile} for arm64\n  arm64: skipped, packages[0]: no package libquadmath0 for arm64\n`);
    expect(r.stderr).toContain('hint: it is an optional request ("optional": true)');
    expect(r.stderr).not.toContain("add it to scratch.json");
  });
});

describe("usage", () => {
  it("a bad flag exits 2 naming it", async () => {
    const r = await cli(["lock", "--bogus-flag"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/bogus-flag/);
    expect(r.stderr).toMatch(/hint: see scratch-pkgs lock --help/);
  });

  it("an unknown command exits 2", async () => {
    const r = await cli(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/frobnicate/);
  });

  it("--help exits 0 and lists the commands and lock's flags", async () => {
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/lock/);
    expect(top.stdout).toMatch(/why/);
    const lock = await cli(["lock", "--help"]);
    expect(lock.code).toBe(0);
    for (const flag of ["--config", "--lockfile", "--check", "--update", "--mirror", "--offline", "--cache"]) expect(lock.stdout).toContain(flag);
  });
});

describe("determinism", () => {
  it("gives byte-identical locks whatever the TZ, locale, umask and working directory", async () => {
    const a = await project({ ...FULL, fileSets: { base: {}, "ca-certs": {}, libc: {}, tzdata: { timezone: "Europe/Amsterdam" } } });
    const b = await project({ ...FULL, fileSets: { base: {}, "ca-certs": {}, libc: {}, tzdata: { timezone: "Europe/Amsterdam" } } });
    const shell = (umask: string, cwd: string, config: string, lockfile: string, cache: string, env: Record<string, string>): Promise<Run> =>
      run("/bin/sh", ["-c", `umask ${umask}; exec "$0" "$@"`, process.execPath, main, "lock", "--config", config, "--lockfile", lockfile, "--mirror", `${server.url}/v1`, "--cache", cache], {
        cwd,
        env: cleanEnv(env),
      });
    const ra = await shell("022", a.dir, "scratch.json", "scratch.lock", "cache", { TZ: "UTC", LANG: "C", LC_ALL: "C" });
    expect(ra.code, ra.stderr).toBe(0);
    // Another directory, relative paths from elsewhere, a far-off time zone, a Turkish locale
    // (its case rules break naive lower-casing) and a strict umask.
    const rb = await shell("077", work, relative(work, b.config), relative(work, b.lockfile), relative(work, b.cache), {
      TZ: "Pacific/Chatham",
      LANG: "tr_TR.UTF-8",
      LC_ALL: "tr_TR.UTF-8",
    });
    expect(rb.code, rb.stderr).toBe(0);
    const la = await readFile(a.lockfile);
    const lb = await readFile(b.lockfile);
    expect(Buffer.compare(la, lb)).toBe(0);
    // The zone the manifest names is the one linked, read from the (real TZif) zone file.
    const tz = (JSON.parse(la.toString("utf8")) as Lockfile).architectures.amd64!.derivations.find((d) => d.recipe === "tzdata")!;
    expect(tz.options).toEqual({ timezone: "Europe/Amsterdam" });
    expect(tz.inputs).toEqual([{ path: "/usr/share/zoneinfo/Europe/Amsterdam", sha256: sha256(machineZone("Europe/Amsterdam")) }]);
    expect(tz.outputs.find((o) => o.path === "/etc/timezone")?.sha256).toBe(sha256("Europe/Amsterdam\n"));
    expect((await stat(b.lockfile)).mode & 0o777).toBe(0o600);
  });
});
