/**
 * The manifest's suites, each release fetched and its signature verified with the source's
 * keyring, in manifest order: the first step of `lock`, and of `doctor` (whose Contents lookups
 * read the same suites).
 */
import { resolve as resolvePath } from "node:path";
import type { Manifest } from "../model/manifest.js";
import type { Fetcher } from "../fetch/fetcher.js";
import { readKeyring, type PinnedKeyring } from "../sources/keyring.js";
import { SignatureVerdicts } from "../sources/signature-verdicts.js";
import type { MirrorPlan } from "../sources/mirrors.js";
import { fetchVerifiedSuite, type VerifiedSuite } from "../sources/archive.js";
import { SuiteNotFoundError } from "../sources/missing-suite.js";
import type { ResolutionMemo } from "./memo.js";

export interface SuiteFetchOptions {
  fetcher: Fetcher;
  now: Date;
  /** Where signature verdicts are memoised (a warm run verifies no signature twice). */
  memo?: ResolutionMemo | undefined;
}

export async function verifySuites(
  manifest: Manifest,
  dir: string,
  mirrors: MirrorPlan,
  opts: SuiteFetchOptions,
): Promise<VerifiedSuite[]> {
  const keyrings = new Map<string, Promise<PinnedKeyring>>();
  const verdicts = opts.memo && new SignatureVerdicts(opts.memo);
  const jobs: Array<Promise<VerifiedSuite>> = [];
  for (const source of manifest.sources) {
    const file = resolvePath(dir, source.keyring);
    if (!keyrings.has(file)) keyrings.set(file, readKeyring(file));
    for (const suite of source.suites) {
      jobs.push(
        keyrings.get(file)!.then((keyring) =>
          fetchVerifiedSuite(
            opts.fetcher,
            {
              source: source.name,
              url: source.url,
              suite,
              bases: mirrors.basesFor(source.name, suite),
              keyring,
              allowExpired: source.allowExpired,
              missingHint: mirrors.missingSuiteHint(source.name),
            },
            opts.now,
            verdicts,
          ),
        ),
      );
    }
  }
  // Every job settles before any error is thrown: the error is then the first suite's in manifest
  // order, and a missing suite's did-you-mean can name the suites that did verify.
  const settled = await Promise.allSettled(jobs);
  const verified = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw failed.reason instanceof SuiteNotFoundError ? failed.reason.alsoNaming(verified) : failed.reason;
  return verified;
}
