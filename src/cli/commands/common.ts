/** Flags and collaborators shared by the commands that fetch. */
import type { Argv } from "yargs";
import type { FetchSession } from "../../fetch/session.js";
import type { ResolutionMemo } from "../../lock/memo.js";
import type { Output } from "../output.js";
import { parseMinThroughput, type MinThroughput } from "../../fetch/throughput.js";
import { UsageError } from "../../model/errors.js";
import { DEFAULT_SNAPSHOT_SERVICE } from "../../sources/snapshot-files.js";

export function fetchOptions<T>(y: Argv<T>) {
  return y
    .option("mirror", { type: "string", array: true, default: [] as string[], describe: "fetch from URL instead of the sources' URLs (NAME=URL for one source); the lock keeps the manifest's URLs. Env: SCRATCH_PKGS_MIRROR" })
    .option("apt-sources", { type: "string", describe: "use the URIs of an apt sources file (.sources or sources.list; no value: this machine's) as mirrors for the suites they carry" })
    .option("apt-sources-fallback", { type: "boolean", default: false, describe: "with --apt-sources: fetch the suites the apt sources lack from the sources' own URLs (default: refuse them)" })
    .option("offline", { type: "boolean", default: false, describe: "use only the cache; fail if something is missing" })
    .option("cache", { type: "string", describe: "cache directory (default $XDG_CACHE_HOME/scratch-pkgs)" });
}

/** The flag of the commands that fetch a lock's .debs (layer, image, audit). */
export function fallbackOptions<T>(y: Argv<T>) {
  return y.option("snapshot-fallback", {
    type: "boolean",
    default: false,
    describe: "a .deb the lock's URL (or mirror) no longer serves (404) is fetched from snapshot.debian.org by its hashes, accepted only with the lock's sha256 and size. Env: SCRATCH_PKGS_SNAPSHOT_URL (the service's base URL)",
  });
}

export interface FallbackFlags {
  "snapshot-fallback": boolean;
}

/** The snapshot service for --snapshot-fallback (undefined: not opted in). */
export function snapshotService(flags: FallbackFlags): string | undefined {
  if (!flags["snapshot-fallback"]) return undefined;
  const v = process.env.SCRATCH_PKGS_SNAPSHOT_URL;
  if (v === undefined || v === "") return DEFAULT_SNAPSHOT_SERVICE;
  if (!/^https?:\/\/[^/]/i.test(v) || !URL.canParse(v)) {
    throw new UsageError(`SCRATCH_PKGS_SNAPSHOT_URL=${v} is not an http(s) URL`, { hint: `give the snapshot service's base URL (default ${DEFAULT_SNAPSHOT_SERVICE}), or unset it` });
  }
  return v.replace(/\/+$/, "");
}

export interface FetchFlags {
  mirror: string[];
  "apt-sources"?: string | undefined;
  "apt-sources-fallback": boolean;
  offline: boolean;
  cache?: string | undefined;
  quiet: boolean;
  json: boolean;
}

/** Loaded when a command runs, so that --help and --version stay quick. */
export async function makeFetcher(flags: FetchFlags): Promise<FetchSession> {
  const [{ openFetchSession }, { createProgress }] = await Promise.all([import("../../fetch/session.js"), import("../../fetch/progress.js")]);
  const minThroughput = minThroughputFromEnv();
  return openFetchSession({
    cacheDir: flags.cache,
    offline: flags.offline,
    ...(minThroughput ? { http: { minThroughput } } : {}),
    cacheTrimDays: cacheTrimDaysFromEnv(),
    progress: createProgress({ quiet: flags.quiet || flags.json, stream: process.stderr }),
  });
}

/** SCRATCH_PKGS_MIN_RATE=BYTES/SECONDS: the download throughput floor (0: none); unset: the default. */
function minThroughputFromEnv(): MinThroughput | undefined {
  const v = process.env.SCRATCH_PKGS_MIN_RATE;
  if (v === undefined || v === "") return undefined;
  const floor = parseMinThroughput(v);
  if (floor === undefined) {
    throw new UsageError(`SCRATCH_PKGS_MIN_RATE=${v} is not BYTES/SECONDS`, { hint: 'give e.g. "32768/30" (at least 32 KiB in every 30 s), "0" for no floor, or unset it' });
  }
  return floor;
}

/** SCRATCH_PKGS_CACHE_TRIM_DAYS=N: remove cache entries unused for N days (0: never); unset: the default. */
function cacheTrimDaysFromEnv(): number | undefined {
  const v = process.env.SCRATCH_PKGS_CACHE_TRIM_DAYS;
  if (v === undefined || v === "") return undefined;
  if (!/^\d{1,5}$/.test(v)) throw new UsageError(`SCRATCH_PKGS_CACHE_TRIM_DAYS=${v} is not a whole number of days`, { hint: 'give e.g. "30", "0" never to trim the cache, or unset it' });
  return Number(v);
}

/** SOURCE_DATE_EPOCH (reproducible-builds.org): `lock` takes it for the layers' mtime, a file-carrier `image` for `created`. */
export function sourceDateEpochFromEnv(): { sourceDateEpoch?: number } {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === "") return {};
  if (!/^\d{1,12}$/.test(v)) throw new UsageError(`SOURCE_DATE_EPOCH=${v} is not a number of seconds`, { hint: "unset it or give whole seconds since 1970" });
  return { sourceDateEpoch: Number(v) };
}

/** The flags of the commands that lock (`lock`, and `add`, which re-locks). */
export interface LockingFlags extends FetchFlags {
  config: string;
  lockfile: string;
}

/** What `lock` and `add` hand runLock from their flags and fetch session. */
export function lockingOptions(argv: LockingFlags, session: FetchSession, memo: ResolutionMemo, out: Output) {
  return {
    config: argv.config,
    lockfile: argv.lockfile,
    mirrors: argv.mirror,
    envMirror: process.env.SCRATCH_PKGS_MIRROR,
    aptSources: argv["apt-sources"],
    aptSourcesFallback: argv["apt-sources-fallback"],
    fetcher: session.fetcher,
    memo,
    blobs: session.cache,
    now: new Date(),
    ...sourceDateEpochFromEnv(),
    note: (l: string) => out.note(l),
  };
}
