import type { CommandModule } from "yargs";
import type { Output } from "../output.js";
import { fallbackOptions, fetchOptions, makeFetcher, snapshotService, sourceDateEpochFromEnv, type FallbackFlags, type FetchFlags } from "./common.js";
import { UsageError } from "../../model/errors.js";

interface ImageFlags extends FetchFlags, FallbackFlags {
  /** No default here, so that --no-lock can refuse an explicit one. */
  lockfile?: string | undefined;
  lock: boolean;
  arch?: string[] | undefined;
  platform?: string[] | undefined;
  output?: string | undefined;
  add: string[];
  "allow-devices": boolean;
  entrypoint: string[];
  cmd: string[];
  user?: string | undefined;
  env: string[];
  workdir?: string | undefined;
  label: string[];
  tag?: string | undefined;
  sbom?: string | undefined;
  supplier?: string | undefined;
}

export function imageCommand(out: Output, setCode: (c: number) => void): CommandModule<object, ImageFlags> {
  return {
    command: "image",
    describe: "build an OCI image layout (multi-arch) or a docker-archive from scratch.lock plus your own layers, with an SPDX SBOM; or (--no-lock) of your layers alone",
    builder: (y) =>
      fallbackOptions(fetchOptions(y))
        .option("lockfile", { type: "string", describe: "the lock to build from (default scratch.lock)" })
        .option("lock", { type: "boolean", default: true, describe: "--no-lock: a file-carrier image of only the --add tars, for the --arch platforms (no lock is read; no SBOM)" })
        .option("output", { alias: "o", type: "string", describe: "required: a directory for an OCI image layout (every architecture), or FILE.tar for a docker-archive (one architecture)" })
        .option("arch", { type: "string", array: true, describe: "Debian architecture(s) to include (default: all in the lock; a docker-archive needs one; --no-lock needs them)" })
        .option("platform", { type: "string", array: true, describe: "the same by OCI platform, e.g. linux/arm64 or linux/arm/v7 (each is a Debian architecture's)" })
        .option("add", { type: "string", array: true, default: [] as string[], describe: "an extra layer: a tar or tar.gz of your files (e.g. the binary); {arch} is replaced; repeatable, in order" })
        .option("allow-devices", { type: "boolean", default: false, describe: "let the --add tars hold device nodes and fifos (refused by default, as in a .deb)" })
        .option("entrypoint", { type: "string", array: true, default: [] as string[], describe: 'exec form only: a JSON array \'["/app","--flag"]\' or one value per argument (the image has no shell)' })
        .option("cmd", { type: "string", array: true, default: [] as string[], describe: "default arguments, exec form like --entrypoint" })
        .option("user", { type: "string", describe: "user[:group] to run as (default 65532:65532 when the lock has the base set; \"\" for none)" })
        .option("env", { type: "string", array: true, default: [] as string[], describe: "KEY=VALUE, repeatable; overrides the defaults (PATH, SSL_CERT_FILE, TZ)" })
        .option("workdir", { type: "string", describe: "working directory (absolute)" })
        .option("label", { type: "string", array: true, default: [] as string[], describe: "KEY=VALUE image label, repeatable" })
        .option("tag", { type: "string", describe: "OCI layout: the ref name of the index (default latest); docker-archive: the repo tag (default none)" })
        .option("sbom", { type: "string", describe: "also write each architecture's SPDX 2.3 SBOM here ({arch} is replaced)" })
        .option("supplier", { type: "string", describe: "the SBOM's supplier of the image and its --add layers: \"Organization: NAME (EMAIL)\" or \"Person: NAME (EMAIL)\" (default NOASSERTION)" }) as never,
    handler: async (argv) => {
      if (argv.output === undefined) {
        throw new UsageError("image needs --output DIR (an OCI image layout, every architecture) or --output FILE.tar (a docker-archive, one --arch)", {
          hint: "e.g. scratch-pkgs image --output image/ --add app-{arch}.tar; see scratch-pkgs image --help",
        });
      }
      const output = argv.output;
      // Only an explicit --no-lock makes a carrier: a user who forgot `lock` gets the lockfile error.
      if (!argv.lock && argv.lockfile !== undefined) throw new UsageError(`--no-lock and --lockfile ${argv.lockfile} contradict each other`, { hint: "drop --no-lock to build from the lock, or --lockfile for an image of only the --add tars" });
      const { fetcher, cache, close } = await makeFetcher(argv);
      try {
        const { runImage } = await import("../../commands/image.js");
        const r = await runImage({
          lockfile: argv.lockfile ?? "scratch.lock",
          noLock: !argv.lock,
          ...(argv.lock ? {} : sourceDateEpochFromEnv()),
          arches: argv.arch ?? [],
          platforms: argv.platform ?? [],
          output,
          add: argv.add,
          allowDevices: argv["allow-devices"],
          entrypoint: argv.entrypoint,
          cmd: argv.cmd,
          user: argv.user,
          env: argv.env,
          workdir: argv.workdir,
          labels: argv.label,
          tag: argv.tag,
          sbom: argv.sbom,
          supplier: argv.supplier,
          mirrors: argv.mirror,
          envMirror: process.env.SCRATCH_PKGS_MIRROR,
          aptSources: argv["apt-sources"],
          aptSourcesFallback: argv["apt-sources-fallback"],
          snapshotFallback: snapshotService(argv),
          fetcher,
          cache,
        });
        if (r.index) out.result(`${r.output}: OCI image layout, index ${r.index.digest} tagged ${r.tag}`);
        else out.result(`${r.output}: docker-archive${r.tag ? ` tagged ${r.tag}` : ""}`);
        for (const i of r.images) {
          out.result(`  ${i.arch} (${i.platform.architecture}${i.platform.variant ? "/" + i.platform.variant : ""}): ${i.manifest ? `manifest ${i.manifest.digest} (tag ${i.manifest.tag}), ` : ""}image ID ${i.config.digest}, ${i.layers.length} layer(s)${i.sbom ? `, SBOM ${i.sbom}` : ""}`);
        }
        out.json({ ok: true, ...r });
        setCode(0);
      } finally {
        await close();
      }
    },
  };
}
