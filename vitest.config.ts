import { defineConfig } from "vitest/config";
import HeavyFirstSequencer from "./test/heavy-first-sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One build of the CLI for the whole run (the tests that run it copy it).
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The live and real-data tests are heavy; two workers match the CI machine's two cores.
    maxWorkers: 2,
    // The longest files start first, so that none of them runs alone at the end.
    sequence: { sequencer: HeavyFirstSequencer },
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
