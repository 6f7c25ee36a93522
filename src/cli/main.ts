/**
 * The command line. Each command parses its flags, builds its collaborators (HTTP client,
 * cache, progress) and calls one library function; exit codes come from the typed errors.
 * bin.ts is the only executable that runs it.
 */
import yargs from "yargs";
import { UsageError } from "../model/errors.js";
import { Output } from "./output.js";
import { lockCommand } from "./commands/lock.js";
import { whyCommand } from "./commands/why.js";
import { layerCommand } from "./commands/layer.js";
import { auditCommand } from "./commands/audit.js";
import { doctorCommand } from "./commands/doctor.js";
import { imageCommand } from "./commands/image.js";
import { VERSION } from "../util/version.js";

export async function main(argv: string[]): Promise<number> {
  // Decide --json/--quiet before yargs, so that even usage errors honour them.
  const out = new Output({ json: argv.includes("--json"), quiet: argv.includes("--quiet") || argv.includes("-q") });
  let code = 0;
  try {
    const cli = yargs(argv);
    skipHelpPrerender(cli);
    await cli
      .scriptName("scratch-pkgs")
      .usage("$0 <command> [options]\n\nLock, verify and build reproducible FROM-scratch layers from signed Debian archives.")
      .option("json", { type: "boolean", default: false, describe: "print one JSON document on stdout" })
      .option("quiet", { alias: "q", type: "boolean", default: false, describe: "print nothing but errors" })
      .command(lockCommand(out, (c) => (code = c)))
      .command(layerCommand(out, (c) => (code = c)))
      .command(imageCommand(out, (c) => (code = c)))
      .command(auditCommand(out, (c) => (code = c)))
      .command(doctorCommand(out, (c) => (code = c)))
      .command(whyCommand(out, (c) => (code = c)))
      .demandCommand(1, "name a command")
      .strict()
      .version(VERSION)
      .help()
      .wrap(Math.min(100, process.stdout.columns || 100))
      .fail((msg, err) => {
        if (err) throw err;
        throw new UsageError(msg, { hint: "see scratch-pkgs --help" });
      })
      .parseAsync();
  } catch (e) {
    return out.error(e);
  }
  return code;
}

/**
 * yargs renders a command's whole help text before running it, to have it ready should the
 * handler later call showHelp(); ours never do (failures become UsageErrors), and the rendering
 * is ~35 ms of every run's startup. --help itself renders as before. A no-op if yargs changes.
 */
function skipHelpPrerender(cli: unknown): void {
  type Internals = { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } | undefined } | undefined };
  const usage = (cli as Internals).getInternalMethods?.()?.getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === "function") usage.cacheHelpMessage = () => {};
}
