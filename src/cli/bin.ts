#!/usr/bin/env node
/**
 * The installed entry point. On Node 22 and later, V8's compile cache makes every run after the
 * first skip recompiling the program's modules (most of a quick command's time); Node 20 has no
 * such cache and simply runs. Outputs never depend on it.
 */
import module from "node:module";

const withCache = module as typeof module & { enableCompileCache?: () => unknown };
if (typeof withCache.enableCompileCache === "function" && !process.env.SCRATCH_PKGS_NO_COMPILE_CACHE) {
  try {
    withCache.enableCompileCache();
  } catch {
    // A read-only temp directory only costs time.
  }
}
const { main } = await import("./main.js");
const { EXIT } = await import("../model/errors.js");
const { hideBin } = await import("yargs/helpers");
process.exitCode = await main(hideBin(process.argv)).catch((e: unknown) => {
  process.stderr.write(`scratch-pkgs: internal error: ${(e as Error).stack}\n`);
  return EXIT.internal;
});
