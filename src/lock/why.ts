/**
 * `why PKG|PATH`: why a package is in the lock (its reason chains and the selection rules that
 * take its files), or which locked packages' selection rules take a path.
 */
import picomatch from "picomatch";
import type { Lockfile, LockedPackage } from "./types.js";

export interface WhyAnswer {
  query: string;
  kind: "package" | "path";
  matches: Array<{ architecture: string; package: string; version: string; reasons: string[]; sets: string[] }>;
}

export function why(lock: Lockfile, query: string, arch?: string): WhyAnswer {
  const kind = query.startsWith("/") ? "path" : "package";
  const matches: WhyAnswer["matches"] = [];
  for (const a of Object.keys(lock.architectures).sort()) {
    if (arch && a !== arch) continue;
    for (const p of lock.architectures[a]!.packages) {
      const sets = kind === "package" ? (p.name === query ? p.select.map((s) => s.set) : []) : setsTakingPath(p, query);
      if (sets.length > 0) matches.push({ architecture: a, package: p.name, version: p.version, reasons: p.reasons, sets });
    }
  }
  return { query, kind, matches };
}

function setsTakingPath(p: LockedPackage, path: string): string[] {
  return p.select
    .filter((rule) => picomatch.isMatch(path, rule.include, { dot: true }) && !picomatch.isMatch(path, rule.exclude, { dot: true }))
    .map((rule) => rule.set);
}

export function formatWhy(ans: WhyAnswer): string[] {
  const lines: string[] = [];
  for (const m of ans.matches) {
    lines.push(`${m.architecture}: ${m.package} ${m.version} (file sets: ${m.sets.join(", ")})`);
    for (const r of m.reasons) lines.push(`  ${r}`);
  }
  return lines;
}
