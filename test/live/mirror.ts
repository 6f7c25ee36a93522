/**
 * The live tests' only network peer: the Debian mirror this machine's apt uses, read from the
 * apt sources at run time (its host name is never written into the repository).
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readAptSources, type AptSourceEntry } from "../../src/sources/apt-sources.js";

/**
 * The live tests' one cache, kept between runs: content-addressed, every entry re-verified by
 * sha256 on use, so what one file (or an earlier run) downloaded the others need not.
 */
export const LIVE_CACHE = join(tmpdir(), "scratch-pkgs-live-layer-cache");

export interface LiveMirror {
  entries: AptSourceEntry[];
  /** Base URL serving `suite`, or undefined. */
  baseFor(suite: string): string | undefined;
}

export async function findLiveMirror(suites: string[]): Promise<{ mirror?: LiveMirror; skip?: string }> {
  if (process.env.SCRATCH_PKGS_NO_LIVE) return { skip: "SCRATCH_PKGS_NO_LIVE is set" };
  let entries: AptSourceEntry[];
  try {
    entries = await readAptSources();
  } catch (e) {
    return { skip: `cannot read this machine's apt sources: ${(e as Error).message}` };
  }
  const baseFor = (suite: string) => entries.find((e) => e.suites.includes(suite))?.uris[0];
  const missing = suites.filter((s) => !baseFor(s));
  if (missing.length > 0) return { skip: `this machine's apt sources name no mirror for ${missing.join(", ")}` };
  // A mirror that does not answer is a reason to skip, not to fail: the tests are about our code.
  try {
    const res = await fetch(`${baseFor(suites[0]!)}/dists/${suites[0]}/InRelease`, { method: "HEAD", signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return { skip: `the apt mirror answered ${res.status} for ${suites[0]}'s InRelease` };
  } catch (e) {
    return { skip: `the apt mirror is out of reach: ${(e as Error).message}` };
  }
  return { mirror: { entries, baseFor } };
}
