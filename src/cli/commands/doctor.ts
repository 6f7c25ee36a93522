import { existsSync } from "node:fs";
import type { CommandModule } from "yargs";
import type { Output } from "../output.js";
import { EXIT } from "../../model/errors.js";
import { fetchOptions, makeFetcher, type FetchFlags } from "./common.js";

interface DoctorFlags extends FetchFlags {
  binary: string;
  config?: string | undefined;
  layer?: string | undefined;
  lockfile?: string | undefined;
  arch?: string | undefined;
}

/** The default manifest; with --layer and none there, the layer is checked without naming packages. */
const DEFAULT_CONFIG = "scratch.json";

export function doctorCommand(out: Output, setCode: (c: number) => void): CommandModule<object, DoctorFlags> {
  return {
    command: "doctor <binary>",
    describe: "read a binary's ELF interpreter and needed libraries: which packages (from the manifest's suites' Contents) and files it needs and what a layer lacks",
    builder: (y) =>
      fetchOptions(y)
        .positional("binary", { type: "string", demandOption: true, describe: "the executable or shared library to check" })
        .option("config", { alias: "manifest", type: "string", describe: `the manifest whose suites are searched (default ${DEFAULT_CONFIG}; with --layer and no ${DEFAULT_CONFIG}, packages are not named)` })
        .option("layer", { type: "string", describe: "a layer tar (.tar, .tar.gz, .tar.zst) to look the needs up in" })
        .option("lockfile", { type: "string", describe: "scratch.lock: its architectures, its packages preferred" })
        .option("arch", { type: "string", describe: "the Debian architecture the binary must be built for" }) as never,
    handler: async (argv) => {
      const { runDoctor, formatDoctor } = await import("../../commands/doctor.js");
      const config = argv.config ?? (argv.layer !== undefined && !existsSync(DEFAULT_CONFIG) ? undefined : DEFAULT_CONFIG);
      const session = config !== undefined ? await makeFetcher(argv) : undefined;
      try {
        const memo = session ? new (await import("../../lock/memo.js")).ResolutionMemo(session.cache) : undefined;
        const report = await runDoctor({
          binary: argv.binary,
          ...(argv.layer !== undefined ? { layer: argv.layer } : {}),
          ...(argv.lockfile !== undefined ? { lockfile: argv.lockfile } : {}),
          ...(argv.arch !== undefined ? { arch: argv.arch } : {}),
          ...(config !== undefined && session
            ? {
                config,
                fetch: {
                  fetcher: session.fetcher,
                  now: new Date(),
                  memo,
                  mirrors: argv.mirror,
                  envMirror: process.env.SCRATCH_PKGS_MIRROR,
                  aptSources: argv["apt-sources"],
                  aptSourcesFallback: argv["apt-sources-fallback"],
                },
              }
            : {}),
        });
        for (const l of formatDoctor(report)) out.result(l);
        out.json(report);
        setCode(report.ok ? EXIT.ok : EXIT.checkFailed);
      } finally {
        await session?.close();
      }
    },
  };
}
