/**
 * The lock's sources against the manifest's: the same names, base URLs and suites. The manifest
 * sha256 recorded in the lock cannot show this, since an edited lock can keep the hash of the
 * manifest it no longer matches (its packages moved to another host, say).
 */
import type { LockedSource } from "../model/lock.js";
import type { ManifestSource } from "../model/manifest.js";

/** One line per difference, naming the source; empty when they agree. */
export function sourceDifferences(locked: readonly LockedSource[], manifest: readonly ManifestSource[]): string[] {
  const out: string[] = [];
  for (const l of locked) {
    const m = manifest.find((s) => s.name === l.name);
    if (!m) {
      out.push(`source ${l.name}: in the lock, not in the manifest`);
      continue;
    }
    if (l.url !== m.url) out.push(`source ${l.name}: the lock says URL ${l.url}, the manifest ${m.url}`);
    const lockedSuites = l.suites.map((s) => s.suite);
    const missing = m.suites.filter((s) => !lockedSuites.includes(s));
    const extra = lockedSuites.filter((s) => !m.suites.includes(s));
    if (missing.length > 0) out.push(`source ${l.name}: suites ${missing.join(", ")} of the manifest are not in the lock`);
    if (extra.length > 0) out.push(`source ${l.name}: suites ${extra.join(", ")} of the lock are not in the manifest`);
  }
  for (const m of manifest) if (!locked.some((l) => l.name === m.name)) out.push(`source ${m.name}: in the manifest, not in the lock`);
  return out;
}
