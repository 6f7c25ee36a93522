/**
 * Turn package requests into the set of packages for one architecture.
 *
 * Policy "none" installs exactly what is requested (distroless style). Policy "closure" adds
 * the transitive Depends and Pre-Depends the way `apt-get install --no-install-recommends`
 * computes them from an empty dpkg status (apt's MarkInstall, classic solver), so a closure is
 * the package list apt would install:
 *
 * - Requests are handled sorted (real names before virtual ones, then by name, constraint,
 *   reason). Every request is selected first, then the dependencies of each in that order.
 *   Nothing depends on input order except the Universe's documented first-record-wins rule.
 * - Dependencies are walked depth-first in field order (Pre-Depends, then Depends, groups left
 *   to right): a package is selected, then each of its groups that is not yet satisfied by the
 *   selection is satisfied before the next group is looked at, recursing into the chosen
 *   package at once. "Already satisfied?" is therefore asked at the moment apt asks it.
 * - The candidate version of a name is the version the lock pins when it is still available,
 *   else the highest (across suites). A group is solved by trying, in order, the candidates
 *   that satisfy it: first the pinned ones, then the others; alternatives left to right, and
 *   within one alternative the real package and its providers ranked as apt ranks them
 *   (provider-rank.ts). The first whose own dependencies can all be satisfied wins; a package
 *   whose dependencies fail is deselected again and the next one is tried, as apt does.
 * - A versioned dependency on a virtual name needs a versioned Provides that fits.
 * - Requests: a request with a constraint chooses the highest version that fits it (or the
 *   pinned one); a request naming a virtual package with several providers is an error: the
 *   user has to name one (apt refuses it too).
 * - Where apt gives up because only an older version fits (a dependency such as
 *   `libcurl4 (= <older>)` of a requested `curl=<older>`), apt refuses; we resolve again
 *   allowing the highest older version that fits, so the request works as written. This is the
 *   one intended difference from apt (README: "Dependency resolution").
 * - One version per package name. A selected package that a later constraint rejects is an
 *   error naming both chains. Packages selected only on the way to a choice that failed are
 *   dropped at the end (apt's autoremover does the same for new installs).
 * - Multi-Arch: a layer holds one architecture, so `:any` and `:native` mean the same-arch
 *   (or arch "all") package; `name:<other arch>` cannot be satisfied. Dependencies whose
 *   `[arch …]` restriction excludes the target are skipped.
 * - Essential packages are not added implicitly (FROM scratch has no essential set; apt from
 *   an empty status does not add them either).
 */

import { ResolveError } from "../model/errors.js";
import type { PackageRecord } from "../model/package.js";
import {
  archRestrictionMatches,
  formatRelation,
  satisfiesVersion,
  type Relation,
} from "../debian/relations.js";
import { compareVersions, isValidVersion } from "../debian/version.js";
import type { DependencyPolicy, PackageRequest, ResolveResult, ResolvedPackage } from "./types.js";
import { recordRelations, type Provider, type Universe } from "./universe.js";
import { CHAIN_ARROW, joinChain } from "./reason-chain.js";
import { compareProviders } from "./provider-rank.js";
import { findConflict } from "./conflicts.js";

export interface ResolveOptions {
  /** name → version to keep when it is still available and satisfies (lock pins). */
  prefer?: ReadonlyMap<string, string>;
  /** name → architectures where the name exists, for "exists only for …" messages. */
  otherArches?: ReadonlyMap<string, readonly string[]>;
}

interface Node {
  record: PackageRecord;
  /** The request reason that selected it, or the package whose dependency did. */
  via: { reason: string } | { parent: string };
}

const relationsCache = new WeakMap<PackageRecord, Relation[][]>();

/** Pre-Depends then Depends of a record, parsed once. */
function dependenciesOf(r: PackageRecord): Relation[][] {
  let deps = relationsCache.get(r);
  if (deps) return deps;
  deps = [];
  for (const [field, text] of [
    ["Pre-Depends", r.preDepends],
    ["Depends", r.depends],
  ] as const) {
    deps.push(...recordRelations(r, field, text));
  }
  relationsCache.set(r, deps);
  return deps;
}

function requestRelation(req: PackageRequest): Relation {
  return req.constraint ? { name: req.name, op: req.constraint.op, version: req.constraint.version } : { name: req.name };
}

function compareRequests(a: PackageRequest, b: PackageRequest): number {
  const key = (r: PackageRequest): string[] => [
    r.name,
    r.constraint?.op ?? "",
    r.constraint?.version ?? "",
    r.reason,
    r.optional ? "1" : "0",
  ];
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) {
    if (ka[i]! < kb[i]!) return -1;
    if (ka[i]! > kb[i]!) return 1;
  }
  return 0;
}

export function resolve(
  universe: Universe,
  requests: readonly PackageRequest[],
  policy: DependencyPolicy,
  opts: ResolveOptions = {},
): ResolveResult {
  try {
    return resolveWith(universe, requests, policy, opts, false);
  } catch (e) {
    if (!(e instanceof ResolveError) || policy !== "closure") throw e;
    // apt's answer failed: allow older versions where the candidate does not fit (see above).
    return resolveWith(universe, requests, policy, opts, true);
  }
}

function resolveWith(
  universe: Universe,
  requests: readonly PackageRequest[],
  policy: DependencyPolicy,
  opts: ResolveOptions,
  olderVersions: boolean,
): ResolveResult {
  const arch = universe.arch;
  const prefer = opts.prefer ?? new Map<string, string>();
  const selected = new Map<string, Node>();
  const rootsByReason = new Map<string, Set<string>>();
  const skipped: Array<{ name: string; reason: string }> = [];

  const fail = (chain: string[], detail: string, hint: string): never => {
    throw new ResolveError(`cannot resolve for ${arch}: ${[...chain, detail].join(CHAIN_ARROW)}`, { hint });
  };

  /** Request reason followed by the package names from the root to `name`. */
  const chainTo = (name: string): string[] => {
    const names: string[] = [];
    let cur: string | undefined = name;
    let reason = "";
    while (cur !== undefined && !names.includes(cur)) {
      const node = selected.get(cur);
      if (!node) break;
      names.push(cur);
      if ("reason" in node.via) {
        reason = node.via.reason;
        cur = undefined;
      } else cur = node.via.parent;
    }
    return [reason, ...names.reverse()];
  };

  const versionFits = (version: string, rel: Relation): boolean =>
    rel.op === undefined || rel.version === undefined || satisfiesVersion(version, rel.op, rel.version);

  const providerFits = (p: Provider, rel: Relation): boolean =>
    rel.op === undefined ? true : p.version !== undefined && versionFits(p.version, rel);

  const qualifierProblem = (rel: Relation): string | undefined => {
    const q = rel.archQualifier;
    if (q === undefined || q === "any" || q === "native" || q === arch) return undefined;
    return `${rel.name}:${q} asks for an ${q} package, but the ${arch} layer holds only ${arch} and "all" packages`;
  };

  const isSelected = (r: PackageRecord): boolean => selected.get(r.name)?.record === r;

  const pinOf = (name: string): string | undefined => {
    const pin = prefer.get(name);
    return pin !== undefined && isValidVersion(pin) ? pin : undefined;
  };
  const isPinned = (r: PackageRecord): boolean => {
    const pin = pinOf(r.name);
    return pin !== undefined && compareVersions(r.version, pin) === 0;
  };

  /** The version to take among fitting records of one name (most preferred first). */
  const pickVersion = (name: string, fitting: readonly PackageRecord[]): PackageRecord => {
    const pin = pinOf(name);
    if (pin !== undefined) {
      const kept = fitting.find((r) => compareVersions(r.version, pin) === 0);
      if (kept) return kept;
    }
    return fitting[0]!;
  };

  /** The versions of a name a dependency may take: the pinned one and the highest (apt's installed and candidate). */
  const candidateVersions = (name: string): readonly PackageRecord[] => {
    const cands = universe.candidates(name);
    if (olderVersions || cands.length <= 1) return cands;
    const pinned = cands.find(isPinned);
    return pinned && pinned !== cands[0] ? [pinned, cands[0]!] : [cands[0]!];
  };

  /** The selected packages satisfying `rel`: the real one first, then providers. */
  const selectedSatisfying = (rel: Relation): PackageRecord[] => {
    if (qualifierProblem(rel) !== undefined) return [];
    const out: PackageRecord[] = [];
    const sel = selected.get(rel.name);
    if (sel && versionFits(sel.record.version, rel)) out.push(sel.record);
    for (const p of universe.providers(rel.name)) if (isSelected(p.record) && providerFits(p, rel) && !out.includes(p.record)) out.push(p.record);
    return out;
  };
  const satisfiedBySelected = (rel: Relation): PackageRecord | undefined => selectedSatisfying(rel)[0];

  const onlyElsewhere = (name: string): string => {
    const others = opts.otherArches?.get(name);
    return others && others.length > 0 ? ` (${name} exists only for ${[...others].sort().join(", ")})` : "";
  };

  /** The packages that could satisfy `rel` now, most preferred first (provider-rank.ts). */
  const offers = (rel: Relation): PackageRecord[] => {
    if (qualifierProblem(rel) !== undefined) return [];
    const out: PackageRecord[] = [];
    if (!selected.has(rel.name)) {
      const fitting = candidateVersions(rel.name).filter((r) => versionFits(r.version, rel));
      if (fitting.length > 0) out.push(pickVersion(rel.name, fitting));
    }
    const byName = new Map<string, PackageRecord[]>();
    for (const p of universe.providers(rel.name)) {
      const n = p.record.name;
      if (!providerFits(p, rel) || n === rel.name || (selected.has(n) && !isSelected(p.record))) continue;
      if (!candidateVersions(n).includes(p.record)) continue;
      let list = byName.get(n);
      if (!list) byName.set(n, (list = []));
      list.push(p.record);
    }
    for (const [n, recs] of byName) out.push(pickVersion(n, recs));
    return out.sort(compareProviders(rel.name, isPinned));
  };

  /** Why nothing can satisfy `rel` (no offer at all). */
  const whyNot = (rel: Relation): Failure => {
    const qp = qualifierProblem(rel);
    if (qp !== undefined) return { detail: qp };
    const sel = selected.get(rel.name);
    if (sel) {
      const want = rel.op !== undefined ? ` ${rel.op} ${rel.version}` : "";
      return {
        detail: `${rel.name} ${sel.record.version} was already chosen for ${chainTo(rel.name).join(CHAIN_ARROW)}, and it does not satisfy${want}`,
        conflict: rel.name,
      };
    }
    const cands = universe.candidates(rel.name);
    if (cands.length > 0) {
      return { detail: `no version of ${rel.name} satisfies ${rel.op} ${rel.version} (available: ${cands.map((r) => r.version).join(", ")})` };
    }
    const allProvs = universe.providers(rel.name);
    if (allProvs.length > 0) {
      const list = allProvs.map((p) => (p.version !== undefined ? `${p.record.name} provides ${p.version}` : `${p.record.name} provides it unversioned`));
      return { detail: `no provider of virtual package ${rel.name} satisfies ${rel.op} ${rel.version} (${[...new Set(list)].join(", ")})` };
    }
    return { detail: `nothing provides ${rel.name}${onlyElsewhere(rel.name)}` };
  };

  /** Pick the package a request names, without its dependencies. */
  const pickRequest = (rel: Relation): { ok: PackageRecord } | Failure => {
    const already = satisfiedBySelected(rel);
    if (already) return { ok: already };
    if (qualifierProblem(rel) === undefined && !selected.has(rel.name)) {
      const fitting = universe.candidates(rel.name).filter((r) => versionFits(r.version, rel));
      if (fitting.length > 0) return { ok: pickVersion(rel.name, fitting) };
    }
    const provs = offers(rel);
    if (provs.length > 1) {
      return { detail: `${rel.name} is a virtual package provided by ${provs.map((p) => p.name).sort().join(", ")}; name the one you want instead` };
    }
    return provs.length === 1 ? { ok: provs[0]! } : whyNot(rel);
  };

  /**
   * Satisfy the dependencies of the selected `name`, depth-first in field order. `path` is the
   * chain that led here, for messages. Returns the innermost failure, if any.
   */
  const installDependencies = (name: string, path: string[]): (Failure & { chain: string[] }) | undefined => {
    const rec = selected.get(name)!.record;
    for (const group of dependenciesOf(rec)) {
      const alts = group.filter((a) => archRestrictionMatches(a.archRestriction, arch));
      if (alts.length === 0 || alts.some((a) => satisfiedBySelected(a) !== undefined)) continue;
      // apt tries the pinned ("installed") offers of every alternative before the new ones.
      const all = alts.flatMap(offers);
      const ordered = [...new Set([...all.filter(isPinned), ...all.filter((r) => !isPinned(r))])];
      let inner: (Failure & { chain: string[] }) | undefined;
      let solved = false;
      for (const r of ordered) {
        selected.set(r.name, { record: r, via: { parent: name } });
        const f = installDependencies(r.name, [...path, r.name]);
        if (f === undefined) {
          solved = true;
          break;
        }
        selected.delete(r.name);
        inner ??= f;
      }
      if (solved) continue;
      if (inner) return inner;
      const failures = alts.map((a) => ({ rel: a, out: whyNot(a) }));
      const detail =
        failures.length === 1
          ? failures[0]!.out.detail
          : `no alternative can be installed: ${failures.map((f) => `${formatRelation(f.rel)}: ${f.out.detail}`).join("; ")}`;
      return { chain: [...path, alts.map(formatRelation).join(" | ")], detail, ...(failures[0]!.out.conflict !== undefined ? { conflict: failures[0]!.out.conflict } : {}) };
    }
    return undefined;
  };

  // Requests: real names first so a virtual request can settle on a provider named explicitly.
  const sorted = [...requests].sort((a, b) => {
    const ra = universe.candidates(a.name).length > 0 ? 0 : 1;
    const rb = universe.candidates(b.name).length > 0 ? 0 : 1;
    return ra - rb || compareRequests(a, b);
  });
  const roots: Array<{ name: string; reason: string }> = [];
  for (const req of sorted) {
    const rel = requestRelation(req);
    if (!universe.knows(req.name)) {
      const detail = `no package ${req.name} for ${arch}${onlyElsewhere(req.name)}`;
      if (req.optional) {
        skipped.push({ name: req.name, reason: `${req.reason}: ${detail}` });
        continue;
      }
    }
    const out = pickRequest(rel);
    if (!("ok" in out)) fail([req.reason, formatRelation(rel)], out.detail, universe.knows(req.name) ? hintFor(out) : scopeHint(req, opts.otherArches?.get(req.name)));
    else {
      if (!selected.has(out.ok.name)) selected.set(out.ok.name, { record: out.ok, via: { reason: req.reason } });
      let set = rootsByReason.get(req.reason);
      if (!set) rootsByReason.set(req.reason, (set = new Set()));
      set.add(out.ok.name);
      roots.push({ name: out.ok.name, reason: req.reason });
    }
  }

  if (policy === "closure") {
    for (const root of roots) {
      const f = installDependencies(root.name, [root.reason, root.name]);
      if (f) fail(f.chain, f.detail, hintFor(f));
    }
  }

  const packages = collectReasons(selected, policy === "closure" ? dependencyEdges(selected, arch, selectedSatisfying) : new Map(), rootsByReason);
  const conflict = findConflict(packages.map((p) => p.record), arch);
  if (conflict) {
    const chains = (r: PackageRecord) => packages.find((p) => p.record === r)!.reasons[0]!;
    throw new ResolveError(
      `cannot resolve for ${arch}: ${conflict.by.name} ${conflict.by.version} and ${conflict.other.name} ${conflict.other.version} cannot be installed together (${conflict.by.name} ${conflict.field}: ${conflict.relation}); ${conflict.by.name} comes from ${chains(conflict.by)}, ${conflict.other.name} from ${chains(conflict.other)}`,
      { hint: "apt would refuse this set too: drop one of the requests that bring them in, or request an alternative that does not conflict" },
    );
  }
  return {
    architecture: arch,
    packages,
    skipped: skipped.sort((a, b) => cmp(a.name, b.name) || cmp(a.reason, b.reason)),
  };
}

interface Failure {
  detail: string;
  /** The package whose chosen version is in the way, for the hint. */
  conflict?: string;
}

/** For each selected package, the selected packages that satisfy its dependencies (apt's autoremover follows the same edges). */
function dependencyEdges(
  selected: ReadonlyMap<string, Node>,
  arch: string,
  satisfiers: (rel: Relation) => PackageRecord[],
): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const [name, node] of selected) {
    const list: string[] = [];
    for (const group of dependenciesOf(node.record)) {
      for (const a of group) {
        if (!archRestrictionMatches(a.archRestriction, arch)) continue;
        for (const r of satisfiers(a)) if (r.name !== name && !list.includes(r.name)) list.push(r.name);
      }
    }
    edges.set(name, list);
  }
  return edges;
}

function hintFor(out: { conflict?: string }): string {
  return out.conflict !== undefined
    ? `no backtracking is done: request a version of ${out.conflict} that satisfies both in scratch.json, or update the sources`
    : `check the package name and the sources' suites and components in scratch.json; ${OPTIONAL_SYNTAX}`;
}

const OPTIONAL_SYNTAX = 'a request that may be missing on some architectures can be written {"name": "NAME", "optional": true}';

/** How to scope a request that this architecture lacks, in the manifest's own syntax and field. */
function scopeHint(req: PackageRequest, others: readonly string[] | undefined): string {
  const set = /^file set (.+)$/.exec(req.reason);
  const field = set ? `fileSets.${set[1]}.packages` : req.reason;
  if (!others || others.length === 0) return `check the package name and the sources' suites and components in scratch.json; ${OPTIONAL_SYNTAX} in ${field}`;
  const arches = [...others].sort().map((a) => JSON.stringify(a)).join(", ");
  return `to request it only where it exists, write it in ${field} as {"name": ${JSON.stringify(req.name)}, "architectures": [${arches}]}, or add "optional": true to skip it where it is missing`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * For each distinct request reason, a breadth-first walk from the packages it named (sorted)
 * over the dependency edges gives each reachable package its shortest chain; unreachable
 * packages are dropped.
 */
function collectReasons(
  selected: ReadonlyMap<string, Node>,
  edges: ReadonlyMap<string, string[]>,
  rootsByReason: ReadonlyMap<string, Set<string>>,
): ResolvedPackage[] {
  const reasons = new Map<string, Set<string>>();
  for (const name of selected.keys()) reasons.set(name, new Set());
  for (const reason of [...rootsByReason.keys()].sort(cmp)) {
    const paths = new Map<string, string[]>();
    const queue: string[] = [];
    for (const root of [...rootsByReason.get(reason)!].sort(cmp)) {
      paths.set(root, [root]);
      queue.push(root);
    }
    for (let i = 0; i < queue.length; i++) {
      const n = queue[i]!;
      for (const c of edges.get(n) ?? []) {
        if (paths.has(c)) continue;
        paths.set(c, [...paths.get(n)!, c]);
        queue.push(c);
      }
    }
    for (const [name, path] of paths) {
      reasons.get(name)!.add(path.length === 1 ? reason : joinChain(reason, path));
    }
  }
  // A package no request reaches was selected only on the way to a choice that failed.
  return [...selected.values()]
    .filter((n) => reasons.get(n.record.name)!.size > 0)
    .map((n) => ({ record: n.record, reasons: [...reasons.get(n.record.name)!].sort(cmp) }))
    .sort((a, b) => cmp(a.record.name, b.record.name) || cmp(a.record.architecture, b.record.architecture));
}
