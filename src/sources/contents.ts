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
