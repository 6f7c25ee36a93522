/**
 * The live tests' only network peer: the Debian mirror this machine's apt uses, read from the
 * apt sources at run time (its host name is never written into the repository). The tests hand
 * it to the tool as `--mirror NAME=BASE` per source, not `--apt-sources`: the machine's apt
 * sources name its own release's suites, which need not be the example's.
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
  /** Base URL of the archive that serves `suite`, or undefined. */
  baseFor(suite: string): string | undefined;
  /** `NAME=BASE` for each source of the example manifest: what `--mirror` (or `mirrors`) takes. */
  mirrors: string[];
  /** The same as the CLI's flags: `--mirror NAME=BASE`…. */
  mirrorFlags: string[];
}

const ROOT = resolve(import.meta.dirname, "../..");
const example = (): LiveManifest => JSON.parse(readFileSync(join(ROOT, "scratch.json"), "utf8")) as LiveManifest;

/** Every suite of the example manifest, e.g. trixie, trixie-updates, trixie-security. */
export const EXAMPLE_SUITES: string[] = example().sources.flatMap((s) => s.suites);

/**
 * Which archive a suite lives in: the security suites in one, the releases and their -updates
 * in the other. The machine's apt sources may name other releases than the example's (its own),
 * and the same archive serves them all, so the mirror is matched by archive, not by suite.
 */
const archiveOf = (suite: string): string => (suite.endsWith("-security") ? "security" : "main");

export async function findLiveMirror(suites: string[]): Promise<{ mirror?: LiveMirror; skip?: string }> {
  if (process.env.SCRATCH_PKGS_NO_LIVE) return { skip: "SCRATCH_PKGS_NO_LIVE is set" };
  let entries: AptSourceEntry[];
  try {
    entries = await readAptSources();
  } catch (e) {
    return { skip: `cannot read this machine's apt sources: ${(e as Error).message}` };
  }
  const baseFor = (suite: string) => entries.find((e) => e.suites.includes(suite))?.uris[0] ?? entries.find((e) => e.suites.some((s) => archiveOf(s) === archiveOf(suite)))?.uris[0];
  const missing = suites.filter((s) => !baseFor(s));
  if (missing.length > 0) return { skip: `this machine's apt sources name no mirror of the archive serving ${missing.join(", ")}` };
  // A mirror that does not answer is a reason to skip, not to fail: the tests are about our code.
  for (const suite of suites) {
    try {
      const res = await fetch(`${baseFor(suite)}/dists/${suite}/InRelease`, { method: "HEAD", signal: AbortSignal.timeout(10_000) });
      if (!res.ok) return { skip: `the apt mirror answered ${res.status} for ${suite}'s InRelease` };
    } catch (e) {
      return { skip: `the apt mirror is out of reach: ${(e as Error).message}` };
    }
  }
  const mirrors = example().sources.map((s) => `${s.name}=${baseFor(s.suites[0]!) ?? ""}`);
  return { mirror: { entries, baseFor, mirrors, mirrorFlags: mirrors.flatMap((m) => ["--mirror", m]) } };
}

/** The example manifest's fields the live tests change. */
export interface LiveManifest {
  sources: Array<{ name: string; url: string; suites: string[]; keyring: string }>;
  architectures: string[];
  packages?: string[];
  fileSets: Record<string, Record<string, unknown>>;
}

/**
 * A copy of the example scratch.json in `dir`, for a lock through the live mirror: its snapshot
 * URLs at the current time (the mirror's releases are newer than the committed timestamp, and
 * lock refuses that pair), keyrings made absolute, then `edit`ed. Returns the copy's path.
 */
export function liveManifest(dir: string, edit: (m: LiveManifest) => void = () => {}): string {
  const manifest = example();
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
  for (const s of manifest.sources) {
    s.url = s.url.replace(/\/archive\/([^/]+)\/\d{8}T\d{6}Z$/, `/archive/$1/${now}`);
    s.keyring = join(ROOT, s.keyring);
  }
  edit(manifest);
  const file = join(dir, "scratch.json");
  writeFileSync(file, JSON.stringify(manifest, null, 2));
  return file;
}

/**
 * The example manifest's release as it is (trixie), or moved to bookworm (its suites and
 * keyrings), for a live test to fall back on where the mirror cannot serve trixie's files.
 */
export const LIVE_RELEASES = {
  trixie: { suites: EXAMPLE_SUITES, edit: (_: LiveManifest) => {} },
  bookworm: {
    suites: ["bookworm", "bookworm-updates", "bookworm-security"],
    edit: (m: LiveManifest) => {
      m.sources[0]!.suites = ["bookworm", "bookworm-updates"];
      m.sources[0]!.keyring = join(ROOT, "keys/debian-archive-bookworm.asc");
      m.sources[1]!.suites = ["bookworm-security"];
      m.sources[1]!.keyring = join(ROOT, "keys/debian-security-bookworm.asc");
    },
  },
};
