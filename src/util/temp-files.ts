/**
 * Our temp files (the cache's, and those of every output beside its final name): a name only
 * this tool makes, carrying the pid of the process that writes it, so a sweep removes only what
 * a crashed run of ours left behind — never a file of the user's, never one a live run is still
 * writing, never anything through a symlink.
 */
import { randomBytes } from "node:crypto";
import { lstat, readdir, rm, unlink } from "node:fs/promises";
import { join } from "node:path";

const TEMP_NAME = /^\.scratch-pkgs-([1-9][0-9]{0,9})-[0-9a-f]{16}\.part$/;
/** A run's temp file is rewritten as it downloads; one untouched for a day is not being written. */
export const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

/** A fresh temp file name owned by `pid`: `.scratch-pkgs-<pid>-<16 hex>.part`. */
export function tempFileName(pid: number = process.pid): string {
  return `.scratch-pkgs-${pid}-${randomBytes(8).toString("hex")}.part`;
}

/** The pid that owns a temp file of ours; undefined for any other name. */
export function tempFileOwner(name: string): number | undefined {
  const m = TEMP_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Whether `pid` names a running process (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === "EPERM";
  }
}

export interface TempFileState {
  name: string;
  /** From lstat: a symlink or device is never ours to remove, a directory only under OUTPUT_SWEEP. */
  isRegularFile: boolean;
  isDirectory?: boolean;
  mtimeMs: number;
}

/** What a sweep may remove besides "ours, and the owner is gone". */
export interface SweepRule {
  /** Untouched for at least this long. */
  minAgeMs: number;
  /** Also directories of ours (removed with what is in them, never following a link). */
  directories: boolean;
}

/**
 * The cache is shared: by runs in other pid namespaces (containers, CI jobs restoring it), whose
 * pids mean nothing here, so a temp must also be a day old.
 */
export const CACHE_SWEEP: SweepRule = { minAgeMs: STALE_TEMP_MS, directories: false };
/**
 * An output directory belongs to the user's command, and the next run must leave it clean (a
 * kill test checks it); a dead owner is enough. An OCI layout is first built as a directory.
 */
export const OUTPUT_SWEEP: SweepRule = { minAgeMs: 0, directories: true };

/**
 * The pure rule of the sweep: only a regular file (or, by the rule, a directory) with our name,
 * whose owner is not running and which nobody has written for the rule's minimum age.
 */
export function isStaleTemp(f: TempFileState, nowMs: number, alive: (pid: number) => boolean = processAlive, rule: SweepRule = CACHE_SWEEP): boolean {
  const pid = tempFileOwner(f.name);
  if (pid === undefined || !(f.isRegularFile || (rule.directories && f.isDirectory === true))) return false;
  if (nowMs - f.mtimeMs < rule.minAgeMs) return false;
  return pid !== process.pid && !alive(pid);
}

/** Remove the stale temp files of ours in `dir` (best effort: a sweep never fails a run). */
export async function sweepStaleTemp(dir: string, nowMs: number = Date.now(), rule: SweepRule = CACHE_SWEEP): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (tempFileOwner(name) === undefined) continue;
    const path = join(dir, name);
    try {
      const st = await lstat(path);
      if (!isStaleTemp({ name, isRegularFile: st.isFile(), isDirectory: st.isDirectory(), mtimeMs: st.mtimeMs }, nowMs, processAlive, rule)) continue;
      if (st.isDirectory()) await rm(path, { recursive: true, force: true });
      else await unlink(path);
    } catch {
      // Gone already, or not removable: harmless either way.
    }
  }
}
