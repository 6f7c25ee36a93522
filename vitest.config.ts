import { defineConfig } from "vitest/config";
import HeavyFirstSequencer from "./test/heavy-first-sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One build of the CLI for the whole run, made while the first tests run (the tests that run it copy it).
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Three workers on the CI machine's two cores: much of the suite waits on child processes
    // (Trivy, apt-get, dockerd, Bazel) and on the mirror. Measured from fresh clones, idle:
    // 2 workers 415 s, 3 workers 366 s, 4 workers 406 s.
    maxWorkers: 3,
    // The longest files start first, so that none of them runs alone at the end.
    sequence: { sequencer: HeavyFirstSequencer },
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
