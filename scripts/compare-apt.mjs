#!/usr/bin/env node
/**
 * The README's apt comparison figure: the live test test/live/apt-closures.test.ts over a larger
 * sample (default 300 packages drawn with its fixed seed per suite × architecture), against the
 * mirror this machine's apt uses. Takes several minutes; prints the per-suite counts and every
 * difference.
 *
 *   npm run compare-apt [-- --sample N]
 */
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const { values } = parseArgs({ options: { sample: { type: "string", default: "300" } } });
if (!/^[1-9][0-9]*$/.test(values.sample)) {
  console.error(`compare-apt: --sample must be a positive whole number, got ${JSON.stringify(values.sample)}`);
  process.exit(2);
}
const root = fileURLToPath(new URL("..", import.meta.url));
const r = spawnSync("npx", ["vitest", "run", "test/live/apt-closures.test.ts"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, SCRATCH_PKGS_APT_SAMPLE: values.sample, SCRATCH_PKGS_APT_TIMEOUT: String(60_000 + Number(values.sample) * 10_000) },
});
process.exit(r.status ?? 1);
