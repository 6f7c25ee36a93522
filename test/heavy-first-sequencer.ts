/**
 * Starts the known-heavy test files first. Two workers share the files; in a fresh clone vitest
 * has no record of durations and starts the largest files first, so a long file that happens to
 * be small (the committed-lock audit) could start last and run alone at the end of the run.
 * Heavy files first, longest first, leaves the short ones to fill in beside them.
 */
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Longest first, as full runs on the 2-core CI machine measured them, but for the third: the
 * CLI is still being built when the first files start (test/global-setup.ts), so two of the
 * first three run in process (apt-closures, layer-live) while Trivy's file waits for the build.
 * test/structure checks that each exists.
 */
export const HEAVY_FILES: readonly string[] = [
  "test/image/trivy.test.ts",
  "test/live/apt-closures.test.ts",
  "test/live/layer-live.test.ts",
  "test/audit/committed-lock.test.ts",
  "test/lock/lock-cli.test.ts",
  "test/examples/bazel.test.ts",
  "test/cli/http10.test.ts",
  "test/cli/outputs.test.ts",
  "test/live/openssl-live.test.ts",
  "test/live/doctor-live.test.ts",
  "test/live/add-debian-binary-live.test.ts",
  "test/image/docker-engine.test.ts",
  "test/live/paths-live.test.ts",
];

/** `files` with the heavy ones first, in HEAVY_FILES order; the rest keep `files`' order. */
export function heavyFirst<T>(files: readonly T[], pathOf: (f: T) => string): T[] {
  const rank = (f: T) => {
    const i = HEAVY_FILES.indexOf(pathOf(f));
    return i < 0 ? HEAVY_FILES.length : i;
  };
  // Array.prototype.sort is stable: equal ranks keep their order.
  return [...files].sort((a, b) => rank(a) - rank(b));
}

export default class HeavyFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    return heavyFirst(await super.sort(files), (f) => relative(root, f.moduleId).split("\\").join("/"));
  }
}
