/**
 * `scratch-pkgs add BINARY…`: what each binary needs (binary-needs-source.ts) written into
 * scratch.json (manifest/add-binary-needs.ts), then re-locked: the edited manifest and the lock
 * are written together, in that order, only when the lock succeeds (runLock's editManifest, as
 * `lock --snapshot` writes its edit). `--check` writes nothing and reports the edit as a diff.
 */
import { stat } from "node:fs/promises";
import type { BinaryNeeds } from "../model/binary-needs.js";
import { UsageError } from "../model/errors.js";
import { loadManifestText, readManifestText } from "../manifest/load.js";
import { addBinaryNeeds, type ManifestAddition } from "../manifest/add-binary-needs.js";
import { lineDiff } from "../util/line-diff.js";
import type { FindBinaryNeeds } from "./binary-needs-source.js";
import { runLock, type LockOptions, type LockResult } from "./lock.js";

export interface AddOptions extends Omit<LockOptions, "check" | "update" | "snapshot" | "editManifest"> {
  binaries: string[];
  /** Request the packages whole (top-level `packages`) instead of a file set of exact paths. */
  whole: boolean;
  /** Write nothing; report what would be added. */
  check: boolean;
  /** Where the needs come from (binary-needs-source.ts: doctor's walk through Contents). */
  findNeeds: FindBinaryNeeds;
}

export interface AddResult {
  /** Whether scratch.json changes (or, with --check, would). */
  changed: boolean;
  additions: ManifestAddition[];
  /** scratch.json's change as a unified diff (empty when unchanged). */
  diff: string[];
  needs: BinaryNeeds[];
  /** The re-lock (absent with --check). */
  lock?: LockResult;
}

export async function runAdd(opts: AddOptions): Promise<AddResult> {
  const text = await readManifestText(opts.config);
  const loaded = await loadManifestText(text, opts.config);
  for (const b of opts.binaries) await checkBinary(b);
  const context = { loaded, lockfile: opts.lockfile, fetcher: opts.fetcher, mirrors: opts.mirrors, envMirror: opts.envMirror, aptSources: opts.aptSources, aptSourcesFallback: opts.aptSourcesFallback ?? false, memo: opts.memo, now: opts.now, note: opts.note };
  const needs: BinaryNeeds[] = [];
  for (const b of opts.binaries) needs.push(await opts.findNeeds(b, context));
  const edit = addBinaryNeeds(text, opts.config, needs, { whole: opts.whole });
  const result = { changed: edit.changed, additions: edit.additions, diff: edit.changed ? lineDiff(text, edit.text) : [], needs };
  if (opts.check) return result;
  // The edit is made again on the text runLock reads, so that it is the file's current text that is written back.
  const lock = await runLock({ ...opts, check: false, update: undefined, editManifest: (t) => addBinaryNeeds(t, opts.config, needs, { whole: opts.whole }).text });
  return { ...result, lock };
}

/** A binary must be a regular file: refused before any work, naming it. */
async function checkBinary(binary: string): Promise<void> {
  const st = await stat(binary).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`${binary}: ${e.code === "ENOENT" ? "no such file" : e.message}`, { hint: "pass the path of the binary (an ELF executable or shared library) to add", cause: e });
  });
  if (!st.isFile()) throw new UsageError(`${binary}: is ${st.isDirectory() ? "a directory" : "not a regular file"}, not a binary`, { hint: "pass the path of the binary (an ELF executable or shared library) to add" });
}
