/**
 * The signed Contents indexes of a verified suite (which package ships which path), chosen,
 * fetched and verified exactly as the Packages indexes are (index-choice.ts, indexes.ts): the
 * smallest form the release lists, by-hash first where it offers that, pinned by the release's
 * sha256 and size, cached content-addressed, streamed through one ContentsQuery pass.
 */
import type { Fetcher } from "../fetch/fetcher.js";
import { ContentsQuery, type ContentsHit } from "../debian/contents-lookup.js";
import { ResolveError } from "../model/errors.js";
import type { VerifiedSuite } from "./archive.js";
import { checkCarried, indexChoice, smallestForm, type IndexChoice } from "./index-choice.js";
import { readIndexBytes } from "./indexes.js";
import { comparePaths } from "../util/byte-order.js";

/**
 * Contents-<arch> of each component, and Contents-all where the release lists it: bookworm and
 * trixie keep the files of `all` packages there only (the two lists do not overlap), older
 * releases folded them into Contents-<arch>; reading both and joining the answers is right either way.
 */
export function chooseContents(vs: VerifiedSuite, components: string[], arch: string, withAll = true): IndexChoice[] {
  checkCarried(vs, components, arch);
  const out: IndexChoice[] = [];
  for (const component of components) {
    const path = smallestForm(vs, `${component}/Contents-${arch}`);
    if (path === undefined) {
      throw new ResolveError(`${vs.label} lists no ${component}/Contents-${arch} index in any form`, {
        hint: "the archive publishes no Contents index for this component/architecture: look the path up in another source",
      });
    }
    out.push(indexChoice(vs, component, arch, path));
    const all = withAll ? smallestForm(vs, `${component}/Contents-all`) : undefined;
    if (all !== undefined) out.push(indexChoice(vs, component, "all", all));
  }
  return out;
}

export interface ContentsRequest {
  components: string[];
  architecture: string;
  /** Absolute paths, e.g. "/usr/lib/x86_64-linux-gnu/libssl.so.3". */
  paths: string[];
  /**
   * Read Contents-<arch> only: for ELF files of that architecture, which no `all` package ships
   * (Policy 5.6.8; lintian's arch-independent-package-contains-binary-or-object is an error),
   * and Contents-all is three times the size of Contents-amd64 in bookworm main.
   */
  architectureOnly?: boolean;
}

/**
 * Which packages of the suite ship each asked path (also under its merged-/usr spelling), from
 * one pass over each chosen Contents index. Every asked path is a key; no hit, an empty list.
 */
export async function lookupContents(fetcher: Fetcher, vs: VerifiedSuite, req: ContentsRequest): Promise<Map<string, ContentsHit[]>> {
  const query = new ContentsQuery(req.paths);
  for (const choice of chooseContents(vs, req.components, req.architecture, !req.architectureOnly)) await query.scan(readIndexBytes(fetcher, choice), choice.label);
  return query.answer();
}

/**
 * lookupContents over several suites (each with its components), the answers joined: every
 * asked path, each spelling some suite lists it under (the asked one first, then in byte
 * order) with the sorted names of the packages that ship it in any of them.
 */
export async function lookupContentsAcross(
  fetcher: Fetcher,
  suites: ReadonlyArray<{ vs: VerifiedSuite; components: string[] }>,
  req: Omit<ContentsRequest, "components">,
): Promise<Map<string, ContentsHit[]>> {
  const joined = new Map<string, Map<string, Set<string>>>(req.paths.map((p) => [p, new Map()]));
  for (const { vs, components } of suites) {
    for (const [path, hits] of await lookupContents(fetcher, vs, { ...req, components })) {
      const bySpelling = joined.get(path)!;
      for (const h of hits) {
        let names = bySpelling.get(h.path);
        if (!names) bySpelling.set(h.path, (names = new Set()));
        for (const name of h.packages) names.add(name);
      }
    }
  }
  const out = new Map<string, ContentsHit[]>();
  for (const [path, bySpelling] of joined) {
    const spellings = [...bySpelling.keys()].sort((a, b) => (a === path ? -1 : b === path ? 1 : comparePaths(a, b)));
    out.set(path, spellings.map((sp) => ({ path: sp, packages: [...bySpelling.get(sp)!].sort(comparePaths) })));
  }
  return out;
}
