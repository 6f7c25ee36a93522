// The cache touches only what it made, on the real command line (a private tsc build of the
// CLI): `lock` then `layer` with --cache DIR against the fixture archive leave every file of the
// user's in DIR (at the top, in tmp/, in a blob dir) as it was, remove only a day-old temp file
// of ours whose run is gone, keep one whose run is alive, and refuse a tmp/ that is a symlink
// (exit 3, naming it) without touching the directory it points at.
import { mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasCommand } from "../fixtures/deb.js";
import { deadPid } from "../fixtures/pids.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { PROJECT, layerArchive } from "../layer/fixture.js";
import { cleanEnv, compileCli, removeDir, run, tempDir, writeProject, type Run } from "../layer/helpers.js";

const tools = ["gzip", "zstd", "xz"].every((t) => hasCommand(t));
const TWO_DAYS_AGO = new Date(Date.now() - 2 * 24 * 3600 * 1000);

let work: string;
let main: string;
let server: TestServer;
let armoredKey: string;

const cli = (args: string[]): Promise<Run> => run(process.execPath, [main, ...args], { cwd: work, env: cleanEnv() });
const ours = (pid: number, tag: string): string => `.scratch-pkgs-${pid}-${tag.repeat(16)}.part`;

/** Files at `rel` paths under `root`, each with its own path as content and two days old. */
async function plant(root: string, rels: string[]): Promise<void> {
  for (const rel of rels) {
    const path = join(root, rel);
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, rel);
    await utimes(path, TWO_DAYS_AGO, TWO_DAYS_AGO);
  }
}

async function intact(root: string, rels: string[]): Promise<void> {
  for (const rel of rels) expect(await readFile(join(root, rel), "utf8"), rel).toBe(rel);
}

beforeAll(async () => {
  if (!tools) return;
  work = await tempDir("cache-ownership");
  const [built, made] = await Promise.all([compileCli(join(work, "build")), layerArchive(work)]);
  main = built;
  server = await serveDirectory(made.www);
  armoredKey = made.key.armoredPublicKey;
});

afterAll(async () => {
  await server?.close();
  await removeDir(work);
});

describe.skipIf(!tools)("the cache dir through lock and layer (CLI)", () => {
  it("keeps every file of the user's and a live run's temp file; sweeps a dead run's", async () => {
    const project = await writeProject(join(work, "kept"), armoredKey, PROJECT);
    const dead = ours(await deadPid(), "a");
    const users = ["README", "tmp/notes.txt", "tmp/1-0123456789abcdef.part", "sha256/ab/unrelated", "refs/mine.json", "cache.db"];
    const live = `tmp/${ours(process.pid, "b")}`;
    await plant(project.cache, [...users, live, `tmp/${dead}`]);

    const lock = await cli(["lock", "--config", project.config, "--lockfile", project.lockfile, "--mirror", server.url, "--cache", project.cache, "--quiet"]);
    expect(lock.code, lock.stderr).toBe(0);
    const layer = await cli(["layer", "--lockfile", project.lockfile, "--mirror", server.url, "--cache", project.cache, "--output", join(project.dir, "{arch}.tar"), "--quiet"]);
    expect(layer.code, layer.stderr).toBe(0);

    await intact(project.cache, [...users, live]);
    const tmp = await readdir(join(project.cache, "tmp"));
    expect(tmp).not.toContain(dead);
    // Only the planted files remain in tmp/: the runs left no temp file of their own behind.
    expect(tmp.sort()).toEqual(["notes.txt", "1-0123456789abcdef.part", ours(process.pid, "b")].sort());
  });

  it("refuses a tmp/ that is a symlink to a directory of the user's, exit 3 naming it, and deletes nothing there", async () => {
    const project = await writeProject(join(work, "linked"), armoredKey, PROJECT);
    const users = join(work, "users-dir");
    const victims = ["thesis.tex", ours(await deadPid(), "c")];
    await plant(users, victims);
    await mkdir(project.cache, { recursive: true });
    await symlink(users, join(project.cache, "tmp"));

    const lock = await cli(["lock", "--config", project.config, "--lockfile", project.lockfile, "--mirror", server.url, "--cache", project.cache, "--quiet"]);
    expect(lock.code, lock.stderr).toBe(3);
    expect(lock.stderr).toContain(join(project.cache, "tmp"));
    expect(lock.stderr).toMatch(/symlink/);
    await expect(stat(project.lockfile)).rejects.toMatchObject({ code: "ENOENT" });
    expect((await readdir(users)).sort()).toEqual(victims.sort());
    await intact(users, victims);
  });
});
