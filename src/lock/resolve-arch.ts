/**
 * One architecture's resolution turned into the lock's package list: the resolver's results for
 * the requests with and without dependencies merged, each package with its URL under the
 * manifest's source URL, its reasons and its selection rules.
 */
import type { Manifest } from "../model/manifest.js";
import type { Universe } from "../resolve/universe.js";
import { resolve } from "../resolve/resolver.js";
import type { ResolvedPackage } from "../resolve/types.js";
import { selectionRules, type planRequests } from "./plan.js";
import type { LockedArchitecture, LockedPackage } from "../model/lock.js";
import { ResolveError } from "../model/errors.js";

export type ResolvedArchitecture = Pick<LockedArchitecture, "packages" | "skipped">;

export function resolveOrExplain(
  universe: Universe,
  requests: Parameters<typeof resolve>[1],
  policy: "none" | "closure",
  prefer: Map<string, string>,
  arch: string,
  otherArches?: Map<string, string[]>,
) {
  if (requests.length === 0) return { architecture: arch, packages: [], skipped: [] };
  return resolve(universe, requests, policy, { prefer, ...(otherArches ? { otherArches } : {}) });
}

export function lockArchitecture(
  manifest: Manifest,
  arch: string,
  results: Array<{ packages: ResolvedPackage[]; skipped: Array<{ name: string; reason: string }> }>,
  setOfReason: ReturnType<typeof planRequests>["setOfReason"],
): ResolvedArchitecture {
  const byName = new Map<string, ResolvedPackage>();
  for (const r of results) {
    for (const p of r.packages) {
      const prev = byName.get(p.record.name);
      if (!prev) {
        byName.set(p.record.name, { record: p.record, reasons: [...p.reasons] });
        continue;
      }
      if (prev.record.version !== p.record.version || prev.record.architecture !== p.record.architecture) {
        throw new ResolveError(
          `cannot resolve for ${arch}: ${p.record.name} is wanted at ${prev.record.version} (${prev.reasons[0]}) and at ${p.record.version} (${p.reasons[0]})`,
          { hint: "pin one version in \"packages\" (name=version)" },
        );
      }
      prev.reasons = [...new Set([...prev.reasons, ...p.reasons])].sort();
    }
  }
  const packages: LockedPackage[] = [...byName.values()]
    .sort((a, b) => (a.record.name < b.record.name ? -1 : a.record.name > b.record.name ? 1 : 0))
    .map((p) => {
      const source = manifest.sources.find((s) => s.name === p.record.origin.source)!;
      return {
        name: p.record.name,
        version: p.record.version,
        architecture: p.record.architecture,
        source: source.name,
        suite: p.record.origin.suite,
        component: p.record.origin.component,
        url: `${source.url}/${p.record.filename}`,
        size: p.record.size,
        sha256: p.record.sha256,
        reasons: p.reasons,
        select: selectionRules(p, setOfReason, manifest.copyright),
      };
    });
  const skipped = results.flatMap((r) => r.skipped).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { packages, skipped };
}
