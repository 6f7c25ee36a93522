/**
 * Turn package requests into the set of packages for one architecture.
 *
 * Policy "none" installs exactly what is requested (distroless style). Policy "closure" adds
 * the transitive Depends and Pre-Depends. The search is greedy and deterministic, without
 * backtracking beyond the choice among `|` alternatives:
 *
 * - Requests are handled sorted (real names before virtual ones, then by name, constraint,
 *   reason), then dependencies breadth-first in selection order, Pre-Depends before Depends,
 *   groups in field order. Nothing depends on input order except the Universe's documented
 *   first-record-wins rule for identical versions.
 * - An OR group takes the first alternative that an already selected package satisfies,
 *   otherwise the first alternative that can be satisfied.
 * - A name is satisfied by a real package of that name whose version fits (highest version
 *   wins across suites; a `prefer` pin wins when it still fits), else by a provider of that
 *   virtual name. A versioned dependency on a virtual name needs a versioned Provides that
 *   fits. Among providers: one already selected, else one whose pinned version provides it,
 *   else the alphabetically first provider name (its highest providing version). A request
 *   (as opposed to a dependency) naming a virtual package with several providers is an error
 *   instead: the user has to name one.
 * - One version per package name. A selected package that a later constraint rejects is an
 *   error naming both chains.
 * - Multi-Arch: a layer holds one architecture, so `:any` and `:native` mean the same-arch
 *   (or arch "all") package; `name:<other arch>` cannot be satisfied. Dependencies whose
 *   `[arch …]` restriction excludes the target are skipped.
 * - Essential packages are not added implicitly (FROM scratch has no essential set).
 */

import { ResolveError } from "../model/errors.js";
import type { PackageRecord } from "../model/package.js";
import {
  archRestrictionMatches,
  formatRelation,
  parseRelations,
  satisfiesVersion,
  type Relation,
} from "../debian/relations.js";
import { compareVersions, isValidVersion } from "../debian/version.js";
import type { DependencyPolicy, PackageRequest, ResolveResult, ResolvedPackage } from "./types.js";
import type { Provider, Universe } from "./universe.js";
import { CHAIN_ARROW, joinChain } from "./reason-chain.js";

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

type Outcome = { ok: PackageRecord } | { fail: string; conflict?: string };

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
    try {
      deps.push(...parseRelations(text));
    } catch (e) {
      throw new ResolveError(
        `package ${r.name} ${r.version} (${r.architecture}) from ${r.origin.source} ${r.origin.suite}/${r.origin.component}: ${field}: ${(e as Error).message}`,
        { hint: "the archive index is malformed; report it to the archive's maintainers or drop that source", cause: e },
      );
    }
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
  const arch = universe.arch;
  const prefer = opts.prefer ?? new Map<string, string>();
  const selected = new Map<string, Node>();
  const edges = new Map<string, string[]>();
  const rootsByReason = new Map<string, Set<string>>();
  const queue: string[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];

  const fail = (chain: string[], detail: string, hint: string): never => {
    throw new ResolveError(`cannot resolve for ${arch}: ${[...chain, detail].join(CHAIN_ARROW)}`, { hint });
  };

  /** Request reason followed by the package names from the root to `name`. */
  const chainTo = (name: string): string[] => {
    const names: string[] = [];
    let cur: string | undefined = name;
    let reason = "";
    while (cur !== undefined) {
      names.push(cur);
      const via: Node["via"] = selected.get(cur)!.via;
      if ("reason" in via) {
        reason = via.reason;
        cur = undefined;
      } else cur = via.parent;
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

  /** The version to take among fitting records of one name (most preferred first). */
  const pickVersion = (name: string, fitting: readonly PackageRecord[]): PackageRecord => {
    const pin = prefer.get(name);
    if (pin !== undefined && isValidVersion(pin)) {
      const kept = fitting.find((r) => compareVersions(r.version, pin) === 0);
      if (kept) return kept;
    }
    return fitting[0]!;
  };

  /** An already selected package satisfying `rel`, if any. */
  const satisfiedBySelected = (rel: Relation): PackageRecord | undefined => {
    if (qualifierProblem(rel) !== undefined) return undefined;
    const sel = selected.get(rel.name);
    if (sel && versionFits(sel.record.version, rel)) return sel.record;
    for (const p of universe.providers(rel.name)) if (isSelected(p.record) && providerFits(p, rel)) return p.record;
    return undefined;
  };

  const onlyElsewhere = (name: string): string => {
    const others = opts.otherArches?.get(name);
    return others && others.length > 0 ? ` (${name} exists only for ${[...others].sort().join(", ")})` : "";
  };

  /** Find a package satisfying `rel` without changing an existing selection. */
  const trySatisfy = (rel: Relation, severalProviders: "first" | "error"): Outcome => {
    const qp = qualifierProblem(rel);
    if (qp !== undefined) return { fail: qp };
    const already = satisfiedBySelected(rel);
    if (already) return { ok: already };

    const cands = universe.candidates(rel.name);
    const sel = selected.get(rel.name);
    const fitting = cands.filter((r) => versionFits(r.version, rel));
    if (!sel && fitting.length > 0) return { ok: pickVersion(rel.name, fitting) };

    // Providers whose package is not already selected at a version that does not provide this.
    const provs = universe
      .providers(rel.name)
      .filter((p) => providerFits(p, rel) && (selected.get(p.record.name) === undefined || isSelected(p.record)));
    const provNames = [...new Set(provs.map((p) => p.record.name))];
    if (provNames.length > 0) {
      if (provNames.length > 1 && severalProviders === "error") {
        return {
          fail: `${rel.name} is a virtual package provided by ${provNames.join(", ")}; name the one you want instead`,
        };
      }
      const pinned = provs.find((p) => {
        const pin = prefer.get(p.record.name);
        return pin !== undefined && isValidVersion(pin) && compareVersions(p.record.version, pin) === 0;
      });
      const name = pinned ? pinned.record.name : provNames[0]!;
      return { ok: pickVersion(name, provs.filter((p) => p.record.name === name).map((p) => p.record)) };
    }

    if (sel) {
      const want = rel.op !== undefined ? ` ${rel.op} ${rel.version}` : "";
      return {
        fail: `${rel.name} ${sel.record.version} was already chosen for ${chainTo(rel.name).join(CHAIN_ARROW)}, and it does not satisfy${want}`,
        conflict: rel.name,
      };
    }
    if (cands.length > 0) {
      const avail = cands.map((r) => r.version);
      return {
        fail: `no version of ${rel.name} satisfies ${rel.op} ${rel.version} (available: ${avail.join(", ")})`,
      };
    }
    const allProvs = universe.providers(rel.name);
    if (allProvs.length > 0) {
      const list = allProvs.map((p) => (p.version !== undefined ? `${p.record.name} provides ${p.version}` : `${p.record.name} provides it unversioned`));
      return {
        fail: `no provider of virtual package ${rel.name} satisfies ${rel.op} ${rel.version} (${[...new Set(list)].join(", ")})`,
      };
    }
    return { fail: `nothing provides ${rel.name}${onlyElsewhere(rel.name)}` };
  };

  const select = (r: PackageRecord, via: Node["via"]): void => {
    if (selected.has(r.name)) return;
    selected.set(r.name, { record: r, via });
    queue.push(r.name);
  };

  const link = (from: string, to: string): void => {
    if (from === to) return;
    let list = edges.get(from);
    if (!list) edges.set(from, (list = []));
    if (!list.includes(to)) list.push(to);
  };

  // Requests: real names first so a virtual request can settle on a provider named explicitly.
  const sorted = [...requests].sort((a, b) => {
    const ra = universe.candidates(a.name).length > 0 ? 0 : 1;
    const rb = universe.candidates(b.name).length > 0 ? 0 : 1;
    return ra - rb || compareRequests(a, b);
  });
  for (const req of sorted) {
    const rel = requestRelation(req);
    if (!universe.knows(req.name)) {
      const detail = `no package ${req.name} for ${arch}${onlyElsewhere(req.name)}`;
      if (req.optional) {
        skipped.push({ name: req.name, reason: `${req.reason}: ${detail}` });
        continue;
      }
    }
    const out = trySatisfy(rel, "error");
    if ("fail" in out) {
      fail([req.reason, formatRelation(rel)], out.fail, hintFor(out));
    } else {
      select(out.ok, { reason: req.reason });
      let roots = rootsByReason.get(req.reason);
      if (!roots) rootsByReason.set(req.reason, (roots = new Set()));
      roots.add(out.ok.name);
    }
  }

  if (policy === "closure") {
    for (let qi = 0; qi < queue.length; qi++) {
      const name = queue[qi]!;
      const rec = selected.get(name)!.record;
      groups: for (const group of dependenciesOf(rec)) {
        const alts = group.filter((a) => archRestrictionMatches(a.archRestriction, arch));
        if (alts.length === 0) continue;
        for (const a of alts) {
          const r = satisfiedBySelected(a);
          if (r) {
            link(name, r.name);
            continue groups;
          }
        }
        const failures: Array<{ rel: Relation; out: Extract<Outcome, { fail: string }> }> = [];
        for (const a of alts) {
          const out = trySatisfy(a, "first");
          if ("ok" in out) {
            select(out.ok, { parent: name });
            link(name, out.ok.name);
            continue groups;
          }
          failures.push({ rel: a, out });
        }
        const detail =
          failures.length === 1
            ? failures[0]!.out.fail
            : `no alternative can be installed: ${failures.map((f) => `${formatRelation(f.rel)}: ${f.out.fail}`).join("; ")}`;
        fail([...chainTo(name), alts.map(formatRelation).join(" | ")], detail, hintFor(failures[0]!.out));
      }
    }
  }

  return {
    architecture: arch,
    packages: collectReasons(selected, edges, rootsByReason),
    skipped: skipped.sort((a, b) => cmp(a.name, b.name) || cmp(a.reason, b.reason)),
  };
}

function hintFor(out: { conflict?: string }): string {
  return out.conflict !== undefined
    ? `no backtracking is done: request a version of ${out.conflict} that satisfies both in scratch.json, or update the sources`
    : "check the package name and the sources' suites and components in scratch.json; a request that may be missing on some architectures can be marked optional";
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * For each distinct request reason, a breadth-first walk from the packages it named (sorted)
 * over the chosen dependency edges gives each reachable package its shortest chain.
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
  return [...selected.values()]
    .map((n) => ({ record: n.record, reasons: [...reasons.get(n.record.name)!].sort(cmp) }))
    .sort((a, b) => cmp(a.record.name, b.record.name) || cmp(a.record.architecture, b.record.architecture));
}
