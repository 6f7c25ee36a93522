import type { CommandModule } from "yargs";
import type { Output } from "../output.js";
import { fallbackOptions, fetchOptions, makeFetcher, snapshotService, type FallbackFlags, type FetchFlags } from "./common.js";

interface AuditFlags extends FetchFlags, FallbackFlags {
  lockfile: string;
  config: string;
  provenance?: string[] | undefined;
}

export function auditCommand(out: Output, setCode: (c: number) => void): CommandModule<object, AuditFlags> {
  return {
    command: "audit",
    describe: "re-verify signatures and hashes, re-download every .deb, rebuild every layer and compare with the lock",
    builder: (y) =>
      fallbackOptions(fetchOptions(y))
        .option("lockfile", { type: "string", default: "scratch.lock", describe: "the lock to audit" })
        .option("config", { type: "string", default: "scratch.json", describe: "the manifest (for the sources' keyrings)" })
        .option("provenance", { type: "string", array: true, describe: "recorded provenance manifests (.provenance.jsonl) to list differing paths from" }) as never,
    handler: async (argv) => {
      const [{ runAudit }, { formatReport, auditExitCode }] = await Promise.all([import("../../commands/audit.js"), import("../../audit/report.js")]);
      const { fetcher, cache, close } = await makeFetcher(argv);
      try {
        const report = await runAudit({
          lockfile: argv.lockfile,
          config: argv.config,
          mirrors: argv.mirror,
          envMirror: process.env.SCRATCH_PKGS_MIRROR,
          aptSources: argv["apt-sources"],
          aptSourcesFallback: argv["apt-sources-fallback"],
          snapshotFallback: snapshotService(argv),
          fetcher,
          cache,
          now: new Date(),
          provenance: argv.provenance ?? [],
        });
        for (const l of formatReport(report)) out.result(l);
        out.json(report);
        setCode(auditExitCode(report));
      } finally {
        await close();
      }
    },
  };
}
