import type { CommandModule } from "yargs";
import type { Output } from "../output.js";
import { fallbackOptions, fetchOptions, makeFetcher, snapshotService, type FallbackFlags, type FetchFlags } from "./common.js";
import type { LayerCompression } from "../../codec/compress.js";
import { UsageError } from "../../model/errors.js";

interface LayerFlags extends FetchFlags, FallbackFlags {
  lockfile: string;
  arch?: string[] | undefined;
  output?: string | undefined;
  compress: LayerCompression;
  check: boolean;
}

export function layerCommand(out: Output, setCode: (c: number) => void): CommandModule<object, LayerFlags> {
  return {
    command: "layer",
    describe: "build the layer tar of each architecture from scratch.lock, byte-identical everywhere",
    builder: (y) =>
      fallbackOptions(fetchOptions(y.usage("$0 layer (--output FILE | --check) [options]\n\nbuild the layer tar of each architecture from scratch.lock, byte-identical everywhere")))
        .option("lockfile", { type: "string", default: "scratch.lock", describe: "the lock to build from" })
        .option("arch", { type: "string", array: true, describe: "architecture(s) to build (default: all in the lock)" })
        .option("output", { alias: "o", type: "string", describe: "where to write the layer ({arch} is replaced); a .provenance.jsonl is written beside it. This or --check is required" })
        .option("compress", { type: "string", choices: ["none", "gzip", "zstd"] as LayerCompression[], default: "none" as LayerCompression, describe: "layer compression (pinned settings, recorded in the lock)" })
        .option("check", { type: "boolean", default: false, describe: "build, compare with the lock, write nothing; exit 1 unless equal. This or --output is required" }) as never,
    handler: async (argv) => {
      if (!argv.output && !argv.check) throw new UsageError("layer needs --output FILE (or --check)", { hint: "e.g. scratch-pkgs layer --arch amd64 --output layer.tar" });
      const { runLayer } = await import("../../commands/layer.js");
      const { fetcher, cache, close } = await makeFetcher(argv);
      try {
        const results = await runLayer({
          lockfile: argv.lockfile,
          arches: argv.arch ?? [],
          output: argv.output,
          compress: argv.compress,
          check: argv.check,
          mirrors: argv.mirror,
          envMirror: process.env.SCRATCH_PKGS_MIRROR,
          aptSources: argv["apt-sources"],
          aptSourcesFallback: argv["apt-sources-fallback"],
          snapshotFallback: snapshotService(argv),
          fetcher,
          cache,
        });
        for (const r of results) {
          out.result(`${r.arch}: diff_id ${r.diffId} (${r.size} bytes)` + (r.compression !== "none" ? `, ${r.compression} ${r.digest} (${r.compressedSize} bytes)` : "") + (r.output ? ` → ${r.output}` : argv.check ? ": matches the lock" : ""));
        }
        out.json({ ok: true, layers: results });
        setCode(0);
      } finally {
        await close();
      }
    },
  };
}
