/**
 * Builds the CLI once per test run, into a temp dir: every test that runs the compiled CLI
 * copies this build (test/fixtures/cli.ts compileCli) instead of running tsc itself, which
 * cost ~10–25 s of CPU per file on a 2-core machine. Where `npm run build` made the
 * repository's dist/ after the last change to its sources (`npm test` has just run it), the
 * build is a copy of that. Otherwise it runs beside the tests: tsc uses
 * one core for ~12 s, and the files that need no CLI (the unit tests, the in-process live
 * tests) start meanwhile; compileCli waits for the build's marker file. Also gives the run its
 * own state directory, so the cache-key file every CLI run creates (src/fetch/cache-key.ts)
 * lands in a temp dir, never in the user's ~/.local/state.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { buildCliInBackground } from "./fixtures/cli.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "scratch-pkgs-cli-"));
  const build = buildCliInBackground(dir);
  project.provide("cliBuild", dir);
  // Set before the workers start, so they and every process they spawn inherit it.
  const state = await mkdtemp(join(tmpdir(), "scratch-pkgs-state-"));
  process.env["XDG_STATE_HOME"] = state;
  return async () => {
    await build;
    await rm(dir, { recursive: true, force: true });
    await rm(state, { recursive: true, force: true });
  };
}
