/**
 * The live tests' only network peer: the Debian mirror this machine's apt uses, read from the
 * apt sources at run time (its host name is never written into the repository).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
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

/** The example manifest's fields the live tests change. */
export interface LiveManifest {
  sources: Array<{ name: string; url: string; keyring: string }>;
  architectures: string[];
  fileSets: Record<string, Record<string, unknown>>;
}

/**
 * A copy of the example scratch.json in `dir`, for a lock through the live mirror: its snapshot
 * URLs at the current time (the mirror's releases are newer than the committed timestamp, and
 * lock refuses that pair), keyrings made absolute, then `edit`ed. Returns the copy's path.
 */
export function liveManifest(dir: string, edit: (m: LiveManifest) => void = () => {}): string {
  const root = resolve(import.meta.dirname, "../..");
  const manifest = JSON.parse(readFileSync(join(root, "scratch.json"), "utf8")) as LiveManifest;
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
  for (const s of manifest.sources) {
    s.url = s.url.replace(/\/archive\/([^/]+)\/\d{8}T\d{6}Z$/, `/archive/$1/${now}`);
    s.keyring = join(root, s.keyring);
  }
  edit(manifest);
  const file = join(dir, "scratch.json");
  writeFileSync(file, JSON.stringify(manifest, null, 2));
  return file;
}
