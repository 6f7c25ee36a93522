/**
 * `why PKG|PATH`: why a package is in the lock (its reason chains and the selection rules that
 * take its files); for a path, the derivation that generates it (with the package files it
 * read), or else the packages that ship it — every one, from the layer's provenance manifest
 * when it is at hand — or, without the manifest, the locked packages whose selection rules take it.
 */
import picomatch from "picomatch";
import type { Lockfile, LockedPackage } from "../model/lock.js";
import type { Provenance, ProvenanceEntry } from "../model/provenance.js";
import type { ContentCache } from "../fetch/cache.js";
import { loadBlob } from "../fetch/blob-store.js";
import { parseProvenance } from "../layer/provenance-read.js";
import { describeScope, requestOfChain } from "../resolve/request-scope.js";

export interface WhyMatch {
  architecture: string;
  package: string;
  version: string;
  reasons: string[];
  /** For each reason chain that starts at a scoped request: where that request applies ("requested for amd64 only"). */
  scopes?: Record<string, string>;
  sets: string[];
  /** For a path, from the provenance manifest: the .deb member(s) the package ships it as. */
  members?: string[];
}

export interface WhyDerivation {
  architecture: string;
  recipe: string;
  version: string;
  options: Record<string, string | number | boolean>;
  output: { path: string; type: string; mode: string; sha256: string };
  inputs: Array<{ path: string; sha256: string }>;
}

export interface WhyAnswer {
  query: string;
  kind: "package" | "path";
  matches: WhyMatch[];
  derivations: WhyDerivation[];
  /** For a package: the architectures whose lock skipped it (an optional request it lacks), with why. */
  skipped: Array<{ architecture: string; name: string; reason: string }>;
}

/** The provenance manifests of the lock's layers that the cache holds (`lock` keeps them there), validated. */
export async function cachedProvenance(lock: Lockfile, cache: ContentCache, arch?: string): Promise<Map<string, Provenance>> {
  const out = new Map<string, Provenance>();
  for (const a of Object.keys(lock.architectures).sort()) {
    if (arch && a !== arch) continue;
    const bytes = await loadBlob(cache, lock.architectures[a]!.layer.provenance.sha256);
    if (bytes) out.set(a, parseProvenance(bytes.toString("utf8"), `the provenance manifest of layer ${a} (in the cache)`));
  }
  return out;
}

/** `provenance`: the layers' manifests by architecture, where they are at hand (the cache keeps them). */
export function why(lock: Lockfile, query: string, arch?: string, provenance?: ReadonlyMap<string, Provenance>): WhyAnswer {
  const kind = query.startsWith("/") ? "path" : "package";
  const matches: WhyMatch[] = [];
  const derivations: WhyDerivation[] = [];
  const skipped: WhyAnswer["skipped"] = [];
  const match = (a: string, p: LockedPackage, sets: string[], members?: string[]): WhyMatch => {
    const scopes: Record<string, string> = {};
    for (const r of p.reasons) {
      const req = requestOfChain(lock.requests, r, p.name);
      if (req) scopes[r] = describeScope(req);
    }
    return { architecture: a, package: p.name, version: p.version, reasons: p.reasons, ...(Object.keys(scopes).length > 0 ? { scopes } : {}), sets, ...(members ? { members } : {}) };
  };
  for (const a of Object.keys(lock.architectures).sort()) {
    if (arch && a !== arch) continue;
    const locked = lock.architectures[a]!;
    if (kind === "package") for (const s of locked.skipped) if (s.name === query) skipped.push({ architecture: a, ...s });
    if (kind === "path") {
      for (const d of locked.derivations ?? []) {
        const output = d.outputs.find((o) => o.path === query);
        if (output) derivations.push({ architecture: a, recipe: d.recipe, version: d.version, options: d.options, output, inputs: d.inputs });
      }
      // A generated path is explained by its derivation; package rules do not take it.
      if (derivations.some((d) => d.architecture === a)) continue;
      const prov = provenance?.get(a);
      if (prov) {
        const entry = prov.entries.find((e) => e.path === query);
        if (!entry) continue; // not in this layer, whatever the rules say
        const shipped = shippedBy(entry, locked.packages);
        for (const { pkg, members } of shipped) matches.push(match(a, pkg, setsTakingPath(pkg, query), members));
        // A parent directory the layer made itself has no package origin: the rules explain it.
        if (shipped.length > 0) continue;
      }
    }
    for (const p of locked.packages) {
      const sets = kind === "package" ? (p.name === query ? p.select.map((s) => s.set) : []) : setsTakingPath(p, query);
      if (sets.length > 0) matches.push(match(a, p, sets));
    }
  }
  return { query, kind, matches, derivations, skipped };
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

export function formatWhy(ans: WhyAnswer): string[] {
  const lines: string[] = [];
  for (const d of ans.derivations) {
    const opts = Object.entries(d.options).map(([k, v]) => `${k}=${v}`).join(", ");
    lines.push(`${d.architecture}: ${d.output.path} is generated by recipe ${d.recipe} ${d.version}${opts ? ` (${opts})` : ""}: ${d.output.type} ${d.output.mode} sha256 ${d.output.sha256}`);
    if (d.inputs.length === 0) lines.push("  it reads no package file");
    for (const i of d.inputs) lines.push(`  reads ${i.path} (sha256 ${i.sha256})`);
  }
  for (const m of ans.matches) {
    const ships = m.members ? ` ships it as ${m.members.join(", ")}` : "";
    lines.push(`${m.architecture}: ${m.package} ${m.version}${ships} (file sets: ${m.sets.join(", ")})`);
    for (const r of m.reasons) lines.push(`  ${r}${m.scopes?.[r] ? ` (${m.scopes[r]})` : ""}`);
  }
  for (const s of ans.skipped) lines.push(`${s.architecture}: ${s.name} is not in the lock: ${s.reason}`);
  return lines;
}
