/**
 * From a manifest to resolver requests, and from resolved packages back to the selection rules
 * each one gets. Pure: no I/O.
 */
import { appliesOn, isPathOnlySet, type Manifest, type RequestScope } from "../model/manifest.js";
import type { PackageRequest, ResolvedPackage } from "../resolve/types.js";
import { builtinFileSet, pathOnlyFileSet, userFileSet, DEFAULT_EXCLUDE, WHOLE_PACKAGE, type FileSetPlan } from "../resolve/filesets.js";
import { COPYRIGHT_SET, type LockedPathOrigin, type LockedRequest, type SelectionRule } from "../model/lock.js";
import { copyrightPath, docDir } from "../layer/copyright.js";
import { splitChain } from "../resolve/reason-chain.js";

/** The set name under which whole `packages` entries are recorded. */
export const WHOLE_PACKAGES_SET = "packages";

export interface RequestGroup {
  /** Requests whose dependencies follow the manifest's policy. */
  withDeps: PackageRequest[];
  /** Requests taken alone whatever the policy (data-only file sets). */
  alone: PackageRequest[];
  /** Reason label (the start of every chain) → the set whose rules apply. */
  setOfReason: Map<string, FileSetPlan>;
}

/**
 * The manifest's file sets as plans. A path-only set's packages are the ones `origins` (one
 * architecture's answers from Contents, see contents-paths.ts) name; without them it has none.
 */
export function fileSetPlans(manifest: Manifest, origins: readonly LockedPathOrigin[] = []): FileSetPlan[] {
  const plans: FileSetPlan[] = [];
  for (const set of manifest.fileSets) {
    if (set.kind !== "user") plans.push(builtinFileSet(set.name)!);
    else if (set.packages) plans.push(userFileSet(set.name, set.packages, set.paths, set.exclude));
    else plans.push(pathOnlyFileSet(set.name, origins));
  }
  return plans;
}

/**
 * The requests made on `arch`: those whose scope names it (or names no architecture), and the
 * packages `origins` found for the path-only sets there, as if the manifest named them.
 */
export function planRequests(manifest: Manifest, arch: string, origins: readonly LockedPathOrigin[] = []): RequestGroup {
  const withDeps: PackageRequest[] = [];
  const alone: PackageRequest[] = [];
  const setOfReason = new Map<string, FileSetPlan>();
  for (const plan of fileSetPlans(manifest, origins)) {
    const reason = `file set ${plan.name}`;
    setOfReason.set(reason, plan);
    for (const p of plan.packages) {
      if (!appliesOn(p, arch)) continue;
      const req: PackageRequest = { name: p.name, reason, ...(p.optional ? { optional: true } : {}) };
      (plan.followDependencies ? withDeps : alone).push(req);
    }
  }
  const whole: FileSetPlan = { name: WHOLE_PACKAGES_SET, builtin: false, everyGlobMustMatch: false, followDependencies: true, packages: [] };
  manifest.packages.forEach((spec, i) => {
    // The chain names the package next ("packages[0] → hello → libc6"), as model/lock.ts documents.
    const reason = `packages[${i}]`;
    setOfReason.set(reason, whole);
    if (!appliesOn(spec, arch)) return;
    const { name, version } = spec;
    withDeps.push({ name, reason, ...(version ? { constraint: { op: "=" as const, version } } : {}), ...(spec.optional ? { optional: true } : {}) });
  });
  return { withDeps, alone, setOfReason };
}

/** A path a path-only set asks for. */
export interface AskedPath {
  set: string;
  path: string;
}

/** Every path the manifest's path-only sets (whose packages Contents names) ask on `arch`, sorted by set then path. */
export function askedPaths(manifest: Manifest, arch: string): AskedPath[] {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return manifest.fileSets
    .filter(isPathOnlySet)
    .filter((s) => appliesOn(s, arch))
    .flatMap((s) => [...new Set(s.paths)].map((path) => ({ set: s.name, path })))
    .sort((a, b) => cmp(a.set, b.set) || cmp(a.path, b.path));
}

/** What the lock records of the manifest's scoped requests (plain ones are not listed). */
export function scopedRequests(manifest: Manifest): LockedRequest[] {
  const out: LockedRequest[] = [];
  const add = (reason: string, name: string, scope: RequestScope): void => {
    if (!scope.architectures && !scope.optional) return;
    out.push({ reason, name, ...(scope.architectures ? { architectures: [...scope.architectures].sort() } : {}), ...(scope.optional ? { optional: true as const } : {}) });
  };
  for (const plan of fileSetPlans(manifest)) for (const p of plan.packages) add(`file set ${plan.name}`, p.name, p);
  manifest.packages.forEach((spec, i) => add(`packages[${i}]`, spec.name, spec));
  const key = (r: LockedRequest): string => `${r.reason}\0${r.name}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * The rule that takes a package's licence notice. Its doc directory is taken too: where that is
 * a link to a sibling package's (Debian Policy §12.5 allows it within one source package), the
 * link is how the copyright file is reached, and the sibling's own rule takes the file.
 */
export function copyrightRule(pkg: string): SelectionRule {
  return { set: COPYRIGHT_SET, include: [docDir(pkg), copyrightPath(pkg)], exclude: [] };
}

/**
 * The selection rules for one resolved package: for each set whose chain reaches it, the set's
 * own rule when the set names this package, else the whole package minus docs (a dependency);
 * with `copyright`, also the package's copyright file.
 */
export function selectionRules(pkg: ResolvedPackage, setOfReason: Map<string, FileSetPlan>, copyright: boolean): SelectionRule[] {
  const rules = new Map<string, SelectionRule>();
  for (const chain of pkg.reasons) {
    const head = splitChain(chain).reason;
    const plan = setOfReason.get(head);
    if (!plan) continue;
    const direct = chain === head ? plan.packages.find((p) => p.name === pkg.record.name) : undefined;
    const rule: SelectionRule = direct
      ? { set: plan.name, include: [...direct.include], exclude: [...direct.exclude] }
      : { set: plan.name, include: [...WHOLE_PACKAGE], exclude: [...DEFAULT_EXCLUDE] };
    const prev = rules.get(plan.name);
    rules.set(plan.name, prev ? mergeRules(prev, rule) : rule);
  }
  if (copyright) rules.set(COPYRIGHT_SET, copyrightRule(pkg.record.name));
  return [...rules.values()].sort((a, b) => (a.set < b.set ? -1 : a.set > b.set ? 1 : 0));
}

function mergeRules(a: SelectionRule, b: SelectionRule): SelectionRule {
  const include = [...new Set([...a.include, ...b.include])].sort();
  // A path excluded by only one of the two rules is still wanted by the other.
  const exclude = a.exclude.filter((x) => b.exclude.includes(x)).sort();
  return { set: a.set, include, exclude };
}
