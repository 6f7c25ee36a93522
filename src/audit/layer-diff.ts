/**
 * Which paths of a rebuilt layer differ from the layer the lock recorded, from their two
 * provenance manifests: content, mode, ownership, type or link target; missing or extra paths.
 */
import type { Provenance, ProvenanceEntry, ProvenanceOrigin } from "../model/provenance.js";
import { comparePaths } from "../util/byte-order.js";

function providerText(o: ProvenanceOrigin): string {
  if (o.kind === "package") return `${o.package} ${o.version} ${o.member}`;
  if (o.kind === "derivation") return `derivation ${o.recipe} ${o.version}`;
  return o.reason;
}

/** Every provider of the entry, in provider order. */
function originText(e: ProvenanceEntry): string {
  return [e.origin, ...(e.alsoFrom ?? [])].map(providerText).join(", ");
}

/** Both manifests as parseProvenance returns them (validated). */
export function diffProvenance(expected: Provenance, actual: Provenance): Array<{ path: string; difference: string; origin: string }> {
  const want = new Map(expected.entries.map((e) => [e.path, e]));
  const got = new Map(actual.entries.map((e) => [e.path, e]));
  const out: Array<{ path: string; difference: string; origin: string }> = [];
  const paths = [...new Set([...want.keys(), ...got.keys()])].sort(comparePaths);
  for (const path of paths) {
    const w = want.get(path);
    const g = got.get(path);
    if (!g) {
      out.push({ path, difference: "missing from the rebuilt layer", origin: originText(w!) });
      continue;
    }
    if (!w) {
      out.push({ path, difference: "not in the recorded layer", origin: originText(g) });
      continue;
    }
    const diffs: string[] = [];
    if (w.type !== g.type) diffs.push(`type ${w.type} → ${g.type}`);
    if (w.sha256 !== g.sha256) diffs.push(`content sha256 ${w.sha256?.slice(0, 12)}… → ${g.sha256?.slice(0, 12)}…`);
    if (w.target !== g.target) diffs.push(`link target ${w.target} → ${g.target}`);
    if (w.mode !== g.mode) diffs.push(`mode ${w.mode} → ${g.mode}`);
    if (w.uid !== g.uid || w.gid !== g.gid) diffs.push(`owner ${w.uid}:${w.gid} → ${g.uid}:${g.gid}`);
    if (JSON.stringify([w.origin, w.alsoFrom]) !== JSON.stringify([g.origin, g.alsoFrom])) diffs.push(`origin ${originText(w)} → ${originText(g)}`);
    if (diffs.length > 0) out.push({ path, difference: diffs.join(", "), origin: originText(g) });
  }
  return out;
}
