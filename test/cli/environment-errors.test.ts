// Inputs and surroundings that ended in exit 70 (a stack trace) or hung, on the real command
// line with the committed project and the snapshots/ mirror: deeply nested JSON in scratch.json
// and scratch.lock, a lock or manifest that is a fifo or a directory, a cache that is a file, is
// read-only or is full, a full temp directory, an output under a read-only directory, a malformed throughput floor,
// and `doctor` on a device, a fifo, a directory and a file over its cap. Each ends in the README's
// exit code (2 input, 3 environment) with a message naming the path.
import { execFileSync } from "node:child_process";
import { chmod, cp, mkdir, open, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileCli, cleanEnv, removeDir, repoRoot, run, tempDir, type Run } from "../layer/helpers.js";

const isRoot = process.getuid?.() === 0;
const mounts: string[] = [];
let work: string;
let main: string;

const MIRRORS = ["--mirror", `debian=file://${repoRoot}/snapshots/debian`, "--mirror", `debian-security=file://${repoRoot}/snapshots/debian-security`];
const cli = (args: string[], env: Record<string, string> = {}): Promise<Run> => run(process.execPath, [main, ...args], { cwd: work, env: cleanEnv(env) });

/** A tmpfs at `dir` (root only): the one way to get a full or read-only file system here. */
function tmpfs(dir: string, options: string): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir], { stdio: "ignore" });
    mounts.push(dir);
    return true;
  } catch {
    return false;
  }
}

/** An empty directory nothing can be written in: a read-only tmpfs as root (who ignores modes), else mode 555. */
async function readOnlyDir(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir);
  if (!(isRoot && tmpfs(dir, "ro,size=64k"))) await chmod(dir, 0o555);
  return dir;
}

beforeAll(async () => {
  work = await tempDir("env-errors");
  const [built] = await Promise.all([
    compileCli(join(work, "build")),
    ...["scratch.json", "scratch.lock", "keys"].map((f) => cp(join(repoRoot, f), join(work, f), { recursive: true })),
  ]);
  main = built;
  execFileSync("mkfifo", [join(work, "fifo")]);
  await mkdir(join(work, "dir"));
}, 120_000);

afterAll(async () => {
  for (const dir of mounts.reverse()) execFileSync("umount", [dir]);
  await removeDir(work);
});

function expectExit(r: Run, code: number, message: RegExp): void {
  expect(r.stderr, r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.code, r.stderr).toBe(code);
}

describe("exit 2 or 3 naming the path, never 70 or a hang (CLI)", () => {
  it("nested JSON, fifos and directories as the manifest or the lock", async () => {
    const deep = "[".repeat(100_000);
    await writeFile(join(work, "deep.json"), deep);
    await writeFile(join(work, "deep.lock"), `{"lockfileVersion": ${deep}`);
    const [manifest, lock, fifoLock, fifoManifest, dirLock] = await Promise.all([
      cli(["lock", "--check", "--offline", "--config", "deep.json"]),
      cli(["lock", "--check", "--offline", "--lockfile", "deep.lock"]),
      cli(["layer", "--offline", "--lockfile", "fifo", "--output", "x.tar"]),
      cli(["lock", "--check", "--offline", "--config", "fifo"]),
      cli(["audit", "--offline", "--lockfile", "dir"]),
    ]);
    expectExit(manifest, 2, /^scratch-pkgs: error: deep\.json: invalid JSON at line 1, column 257: nested deeper than 256 levels$/m);
    expectExit(lock, 2, /^scratch-pkgs: error: deep\.lock: invalid JSON at line 1, column 276: nested deeper than 256 levels$/m);
    expectExit(fifoLock, 2, /^scratch-pkgs: error: fifo: is a fifo, not a lockfile$/m);
    expectExit(fifoManifest, 2, /^scratch-pkgs: error: fifo: is a fifo, not a manifest file$/m);
    expectExit(dirLock, 2, /^scratch-pkgs: error: dir: is a directory, not a lockfile$/m);
  });

  it("a cache that is a file, is read-only or is full; an output under a read-only directory", async () => {
    await writeFile(join(work, "cache-file"), "mine\n");
    const readOnly = await readOnlyDir("ro-cache");
    const outDir = await readOnlyDir("ro-out");
    const full = join(work, "full-cache");
    await mkdir(full);
    // Room for the three InRelease files: the first Packages download fills it.
    const canFill = isRoot && tmpfs(full, "size=256k");
    await writeFile(join(work, "add.tar"), execFileSync("tar", ["-c", "-f", "-", "--owner=0", "--group=0", "-C", work, "scratch.json"]));
    const [fileCache, roCache, fullCache, roOutput] = await Promise.all([
      cli(["lock", "--check", ...MIRRORS, "--cache", join(work, "cache-file")]),
      cli(["lock", "--check", ...MIRRORS, "--cache", readOnly]),
      canFill ? cli(["lock", "--check", ...MIRRORS, "--cache", full]) : undefined,
      cli(["image", "--no-lock", "--arch", "amd64", "--add", "add.tar", "--output", join(outDir, "img")]),
    ]);
    expectExit(fileCache, 3, new RegExp(`^scratch-pkgs: error: .*${join(work, "cache-file")}.*ENOTDIR`, "m"));
    expectExit(roCache, 3, new RegExp(`^scratch-pkgs: error: .*${readOnly}.*(EROFS|EACCES)`, "m"));
    if (fullCache) expectExit(fullCache, 3, new RegExp(`^scratch-pkgs: error: cannot write (\\S+ to )?${full}/tmp/\\S+\\.part in the cache: ENOSPC: no space left on device`, "m"));
    expectExit(roOutput, 3, new RegExp(`^scratch-pkgs: error: .*${outDir}/img.*(EROFS|EACCES|ENOENT)`, "m"));
  });

  it.runIf(isRoot)("a full temp directory (TMPDIR), where the layer's provenance manifest is written: exit 3, no output", async () => {
    const tiny = join(work, "tiny-tmp");
    await mkdir(tiny);
    expect(tmpfs(tiny, "size=8k")).toBe(true);
    const out = join(work, "tmp-out");
    await mkdir(out);
    const r = await cli(["layer", "--arch", "amd64", ...MIRRORS, "--cache", join(work, "tmp-cache"), "--output", join(out, "layer.tar")], { TMPDIR: tiny });
    expectExit(r, 3, new RegExp(`^scratch-pkgs: error: cannot write a temporary file in ${tiny}: ENOSPC: no space left on device`, "m"));
    expect(await readdir(out)).toEqual([]);
    expect(await readdir(tiny)).toEqual([]);
  });

  it("a malformed SCRATCH_PKGS_MIN_RATE or SCRATCH_PKGS_CACHE_TRIM_DAYS", async () => {
    expectExit(await cli(["lock", "--check", "--offline"], { SCRATCH_PKGS_MIN_RATE: "fast" }), 2, /^scratch-pkgs: error: SCRATCH_PKGS_MIN_RATE=fast is not BYTES\/SECONDS$/m);
    expectExit(await cli(["lock", "--check", "--offline"], { SCRATCH_PKGS_CACHE_TRIM_DAYS: "a month" }), 2, /^scratch-pkgs: error: SCRATCH_PKGS_CACHE_TRIM_DAYS=a month is not a whole number of days$/m);
  });

  it("doctor on a device, a fifo, a directory and a file over 1 GiB, as the binary or as --layer", async () => {
    const big = join(work, "big.bin");
    const fh = await open(big, "w");
    await fh.truncate(2 ** 30 + 1); // sparse: nothing is written
    await fh.close();
    const [zero, fifo, dir, tooBig] = await Promise.all([cli(["doctor", "/dev/zero"]), cli(["doctor", "fifo"]), cli(["doctor", "dir"]), cli(["doctor", big])]);
    expectExit(zero, 2, /^scratch-pkgs: error: \/dev\/zero: is a character device, not a binary$/m);
    expectExit(fifo, 2, /^scratch-pkgs: error: fifo: is a fifo, not a binary$/m);
    expectExit(dir, 2, /^scratch-pkgs: error: dir: is a directory, not a binary$/m);
    expectExit(tooBig, 2, new RegExp(`^scratch-pkgs: error: ${big}: is 1073741825 bytes, larger than the 1 GiB doctor reads$`, "m"));
    // The same for --layer: refused before a byte is read, never a hang on a fifo or /dev/zero.
    const layer = (path: string) => cli(["doctor", process.execPath, "--layer", path]);
    const [lzero, lfifo, ldir] = await Promise.all([layer("/dev/zero"), layer("fifo"), layer("dir")]);
    expectExit(lzero, 2, /^scratch-pkgs: error: \/dev\/zero: is a character device, not a layer tar$/m);
    expectExit(lfifo, 2, /^scratch-pkgs: error: fifo: is a fifo, not a layer tar$/m);
    expectExit(ldir, 2, /^scratch-pkgs: error: dir: is a directory, not a layer tar$/m);
  });
});
