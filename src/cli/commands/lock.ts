import type { CommandModule } from "yargs";
import type { Output } from "../output.js";
import { fetchOptions, lockingOptions, makeFetcher, type LockingFlags } from "./common.js";

interface LockFlags extends LockingFlags {
  check: boolean;
  update?: string[] | undefined;
  snapshot?: string | undefined;
}

export function lockCommand(out: Output, setCode: (c: number) => void): CommandModule<object, LockFlags> {
  return {
    command: "lock",
    describe: "resolve scratch.json against the signed archives and write scratch.lock",
    builder: (y) =>
      fetchOptions(y)
        .option("config", { type: "string", default: "scratch.json", describe: "the manifest" })
        .option("lockfile", { type: "string", default: "scratch.lock", describe: "the lock to write or check" })
        .option("check", { type: "boolean", default: false, describe: "write nothing; exit 1 if the lock is stale or would change" })
        .option("update", { type: "string", array: true, describe: "re-resolve every package (no names) or the named ones, instead of keeping the lock's versions" })
        .option("snapshot", { type: "string", describe: "now|YYYYMMDDTHHMMSSZ: first move every snapshot URL's timestamp in the manifest there (lock --update --snapshot now)" }) as never,
    handler: async (argv) => {
      const [{ runLock }, { ResolutionMemo }] = await Promise.all([import("../../commands/lock.js"), import("../../lock/memo.js")]);
      const session = await makeFetcher(argv);
      try {
        const update = argv.update === undefined ? undefined : argv.update.filter((u) => u !== "").length === 0 ? true : argv.update.filter((u) => u !== "");
        const result = await runLock({
          ...lockingOptions(argv, session, new ResolutionMemo(session.cache), out),
          check: argv.check,
          update,
          snapshot: argv.snapshot,
        });
        const counts = Object.entries(result.lock.architectures).map(([a, v]) => `${a} ${v.packages.length} packages`);
        if (argv.check) out.result(`${argv.lockfile} is up to date (${counts.join(", ")})`);
        else if (result.written) {
          out.result(`${argv.lockfile} written (${counts.join(", ")})`);
          for (const c of result.changes) out.note(c);
        } else out.result(`${argv.lockfile} unchanged (${counts.join(", ")})`);
        out.json({ ok: true, lockfile: argv.lockfile, changed: result.changed, written: result.written, changes: result.changes, lock: result.lock });
        setCode(0);
      } finally {
        await session.close();
      }
    },
  };
}
