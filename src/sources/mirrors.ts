/**
 * Where to fetch each source's suites from. Content is pinned by hashes from the signed
 * InRelease, so any mirror with the same bytes will do; scratch.lock always records the
 * manifest's URLs, never these. Precedence, highest first:
 *   --mirror NAME=URL  >  --mirror URL (every source)  >  apt sources with the suite
 * (SCRATCH_PKGS_MIRROR stands in for --mirror when no --mirror is given), else the manifest URL.
 * A suite that --apt-sources should cover but the apt sources lack is refused up front (a typo or
 * another release), unless the user allows the manifest URL for it (--apt-sources-fallback).
 * Within a level, URLs are tried in the order given.
 */
import { UsageError } from "../model/errors.js";
import { didYouMean } from "../util/did-you-mean.js";
import { checkUrl, stripTrailingSlash } from "../manifest/validate.js";
import { readAptSources, type AptSourceEntry } from "./apt-sources.js";

/** What mirror planning needs of a source: the manifest's sources and the lock's both fit. */
export interface MirrorSource {
  name: string;
  /** The URL the manifest (and so the lock) records. */
  url: string;
  /** Its suites (the manifest's names, or the lock's records): checked against the apt sources. */
  suites?: ReadonlyArray<string | { suite: string }>;
}

export interface MirrorPlan {
  /** URLs to fetch from, in order; the manifest URL when no override applies. */
  basesFor(source: string, suite: string): string[];
  /** What to do when those URLs lack the suite, when the plan is the likelier culprit than the suite's name. */
  missingSuiteHint(source: string): string | undefined;
}

export interface MirrorOptions {
  /** From repeated --mirror: "URL" applies to every source, "NAME=URL" to source NAME. */
  mirrors: string[];
  /** SCRATCH_PKGS_MIRROR: the same syntax (several specs separated by spaces); used only when no --mirror is given. */
  envMirror?: string | undefined;
  /** From --apt-sources: the first entry (in file order) listing a suite gives that suite's URLs. */
  apt?: AptSourceEntry[];
  /** Suites the apt sources lack come from the manifest URL instead of being refused. */
  aptFallback?: boolean | undefined;
}

/** The command-line view: --apt-sources FILE, or "" for the machine's own apt lists, or absent. */
export interface MirrorFlags {
  mirrors: string[];
  envMirror?: string | undefined;
  aptSources?: string | undefined;
  aptSourcesFallback?: boolean | undefined;
}

/** The mirror plan of a run, reading the apt sources the flags name. What every command uses. */
export async function mirrorsFor(sources: readonly MirrorSource[], flags: MirrorFlags): Promise<MirrorPlan> {
  const apt = flags.aptSources === undefined ? undefined : await readAptSources(flags.aptSources || undefined);
  return planMirrors(sources, { mirrors: flags.mirrors, envMirror: flags.envMirror, aptFallback: flags.aptSourcesFallback, ...(apt ? { apt } : {}) });
}

const NAMED = /^([a-z0-9][a-z0-9._-]*)=(.*)$/;

export function planMirrors(sources: readonly MirrorSource[], opts: MirrorOptions): MirrorPlan {
  const fromFlag = opts.mirrors.length > 0;
  const specs = fromFlag ? opts.mirrors : (opts.envMirror ?? "").split(/\s+/).filter((s) => s !== "");
  const flag = fromFlag ? "--mirror" : "SCRATCH_PKGS_MIRROR";
  const names = sources.map((s) => s.name);

  const forAll: string[] = [];
  const named = new Map<string, string[]>();
  for (const spec of specs) {
    const m = NAMED.exec(spec);
    const name = m?.[1];
    const url = m ? m[2]! : spec;
    const bad = checkMirrorUrl(url);
    if (bad) throw new UsageError(`${flag} ${spec}: ${bad}`, { hint: `write ${flag === "--mirror" ? "--mirror " : "SCRATCH_PKGS_MIRROR="}URL or NAME=URL, e.g. debian=https://mirror.example/debian or debian=file:///srv/debian` });
    const clean = stripTrailingSlash(url);
    if (name === undefined) {
      pushUnique(forAll, clean);
      continue;
    }
    if (!names.includes(name)) {
      const near = didYouMean(name, names);
      throw new UsageError(`${flag} ${spec}: the manifest has no source named ${JSON.stringify(name)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ""}`, {
        hint: `sources are: ${names.map((n) => JSON.stringify(n)).join(", ")}; or give a URL alone to use it for every source`,
      });
    }
    const list = named.get(name) ?? [];
    pushUnique(list, clean);
    named.set(name, list);
  }

  if (opts.apt && !opts.aptFallback && forAll.length === 0) checkAptCoverage(sources.filter((s) => !named.has(s.name)), opts.apt);

  const byName = new Map(sources.map((s) => [s.name, s]));
  return {
    basesFor(source, suite) {
      const s = byName.get(source);
      if (!s) throw new Error(`mirror plan: unknown source ${JSON.stringify(source)}`);
      const urls = named.get(s.name) ?? (forAll.length > 0 ? forAll : (opts.apt?.find((e) => e.suites.includes(suite))?.uris ?? [s.url]));
      return [...urls];
    },
    missingSuiteHint(source) {
      // One mirror for every source rarely serves them all (debian-security lives elsewhere).
      if (named.has(source) || forAll.length === 0 || names.length < 2) return undefined;
      const each = fromFlag ? names.map((n) => `--mirror ${n}=URL`).join(" ") : `SCRATCH_PKGS_MIRROR="${names.map((n) => `${n}=URL`).join(" ")}"`;
      const given = fromFlag ? forAll.map((u) => `--mirror ${u}`).join(" ") : `SCRATCH_PKGS_MIRROR=${forAll.join(" ")}`;
      return `${given} is used for every source (${names.join(", ")}); give each source its own mirror with ${each}, or check the suite in scratch.json`;
    },
  };
}

/** Every suite --apt-sources is to serve is in the apt sources, or a usage error naming both sides. */
function checkAptCoverage(sources: readonly MirrorSource[], apt: readonly AptSourceEntry[]): void {
  const carried = [...new Set(apt.flatMap((e) => e.suites))];
  const missing = sources.flatMap((s) => (s.suites ?? []).map((x) => (typeof x === "string" ? x : x.suite)).filter((suite) => !carried.includes(suite)).map((suite) => `${suite} (source "${s.name}")`));
  if (missing.length === 0) return;
  const files = [...new Set(apt.map((e) => e.file))];
  const have = carried.length > 0 ? `carry the suites ${carried.join(", ")}` : "carry no http(s) suites";
  throw new UsageError(`--apt-sources: the apt sources${files.length > 0 ? ` (${files.join(", ")})` : ""} ${have}, not ${missing.join(", ")} that the sources ask for`, {
    hint: "check the suite names in the manifest, give a mirror for those suites with --mirror NAME=URL, or add --apt-sources-fallback to fetch them from the manifest's URLs",
  });
}

function pushUnique(list: string[], url: string): void {
  if (!list.includes(url)) list.push(url);
}

/**
 * A mirror may also be a local directory laid out as the archive is (file:///srv/debian):
 * it is a fetch-time override only, never recorded, so unlike the manifest's URL it needs no host.
 */
function checkMirrorUrl(url: string): string | undefined {
  if (!/^file:/i.test(url)) return checkUrl(url);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a valid URL`;
  }
  if (u.hostname !== "" && u.hostname !== "localhost") return `${JSON.stringify(url)} names a host; a file: mirror is a local directory, written file:///absolute/path`;
  if (!/^file:\/\/(localhost)?\//i.test(url)) return `${JSON.stringify(url)} is not an absolute file URL; write file:///absolute/path (e.g. file://$PWD/snapshots/debian)`;
  if (u.search !== "" || u.hash !== "") return `${JSON.stringify(url)} must not have a query or fragment`;
  return undefined;
}
