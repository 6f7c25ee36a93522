/**
 * Reading the verified Packages indexes a lock resolves against: fetched by the hash the
 * signed Release gives, decompressed and parsed streaming, records in manifest order.
 */
import type { Fetcher } from "../fetch/fetcher.js";
import { openVerified } from "../fetch/fetcher.js";
import { decompress, compressionOf } from "../codec/decompress.js";
import { FormatError } from "../model/errors.js";
import { readPackages } from "../debian/packages.js";
import type { PackageRecord } from "../model/package.js";
import type { Manifest } from "../model/manifest.js";
import { chooseIndexes, type VerifiedSuite, type IndexChoice } from "../sources/archive.js";

/** Fetch (in parallel; the HTTP client bounds concurrency) and parse indexes, records in manifest order. */
export async function readIndexes(fetcher: Fetcher, choices: Array<{ vs: VerifiedSuite; choice: IndexChoice }>): Promise<PackageRecord[]> {
  const parsed = await Promise.all(
    choices.map(async ({ vs, choice }) => {
      const path = await fetcher.fetchPinned({ urls: choice.urls, sha256: choice.locked.sha256, size: choice.locked.size, label: choice.label });
      try {
        return await readPackages(
          decompress(compressionOf(choice.locked.path), openVerified(path)),
          { source: vs.ref.source, suite: vs.ref.suite, component: choice.locked.component },
          choice.label,
        );
      } catch (e) {
        if (e instanceof FormatError) throw e.asVerificationError(choice.label, "the index matched its signed hash but does not decompress: report it to the archive");
        throw e;
      }
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
    for (const r of await readIndexes(fetcher, choices)) {
      if (r.architecture !== other) continue;
      const list = out.get(r.name) ?? [];
      if (!list.includes(other)) out.set(r.name, [...list, other]);
    }
  }
  return out;
}
