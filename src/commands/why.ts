/**
 * `why PKG|PATH`: why a package is in the lock (its reason chains and the selection rules that
 * take its files); for a path, what made it in the layer, from the lock's derivations and the
 * layer's provenance manifest: the derivation that generates it (with the package files it
 * read), every package member that ships it, or the layer itself (a parent directory). The
 * selection rules alone cannot answer for a path: they take paths no package ships.
 */
import picomatch from "picomatch";
import type { Lockfile, LockedPackage } from "../model/lock.js";
import type { Provenance, ProvenanceEntry } from "../model/provenance.js";
import type { ContentCache } from "../fetch/cache.js";
import { UsageError } from "../model/errors.js";
import { recordedProvenance } from "./recorded-provenance.js";
import { describeScope, requestOfChain } from "../resolve/request-scope.js";

export interface WhyMatch {
  architecture: string;
  package: string;
  version: string;
  reasons: string[];
  /** For each reason chain that starts at a scoped request: where that request applies ("requested for amd64 only"). */
  scopes?: Record<string, string>;
  sets: string[];
  /** For a path no rule takes itself (a directory): `sets` are the sets that take paths below it. */
  below?: true;
  /** For a path, from the provenance manifest: the .deb member(s) the package ships it as. */
  members?: string[];
  /**
   * The paths of path-only file sets this package was found for through the archive's Contents
   * index (the lock's `paths`): for a path, those naming it; for a package, all of them.
   */
  contents?: Array<{ set: string; path: string; listed: string }>;
}

export interface WhyDerivation {
  architecture: string;
  recipe: string;
  version: string;
  options: Record<string, string | number | boolean>;
  output: { path: string; type: string; mode: string; sha256: string };
  inputs: Array<{ path: string; sha256: string }>;
}

/** A path no package or recipe supplies: the layer made it itself (e.g. a parent directory). */
export interface WhyImplicit {
  architecture: string;
  reason: string;
}

export interface WhyAnswer {
  query: string;
  kind: "package" | "path";
  matches: WhyMatch[];
  derivations: WhyDerivation[];
  implicit: WhyImplicit[];
  /** For a package: the architectures whose lock skipped it (an optional request it lacks), with why. */
  skipped: Array<{ architecture: string; name: string; reason: string }>;
}

/**
 * The provenance manifests of the lock's layers (of `arch` only, if given), by the sha256 the
 * lock records: from the cache (`lock` keeps them there) or `files`. A layer whose manifest is
 * in neither is a usage error: without it no answer about a path can be trusted.
 */
export async function layerProvenance(lock: Lockfile, cache: ContentCache, files: readonly string[], arch?: string): Promise<Map<string, Provenance>> {
  const out = new Map<string, Provenance>();
  for (const a of Object.keys(lock.architectures).sort()) {
    if (arch && a !== arch) continue;
    const sha256 = lock.architectures[a]!.layer.provenance.sha256;
    const prov = await recordedProvenance(cache, files, a, sha256);
    if (!prov) {
      throw new UsageError(`the provenance manifest of layer ${a} (sha256 ${sha256}) is neither in the cache ${cache.dir} nor given with --provenance`, {
        hint: "run scratch-pkgs lock (it keeps the manifests in the cache; --cache DIR if it used another), or pass --provenance FILE: the .provenance.jsonl scratch-pkgs layer writes beside the layer",
      });
    }
    out.set(a, prov);
  }
  return out;
}

/** `provenance`: for a path, the manifest of every layer asked about (layerProvenance). */
export function why(lock: Lockfile, query: string, arch?: string, provenance?: ReadonlyMap<string, Provenance>): WhyAnswer {
  const kind = query.startsWith("/") ? "path" : "package";
  const matches: WhyMatch[] = [];
  const derivations: WhyDerivation[] = [];
  const implicit: WhyImplicit[] = [];
  const skipped: WhyAnswer["skipped"] = [];
  const match = (a: string, p: LockedPackage, sets: string[], members?: string[], below?: boolean): WhyMatch => {
    const scopes: Record<string, string> = {};
    for (const r of p.reasons) {
      const req = requestOfChain(lock.requests, r, p.name);
      if (req) scopes[r] = describeScope(req);
    }
    const contents = (lock.architectures[a]!.paths ?? [])
      .filter((o) => o.package === p.name && (kind === "package" || o.listed === query || o.path === query))
      .map((o) => ({ set: o.set, path: o.path, listed: o.listed }));
    return {
      architecture: a,
      package: p.name,
      version: p.version,
      reasons: p.reasons,
      ...(Object.keys(scopes).length > 0 ? { scopes } : {}),
      sets,
      ...(below ? { below: true as const } : {}),
      ...(members ? { members } : {}),
      ...(contents.length > 0 ? { contents } : {}),
    };
  };
  for (const a of Object.keys(lock.architectures).sort()) {
    if (arch && a !== arch) continue;
    const locked = lock.architectures[a]!;
    if (kind === "package") {
      for (const p of locked.packages) if (p.name === query) matches.push(match(a, p, p.select.map((s) => s.set)));
      for (const s of locked.skipped) if (s.name === query) skipped.push({ architecture: a, ...s });
      continue;
    }
    for (const d of locked.derivations ?? []) {
      const output = d.outputs.find((o) => o.path === query);
      if (output) derivations.push({ architecture: a, recipe: d.recipe, version: d.version, options: d.options, output, inputs: d.inputs });
    }
    // A generated path is explained by its derivation.
    if (derivations.some((d) => d.architecture === a)) continue;
    const prov = provenance?.get(a);
    if (!prov) throw new UsageError(`why ${query}: the provenance manifest of layer ${a} is needed to answer for a path`, { hint: "see scratch-pkgs why --help (--cache, --provenance)" });
    const entry = prov.entries.find((e) => e.path === query);
    if (!entry) continue; // not in this layer, whatever the rules say
    if (entry.origin.kind === "implicit") implicit.push({ architecture: a, reason: entry.origin.reason });
    for (const { pkg, members } of shippedBy(entry, locked.packages)) {
      const sets = setsTakingPath(pkg, query);
      // A directory is in the layer as the parent of what a set takes from the package.
      if (sets.length > 0) matches.push(match(a, pkg, sets, members));
      else matches.push(match(a, pkg, setsTakingBelow(pkg, query, prov), members, true));
    }
  }
  return { query, kind, matches, derivations, implicit, skipped };
}

/** The locked packages that ship the entry's path into the layer, in provider order, with the members they ship it as. */
function shippedBy(entry: ProvenanceEntry, packages: readonly LockedPackage[]): Array<{ pkg: LockedPackage; members: string[] }> {
  const out: Array<{ pkg: LockedPackage; members: string[] }> = [];
  for (const o of [entry.origin, ...(entry.alsoFrom ?? [])]) {
    if (o.kind !== "package") continue;
    const pkg = packages.find((p) => p.name === o.package && p.version === o.version && p.architecture === o.architecture);
    if (!pkg) continue;
    const known = out.find((s) => s.pkg === pkg);
    if (known) known.members.push(o.member);
    else out.push({ pkg, members: [o.member] });
  }
  return out;
}

function setsTakingPath(p: LockedPackage, path: string): string[] {
  return p.select
    .filter((rule) => picomatch.isMatch(path, rule.include, { dot: true }) && !picomatch.isMatch(path, rule.exclude, { dot: true }))
    .map((rule) => rule.set);
}

/** The sets that take a path of this package below `dir` into the layer (its provenance says which paths are there). */
function setsTakingBelow(p: LockedPackage, dir: string, prov: Provenance): string[] {
  const prefix = `${dir}/`;
  const sets = new Set<string>();
  for (const e of prov.entries) {
    if (!e.path.startsWith(prefix)) continue;
    const fromPkg = [e.origin, ...(e.alsoFrom ?? [])].some((o) => o.kind === "package" && o.package === p.name && o.version === p.version && o.architecture === p.architecture);
    if (fromPkg) for (const s of setsTakingPath(p, e.path)) sets.add(s);
  }
  return [...sets].sort();
}

export function formatWhy(ans: WhyAnswer): string[] {
  const lines: string[] = [];
  for (const d of ans.derivations) {
    const opts = Object.entries(d.options).map(([k, v]) => `${k}=${v}`).join(", ");
    lines.push(`${d.architecture}: ${d.output.path} is generated by recipe ${d.recipe} ${d.version}${opts ? ` (${opts})` : ""}: ${d.output.type} ${d.output.mode} sha256 ${d.output.sha256}`);
    if (d.inputs.length === 0) lines.push("  it reads no package file");
    for (const i of d.inputs) lines.push(`  reads ${i.path} (sha256 ${i.sha256})`);
  }
  for (const i of ans.implicit) lines.push(`${i.architecture}: ${ans.query} is made by the layer itself (${i.reason}); no package ships it`);
  for (const m of ans.matches) {
    const ships = m.members ? ` ships it as ${m.members.join(", ")}` : "";
    const sets = m.below ? `the parent directory of what file sets ${m.sets.join(", ")} take` : `file sets: ${m.sets.join(", ")}`;
    lines.push(`${m.architecture}: ${m.package} ${m.version}${ships} (${sets})`);
    for (const r of m.reasons) lines.push(`  ${r}${m.scopes?.[r] ? ` (${m.scopes[r]})` : ""}`);
    for (const c of m.contents ?? []) {
      const as = c.listed !== c.path ? ` (listed as ${c.listed})` : "";
      lines.push(`  file set ${c.set} names ${c.path}: through the archive's signed Contents index, ${m.package} ships it${as}`);
    }
  }
  for (const s of ans.skipped) lines.push(`${s.architecture}: ${s.name} is not in the lock: ${s.reason}`);
  return lines;
}
