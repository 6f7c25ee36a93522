/**
 * The one place `add` takes a binary's needs from: doctor's walk through the archive's signed
 * Contents index (binary-needs.ts), over the manifest's suites, the lock's packages preferred.
 * A test of `add` alone may put another source in its place.
 */
import type { LoadedManifest } from "../model/manifest.js";
import type { BinaryNeeds } from "../model/binary-needs.js";
import type { Fetcher } from "../fetch/fetcher.js";
import type { ResolutionMemo } from "../lock/memo.js";
import { findBinaryNeeds } from "./binary-needs.js";

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
  memo?: ResolutionMemo | undefined;
  now: Date;
  note: (line: string) => void;
}

export type FindBinaryNeeds = (binary: string, context: NeedsContext) => Promise<BinaryNeeds>;

export const findNeeds: FindBinaryNeeds = (binary, ctx) =>
  findBinaryNeeds({
    binary,
    config: ctx.loaded.file,
    fetcher: ctx.fetcher,
    now: ctx.now,
    lockfile: ctx.lockfile,
    memo: ctx.memo,
    mirrors: ctx.mirrors,
    envMirror: ctx.envMirror,
    aptSources: ctx.aptSources,
    aptSourcesFallback: ctx.aptSourcesFallback,
  });
