/**
 * The error for a suite that no mirror or URL has (neither dists/<suite>/InRelease nor
 * dists/<suite>/Release): an input mistake, most often a typo in scratch.json or a mirror that
 * carries other suites, so exit 2 with a did-you-mean rather than the network error (exit 3).
 */
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ResolveError } from "../model/errors.js";
import { didYouMean } from "../util/did-you-mean.js";
import { knownDebianSuites } from "../debian/suite-names.js";
import { suitePath } from "../debian/suite-urls.js";
import type { SuiteRef, VerifiedSuite } from "./archive.js";

export class SuiteNotFoundError extends ResolveError {
  /**
   * `listed`: the suites the bases' dists/ holds (file: mirrors only); `verified`: the names of
   * releases that verified meanwhile (an archive's own suite names, which Debian's list lacks).
   */
  constructor(
    readonly ref: SuiteRef,
    readonly listed: readonly string[],
    cause: unknown,
    verified: readonly string[] = [],
  ) {
    const near = didYouMean(ref.suite, [...new Set([...listed, ...verified, ...knownDebianSuites()])].filter((s) => s !== ref.suite));
    const where = ref.bases.length === 1 ? ref.bases[0]! : `any of ${ref.bases.join(", ")}`;
    const has = listed.length > 0 ? ` (its dists/ has ${[...new Set(listed)].sort().join(", ")})` : "";
    super(
      `suite ${JSON.stringify(ref.suite)} of source ${ref.source} not found at ${where}: neither ${suitePath(ref.suite, "InRelease")} nor ${suitePath(ref.suite, "Release")} exists${has}` +
        (near ? `; did you mean ${JSON.stringify(near)}?` : ""),
      { hint: ref.missingHint ?? `check the suite in scratch.json (the "suites" of source ${ref.source}) and the source's URL or mirror`, cause },
    );
  }

  /** The same error, its did-you-mean also drawing on the names of `suites` (the manifest's releases that verified). */
  alsoNaming(suites: readonly VerifiedSuite[]): SuiteNotFoundError {
    const names = suites.flatMap((vs) => [vs.ref.suite, vs.release.suite, vs.release.codename].filter((n): n is string => n !== undefined));
    return new SuiteNotFoundError(this.ref, this.listed, this.cause, names);
  }
}

export async function suiteNotFound(ref: SuiteRef, cause: unknown): Promise<SuiteNotFoundError> {
  return new SuiteNotFoundError(ref, (await Promise.all(ref.bases.map(listedSuites))).flat(), cause);
}

/** The suites a file: mirror's dists/ holds; none for other URLs (HTTP has no listing). */
async function listedSuites(base: string): Promise<string[]> {
  if (!/^file:/i.test(base)) return [];
  const entries = await readdir(fileURLToPath(`${base}/dists`), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}
