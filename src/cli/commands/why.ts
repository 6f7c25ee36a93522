import type { CommandModule } from "yargs";
import type { Output } from "../output.js";
import { CheckFailedError } from "../../model/errors.js";

interface WhyFlags {
  target: string;
  lockfile: string;
  arch?: string | undefined;
  cache?: string | undefined;
  provenance?: string[] | undefined;
  json: boolean;
}

export function whyCommand(out: Output, setCode: (c: number) => void): CommandModule<object, WhyFlags> {
  return {
    command: "why <target>",
    describe: "explain why a package (name) or a file (/absolute/path) is in the lock",
    builder: (y) =>
      y
        .positional("target", { type: "string", demandOption: true, describe: "a package name or an absolute path" })
        .option("lockfile", { type: "string", default: "scratch.lock", describe: "the lock to explain" })
        .option("arch", { type: "string", describe: "only this architecture" })
        .option("cache", { type: "string", describe: "cache directory, where lock keeps the layers' provenance manifests (default $XDG_CACHE_HOME/scratch-pkgs)" })
        .option("provenance", { type: "string", array: true, describe: "for a path: the layers' .provenance.jsonl (written beside each layer), when the cache lacks them" }) as never,
    handler: async (argv) => {
      const [{ readLockfile }, { why, formatWhy, layerProvenance }, { ContentCache, defaultCacheDir }] = await Promise.all([
        import("../../lockfile/read.js"),
        import("../../commands/why.js"),
        import("../../fetch/cache.js"),
      ]);
      const lock = await readLockfile(argv.lockfile);
      // For a path, the layers' provenance manifests say what made it (every package that ships it).
      const provenance = argv.target.startsWith("/") ? await layerProvenance(lock, new ContentCache(argv.cache ?? defaultCacheDir()), argv.provenance ?? [], argv.arch) : undefined;
      const ans = why(lock, argv.target, argv.arch, provenance);
      if (ans.matches.length === 0 && ans.derivations.length === 0 && ans.implicit.length === 0) {
        const where = argv.arch ? ` for ${argv.arch}` : "";
        // An optional request the archive lacks is in scratch.json already: say where it was skipped and why.
        const skipped = ans.skipped.map((s) => `\n  ${s.architecture}: skipped, ${s.reason}`).join("");
        throw new CheckFailedError(ans.kind === "package" ? `${argv.target} is not in ${argv.lockfile}${where}${skipped}` : `the layer of ${argv.lockfile}${where} has no ${argv.target}`, {
          hint:
            ans.kind === "path"
              ? "no package member or derivation puts this path in the layer (its .provenance.jsonl lists every path); to add it, request the package that ships it and a file set whose paths take it"
              : skipped
                ? "it is an optional request (\"optional\": true) the archive does not have there; drop \"optional\" to make its absence an error, or check its name"
                : "add it to scratch.json (packages or a file set) and run scratch-pkgs lock",
        });
      }
      out.json({ ok: true, ...ans });
      for (const l of formatWhy(ans)) out.result(l);
      setCode(0);
    },
  };
}
