/**
 * Which paths of a rebuilt layer differ from the layer the lock recorded, from their two
 * provenance manifests: content, mode, ownership, type or link target; missing or extra paths.
 */
import { parseProvenance, type ProvenanceEntry } from "../layer/provenance.js";
import { comparePaths } from "../util/byte-order.js";

function originText(e: ProvenanceEntry): string {
  const o = e.origin;
  if (o.kind === "package") return `${o.package} ${o.version} ${o.member}`;
  if (o.kind === "derivation") return `derivation ${o.recipe} ${o.version}`;
  return o.reason;
}

export function diffProvenance(expectedText: string, actualText: string): Array<{ path: string; difference: string; origin: string }> {
  const want = new Map(parseProvenance(expectedText).entries.map((e) => [e.path, e]));
  const got = new Map(parseProvenance(actualText).entries.map((e) => [e.path, e]));
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
    if (JSON.stringify(w.origin) !== JSON.stringify(g.origin)) diffs.push(`origin ${originText(w)} → ${originText(g)}`);
    if (diffs.length > 0) out.push({ path, difference: diffs.join(", "), origin: originText(g) });
  }
  return out;
}
