/**
 * The packages of path-only file sets, found through the archive's signed Contents indexes: on
 * one architecture, each asked path must be listed (as written, or as its merged-/usr twin) by
 * exactly one package across the manifest's suites. The answer is a function of the verified
 * Contents indexes (by sha256) and the paths alone, so when the old lock recorded the same
 * indexes and the same paths, its answer is reused and no Contents index is read.
 */
import type { Manifest } from "../model/manifest.js";
import type { LockedIndex, LockedPathOrigin, Lockfile } from "../model/lock.js";
import { ResolveError } from "../model/errors.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { VerifiedSuite } from "../sources/archive.js";
import { chooseContents, lookupContentsAcross } from "../sources/contents.js";
import type { AskedPath } from "./plan.js";

/** One Contents index an architecture's answer is read from. */
export interface ContentsChoice {
  vs: VerifiedSuite;
  locked: LockedIndex;
}

/** The Contents indexes of `arch` (and `all`) in every suite, as the verified releases list them. */
export function contentsChoices(manifest: Manifest, suites: readonly VerifiedSuite[], arch: string): ContentsChoice[] {
  return suites.flatMap((vs) => chooseContents(vs, componentsOf(manifest, vs), arch).map((c) => ({ vs, locked: c.locked })));
}

export interface FindOptions {
  manifest: Manifest;
  arch: string;
  suites: readonly VerifiedSuite[];
  asked: readonly AskedPath[];
  choices: readonly ContentsChoice[];
  /** The lock on disk, whose answers are reused where they were read from the same indexes. */
  old?: Lockfile | undefined;
}

/** Each asked path with the one package that ships it on `arch`, sorted by set then path. */
export async function findPathOrigins(fetcher: Fetcher, o: FindOptions): Promise<LockedPathOrigin[]> {
  if (o.asked.length === 0) return [];
  const recorded = recordedOrigins(o);
  if (recorded) return recorded;
  const paths = [...new Set(o.asked.map((a) => a.path))];
  fetcher.progress.phase(`looking up ${paths.length} ${paths.length === 1 ? "path" : "paths"} in the ${o.arch} Contents indexes`, `${o.choices.length} ${o.choices.length === 1 ? "index" : "indexes"}`);
  // path → spelling the index lists → package names, joined over every suite.
  const answer = await lookupContentsAcross(fetcher, o.suites.map((vs) => ({ vs, components: componentsOf(o.manifest, vs) })), { architecture: o.arch, paths });
  const found = new Map([...answer].map(([path, hits]) => [path, new Map(hits.map((h) => [h.path, new Set(h.packages)]))]));
  const origins: LockedPathOrigin[] = [];
  const problems: string[] = [];
  for (const a of o.asked) {
    const spellings = found.get(a.path)!;
    const names = [...new Set([...spellings.values()].flatMap((s) => [...s]))].sort();
    if (names.length !== 1) {
      // Each with the spelling it ships where that is the twin: /lib/x in one, /usr/lib/x in another.
      const as = (name: string) => [...spellings].filter(([sp, s]) => sp !== a.path && s.has(name)).map(([sp]) => ` (as ${sp})`).join("");
      problems.push(names.length === 0 ? `${a.path} (file set ${a.set}): no package ships it` : `${a.path} (file set ${a.set}): ${names.length} packages ship it: ${names.map((n) => n + as(n)).join(", ")}`);
      continue;
    }
    // The spelling the package ships: the path as written where the index lists it so.
    const listed = spellings.has(a.path) ? a.path : [...spellings.keys()].sort()[0]!;
    origins.push({ set: a.set, path: a.path, listed, package: names[0]! });
  }
  if (problems.length > 0) throw lookupError(o, problems);
  return origins;
}

/** The old lock's answer for `arch`, when it asked the same paths of the same indexes (by sha256). */
function recordedOrigins(o: FindOptions): LockedPathOrigin[] | undefined {
  const before = o.old?.architectures[o.arch]?.paths;
  if (!o.old || !before || before.length !== o.asked.length) return undefined;
  if (before.some((b, i) => b.set !== o.asked[i]!.set || b.path !== o.asked[i]!.path)) return undefined;
  const key = (source: string, suite: string, i: LockedIndex): string => [source, suite, i.component, i.architecture, i.path, i.sha256, i.size].join("\0");
  const now = o.choices.map((c) => key(c.vs.ref.source, c.vs.ref.suite, c.locked)).sort();
  const then = o.old.sources
    .flatMap((s) => s.suites.flatMap((suite) => (suite.contents ?? []).filter((i) => i.architecture === o.arch || i.architecture === "all").map((i) => key(s.name, suite.suite, i))))
    .sort();
  if (now.length !== then.length || now.some((k, i) => k !== then[i])) return undefined;
  return before.map((b) => ({ set: b.set, path: b.path, listed: b.listed, package: b.package }));
}

function componentsOf(manifest: Manifest, vs: VerifiedSuite): string[] {
  return manifest.sources.find((s) => s.name === vs.ref.source)!.components;
}

function lookupError(o: FindOptions, problems: string[]): ResolveError {
  const searched = o.manifest.sources
    .map((s) => `${s.name} ${s.suites.join(", ")} (${s.components.join(", ")})`)
    .join("; ");
  const many = problems.some((p) => p.includes("packages ship it"));
  const none = problems.some((p) => p.endsWith("no package ships it"));
  const hints = [
    ...(none ? ["check the path's spelling (`apt-file search PATH` on a Debian machine with the same suites); a generated file such as /etc/ssl/certs/ca-certificates.crt is in no package: use its built-in file set; a path of some architectures only (its triplet, such as x86_64-linux-gnu) needs the set scoped to them: \"architectures\": [\"amd64\"]"] : []),
    ...(many ? ['pick the package: give the set "packages": ["NAME"] (its paths then take from it as globs)'] : []),
  ];
  return new ResolveError(
    `the Contents indexes of ${o.arch} (and all) in ${searched} give no single package for ${problems.length === 1 ? "a path" : `${problems.length} paths`}:\n  ${problems.join("\n  ")}`,
    { hint: hints.join("; ") },
  );
}
