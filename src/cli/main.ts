/**
 * The command line. Each command parses its flags, builds its collaborators (HTTP client,
 * cache, progress) and calls one library function; exit codes come from the typed errors.
 * bin.ts is the only executable that runs it.
 */
import yargs, { type Argv, type CommandModule } from "yargs";
import { EXIT, UsageError } from "../model/errors.js";
import { Output } from "./output.js";
import { lockCommand } from "./commands/lock.js";
import { whyCommand } from "./commands/why.js";
import { layerCommand } from "./commands/layer.js";
import { auditCommand } from "./commands/audit.js";
import { doctorCommand } from "./commands/doctor.js";
import { imageCommand } from "./commands/image.js";
import { addCommand } from "./commands/add.js";
import { VERSION } from "../util/version.js";

export async function main(argv: string[]): Promise<number> {
  // Decide --json/--quiet before yargs, so that even usage errors honour them.
  const out = new Output({ json: argv.includes("--json"), quiet: argv.includes("--quiet") || argv.includes("-q") });
  let code = 0;
  try {
    const cli = commandLine(argv, out, (c) => (code = c));
    skipHelpPrerender(cli);
    await cli.parseAsync();
  } catch (e) {
    return out.error(e);
  }
  return code;
}

const COMMANDS = [lockCommand, layerCommand, imageCommand, auditCommand, doctorCommand, addCommand, whyCommand];

// In the epilogue, not .example(): yargs's two columns would break the commands mid-word.
const EXAMPLES = `Examples:
  scratch-pkgs lock && scratch-pkgs layer --output layer-{arch}.tar
      resolve scratch.json into scratch.lock, then build each architecture's layer from it
  scratch-pkgs image --output image/ --add app-{arch}.tar --entrypoint '["/app"]'
      a multi-arch OCI image layout: the locked packages, then your binary`;

/** What each exit code means, for the top-level help; the codes themselves are EXIT's. */
const EXIT_MEANINGS: Array<[number, string]> = [
  [EXIT.ok, "success"],
  [EXIT.checkFailed, "a check failed (stale lock, bad signature, hash mismatch, a path the layer lacks)"],
  [EXIT.usage, "bad usage, an invalid manifest or lock, a request the archive cannot satisfy"],
  [EXIT.network, "network or I/O failure after retries"],
  [EXIT.internal, "an internal error: a bug in scratch-pkgs, please report it"],
];

/** The whole command line, not yet parsed: main() runs it; tests read every command's --help from it. */
export function commandLine(argv: string[], out: Output, setCode: (c: number) => void): Argv {
  const modules = COMMANDS.map((c) => c(out, setCode) as CommandModule);
  // A usage error inside a command points to that command's help.
  const named = modules.map((m) => String(m.command).split(" ")[0]).find((c) => argv[0] === c);
  return yargs(argv)
    .scriptName("scratch-pkgs")
    .usage("$0 <command> [options]\n\nLock, verify and build reproducible FROM-scratch layers from signed Debian archives.")
    .option("json", { type: "boolean", default: false, describe: "print one JSON document on stdout" })
    .option("quiet", { alias: "q", type: "boolean", default: false, describe: "print nothing but errors" })
    .command(modules)
    .epilogue(`${EXAMPLES}\n\nExit codes:\n${EXIT_MEANINGS.map(([c, m]) => `  ${String(c).padEnd(4)}${m}`).join("\n")}`)
    .demandCommand(1, "name a command")
    .strict()
    .version(VERSION)
    .help()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg, { hint: `see scratch-pkgs ${named ? `${named} ` : ""}--help` });
    });
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
