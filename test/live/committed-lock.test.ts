/**
 * Live: the committed scratch.lock still builds, from the lock alone, exactly the layers it
 * promises (`layer --check`), fetching its .debs through this machine's apt mirror. A mirror
 * that no longer serves a pinned version (the archive moved on) is a reason to skip, not a
 * failure; a digest that differs is a failure.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { EXAMPLE_SUITES, findLiveMirror, LIVE_CACHE, type LiveMirror } from "./mirror.js";
import { compileCli } from "../fixtures/cli.js";
import { removeDir, tempDir } from "../lock/helpers.js";

const ROOT = resolve(import.meta.dirname, "../..");
let skip: string | undefined;
let mirror: LiveMirror | undefined;
let work: string;
let cli: string;

beforeAll(async () => {
  ({ mirror, skip } = await findLiveMirror(EXAMPLE_SUITES));
  if (skip) return console.log(`committed-lock test skipped: ${skip}`);
  work = await tempDir("live-committed");
  cli = await compileCli(join(work, "build"));
});
afterAll(async () => {
  if (work) await removeDir(work);
});

describe("live: the committed scratch.lock", () => {
  it("rebuilds byte-identical layers for amd64 and arm64 (layer --check)", (ctx) => {
    if (!mirror) return ctx.skip(skip);
    const r = spawnSync(process.execPath, [cli, "layer", "--check", ...mirror.mirrorFlags, "--lockfile", join(ROOT, "scratch.lock"), "--cache", LIVE_CACHE, "--json"], {
      encoding: "utf8",
      timeout: 600_000,
    });
    if (r.status === 3) return ctx.skip(`the mirror no longer serves a package the committed lock pins: ${r.stderr.split("\n")[0]}`);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { layers: Array<{ arch: string; diffId: string }> };
    expect(doc.layers.map((l) => l.arch)).toEqual(["amd64", "arm64"]);
    // With a cold cache every .deb is downloaded first: beyond the command's own 600 s.
  }, 620_000);
});
