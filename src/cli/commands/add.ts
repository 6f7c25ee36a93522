import type { CommandModule } from "yargs";
import type { Output } from "../output.js";
import { EXIT } from "../../model/errors.js";
import { fetchOptions, lockingOptions, makeFetcher, type LockingFlags } from "./common.js";

interface AddFlags extends LockingFlags {
  binary: string[];
  check: boolean;
  whole: boolean;
}

export function addCommand(out: Output, setCode: (c: number) => void): CommandModule<object, AddFlags> {
  return {
    command: "add <binary..>",
    describe: "write what doctor finds each binary needs into scratch.json (a file set of its exact paths), then re-lock",
    builder: (y) =>
      fetchOptions(y)
        .positional("binary", { type: "string", array: true, demandOption: true, describe: "the executables or shared libraries to add" })
        .option("config", { type: "string", default: "scratch.json", describe: "the manifest to add to" })
        .option("lockfile", { type: "string", default: "scratch.lock", describe: "the lock to re-make" })
        .option("check", { type: "boolean", default: false, describe: "write nothing; print what would be added (a diff of the manifest) and exit 1 if anything would" })
        .option("whole", { type: "boolean", default: false, describe: "request the packages whole (top-level \"packages\") instead of a file set of the exact paths" }) as never,
    handler: async (argv) => {
      const [{ runAdd }, { findNeeds }, { ResolutionMemo }] = await Promise.all([import("../../commands/add.js"), import("../../commands/binary-needs-source.js"), import("../../lock/memo.js")]);
      const session = await makeFetcher(argv);
      try {
        const result = await runAdd({
          binaries: argv.binary,
          whole: argv.whole,
          check: argv.check,
          findNeeds,
          ...lockingOptions(argv, session, new ResolutionMemo(session.cache), out),
        });
        const added = result.additions.map((a) => `${a.field} ${a.action} (${a.detail}; ${a.binary})`);
        if (argv.check) {
          if (result.changed) {
            for (const l of result.diff) out.result(l);
            out.result(`${argv.config} would change: ${added.join("; ")}`);
          } else out.result(`${argv.config} already has what ${argv.binary.join(", ")} ${argv.binary.length === 1 ? "needs" : "need"}`);
          out.json({ ok: !result.changed, config: argv.config, changed: result.changed, additions: result.additions, diff: result.diff, needs: result.needs });
          setCode(result.changed ? EXIT.checkFailed : EXIT.ok);
          return;
        }
        const lock = result.lock!;
        for (const l of added) out.result(`${argv.config}: ${l}`);
        if (!result.changed) out.result(`${argv.config} unchanged: it already has what ${argv.binary.join(", ")} ${argv.binary.length === 1 ? "needs" : "need"}`);
        const counts = Object.entries(lock.lock.architectures).map(([a, v]) => `${a} ${v.packages.length} packages`);
        out.result(`${argv.lockfile} ${lock.written ? "written" : "unchanged"} (${counts.join(", ")})`);
        for (const c of lock.changes) out.note(c);
        out.json({ ok: true, config: argv.config, changed: result.changed, additions: result.additions, needs: result.needs, lockfile: argv.lockfile, lockChanged: lock.changed, lockWritten: lock.written, changes: lock.changes });
        setCode(EXIT.ok);
      } finally {
        await session.close();
      }
    },
  };
}
