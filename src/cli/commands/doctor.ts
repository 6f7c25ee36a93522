import type { CommandModule } from "yargs";
import type { Output } from "../output.js";
import { EXIT } from "../../model/errors.js";

interface DoctorFlags {
  binary: string;
  layer?: string | undefined;
  lockfile?: string | undefined;
  arch?: string | undefined;
}

export function doctorCommand(out: Output, setCode: (c: number) => void): CommandModule<object, DoctorFlags> {
  return {
    command: "doctor <binary>",
    describe: "read a binary's ELF interpreter and needed libraries: which packages/file sets it needs and what a layer lacks",
    builder: (y) =>
      y
        .positional("binary", { type: "string", demandOption: true, describe: "the executable or shared library to check" })
        .option("layer", { type: "string", describe: "a layer tar (.tar, .tar.gz, .tar.zst) to look the needs up in" })
        .option("lockfile", { type: "string", describe: "scratch.lock, to check architectures and locked packages" })
        .option("arch", { type: "string", describe: "the Debian architecture the binary must be built for" }) as never,
    handler: async (argv) => {
      const { runDoctor, formatDoctor } = await import("../../commands/doctor.js");
      const report = await runDoctor({
        binary: argv.binary,
        ...(argv.layer !== undefined ? { layer: argv.layer } : {}),
        ...(argv.lockfile !== undefined ? { lockfile: argv.lockfile } : {}),
        ...(argv.arch !== undefined ? { arch: argv.arch } : {}),
      });
      for (const l of formatDoctor(report)) out.result(l);
      out.json(report);
      setCode(report.ok ? EXIT.ok : EXIT.checkFailed);
    },
  };
}
