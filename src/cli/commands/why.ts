import type { CommandModule } from "yargs";
import type { Output } from "../output.js";
import { CheckFailedError } from "../../model/errors.js";

interface WhyFlags {
  target: string;
  lockfile: string;
  arch?: string | undefined;
  json: boolean;
}

export function whyCommand(out: Output, setCode: (c: number) => void): CommandModule<object, WhyFlags> {
  return {
    command: "why <target>",
    describe: "explain why a package (name) or a file (/absolute/path) is in the lock",
    builder: (y) =>
      y
        .positional("target", { type: "string", demandOption: true, describe: "a package name or an absolute path" })
        .option("lockfile", { type: "string", default: "scratch.lock" })
        .option("arch", { type: "string", describe: "only this architecture" }) as never,
    handler: async (argv) => {
      const [{ readLockfile }, { why, formatWhy }] = await Promise.all([import("../../lockfile/read.js"), import("../../commands/why.js")]);
      const lock = await readLockfile(argv.lockfile);
      const ans = why(lock, argv.target, argv.arch);
      if (ans.matches.length === 0 && ans.derivations.length === 0) {
        throw new CheckFailedError(`${argv.target} is not in ${argv.lockfile}${argv.arch ? ` for ${argv.arch}` : ""}`, {
          hint: ans.kind === "package" ? "add it to scratch.json (packages or a file set) and run scratch-pkgs lock" : "no locked package's selection rules take this path",
        });
      }
      out.json({ ok: true, ...ans });
      for (const l of formatWhy(ans)) out.result(l);
      setCode(0);
    },
  };
}
