import type { CommandModule } from "yargs";
import type { Output } from "../output.js";
import { CheckFailedError } from "../../model/errors.js";

interface WhyFlags {
  target: string;
  lockfile: string;
  arch?: string | undefined;
  cache?: string | undefined;
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
        .option("cache", { type: "string", describe: "cache directory, where lock keeps the layers' provenance manifests (default $XDG_CACHE_HOME/scratch-pkgs)" }) as never,
    handler: async (argv) => {
      const [{ readLockfile }, { why, formatWhy, cachedProvenance }, { ContentCache, defaultCacheDir }] = await Promise.all([
        import("../../lockfile/read.js"),
        import("../../commands/why.js"),
        import("../../fetch/cache.js"),
      ]);
      const lock = await readLockfile(argv.lockfile);
      // For a path, the manifests say which packages ship it (all of them); without, the rules answer.
      const provenance = argv.target.startsWith("/") ? await cachedProvenance(lock, new ContentCache(argv.cache ?? defaultCacheDir()), argv.arch) : undefined;
      const ans = why(lock, argv.target, argv.arch, provenance);
      if (ans.matches.length === 0 && ans.derivations.length === 0) {
        throw new CheckFailedError(`${argv.target} is not in ${argv.lockfile}${argv.arch ? ` for ${argv.arch}` : ""}`, {
          hint: ans.kind === "package" ? "add it to scratch.json (packages or a file set) and run scratch-pkgs lock" : "no locked package ships this path, or (without the layer's provenance manifest in the cache) no selection rule takes it",
        });
      }
      out.json({ ok: true, ...ans });
      for (const l of formatWhy(ans)) out.result(l);
      setCode(0);
    },
  };
}
