/**
 * The one place `add` takes a binary's needs from. doctor's `findBinaryNeeds` (through the
 * archive's signed Contents index, issue 12) is wired here, in one line, once it exists:
 *
 *   export const findNeeds: FindBinaryNeeds | undefined = (binary, ctx) => findBinaryNeeds(binary, ctx);
 *
 * Until then `add` fails saying so (runAdd), rather than guess a binary's packages.
 */
import type { LoadedManifest } from "../model/manifest.js";
import type { BinaryNeeds } from "../model/binary-needs.js";
import type { Fetcher } from "../fetch/fetcher.js";

/** What a needs finder may use: the manifest (its sources, suites, architectures), the lock, and how to fetch. */
export interface NeedsContext {
  loaded: LoadedManifest;
  /** scratch.lock's path (its packages are preferred where several could serve); it may not exist yet. */
  lockfile: string;
  fetcher: Fetcher;
  mirrors: string[];
  envMirror: string | undefined;
  aptSources: string | undefined;
  aptSourcesFallback?: boolean;
  now: Date;
  note: (line: string) => void;
}

export type FindBinaryNeeds = (binary: string, context: NeedsContext) => Promise<BinaryNeeds>;

export const findNeeds: FindBinaryNeeds | undefined = undefined;
