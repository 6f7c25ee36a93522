/**
 * Reading the verified Packages indexes a lock resolves against (each through
 * sources/indexes.ts readIndex), records in manifest order.
 */
import type { Fetcher } from "../fetch/fetcher.js";
import type { PackageRecord } from "../model/package.js";
import type { Manifest } from "../model/manifest.js";
import type { VerifiedSuite } from "../sources/archive.js";
import { readIndex } from "../sources/indexes.js";
import { chooseIndexes, type IndexChoice } from "../sources/index-choice.js";

/** Fetch (in parallel; the HTTP client bounds concurrency) and parse indexes, records in manifest order. */
export async function readIndexes(fetcher: Fetcher, choices: Array<{ vs: VerifiedSuite; choice: IndexChoice }>): Promise<PackageRecord[]> {
  const parsed = await Promise.all(
    choices.map(async ({ vs, choice }) => {
      const records: PackageRecord[] = [];
      for await (const r of readIndex(fetcher, vs, choice)) records.push(r);
      return records;
    }),
  );
  return parsed.flat();
}

/** Package name → the manifest's other architectures whose indexes have it. */
export async function namesByArch(manifest: Manifest, suites: VerifiedSuite[], fetcher: Fetcher, except: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const other of [...manifest.architectures].sort()) {
    if (other === except) continue;
    const choices = suites.flatMap((vs) => chooseIndexes(vs, manifest.sources.find((s) => s.name === vs.ref.source)!.components, other).map((choice) => ({ vs, choice })));
    // Streamed, one index at a time: only the names are kept, never the other index's records.
    for (const { vs, choice } of choices) {
      for await (const r of readIndex(fetcher, vs, choice)) {
        if (r.architecture !== other) continue;
        const list = out.get(r.name) ?? [];
        if (!list.includes(other)) out.set(r.name, [...list, other]);
      }
    }
  }
  return out;
}
