/**
 * Outputs that appear whole or not at all. Every part of a command's output is first written to
 * a temp file of ours (temp-files.ts: `.scratch-pkgs-<pid>-<hex>.part`) in its final directory
 * and fsynced; only when every part is written are they renamed into place, in the order given,
 * so a failure before that leaves every old output as it was, and a kill during the renames
 * leaves a prefix of that order replaced. A run sweeps the temps dead runs left in the
 * directories it writes to; nothing else there is touched.
 */
import { writeSync } from "node:fs";
import { lstat, open, rename, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { IOError, UsageError } from "../model/errors.js";
import { OUTPUT_SWEEP, sweepStaleTemp, tempFileName } from "./temp-files.js";

/**
 * An output too big to hold: a producer that writes it in chunks, synchronously, through `write`
 * (which copies what it is given), resolving when it is done; a rejection leaves no output.
 */
export type StreamedData = (write: (chunk: Uint8Array) => void) => Promise<void>;

export interface OutputFile {
  path: string;
  data: string | Uint8Array | StreamedData;
  /** Default 0644, narrowed by the umask as for any file the user's command creates... */
  mode?: number;
  /** ...unless exact (an OCI layout's files: their modes are part of the image). */
  exactMode?: boolean;
}

/** Written and fsynced temps, not yet in place: commit renames them, discard removes them. */
export interface StagedOutputs {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** One output file a command will write, and the flag that named it (for the error). */
export interface PlannedOutput {
  path: string;
  flag: string;
}

/**
 * Refuse, before any work, output paths that cannot be written whole: a trailing slash, a
 * directory or other non-file in the way, a parent that is missing or not a directory, or two
 * outputs at one path. Exit 2, naming the path.
 */
export async function checkOutputFiles(outputs: readonly PlannedOutput[]): Promise<void> {
  const seen = new Map<string, PlannedOutput>();
  for (const o of outputs) {
    const key = resolve(o.path);
    const before = seen.get(key);
    if (before) throw new UsageError(`${o.flag} ${o.path} is also ${before.flag}'s output`, { hint: "give each output its own path" });
    seen.set(key, o);
    await checkOutputFile(o);
  }
}

async function checkOutputFile({ path, flag }: PlannedOutput): Promise<void> {
  if (/\/$/.test(path)) throw new UsageError(`${flag} ${path} ends in "/", but it names a file`, { hint: `give a file name, e.g. ${path}layer.tar` });
  const st = await lstat(path).catch(() => undefined);
  if (st?.isDirectory()) throw new UsageError(`${flag} ${path} is a directory, but it names a file`, { hint: `give a file name inside it, e.g. ${join(path, "layer.tar")}` });
  if (st && !st.isFile() && !st.isSymbolicLink()) throw new UsageError(`${flag} ${path} exists and is not a regular file; refusing to replace it`, { hint: "give a new file name" });
  await checkParentDir(path, flag);
}

/** The directory an output goes in exists and is a directory (exit 2 otherwise). */
export async function checkParentDir(path: string, flag: string): Promise<void> {
  const dir = dirname(path);
  const st = await stat(dir).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error) {
    const hint = st.code === "ENOENT" ? `create it first (mkdir -p ${dir})` : "check the path and its permissions";
    throw new UsageError(`${flag} ${path}: its directory ${dir} ${st.code === "ENOENT" ? "does not exist" : `cannot be read (${st.message})`}`, { hint });
  }
  if (!st.isDirectory()) throw new UsageError(`${flag} ${path}: ${dir} is not a directory`, { hint: "give a path in an existing directory" });
}

/** Write each file to a temp beside it and fsync it; on any failure nothing is left behind. */
export async function stageFiles(files: readonly OutputFile[]): Promise<StagedOutputs> {
  for (const d of new Set(files.map((f) => dirname(f.path)))) await sweepStaleTemp(d, Date.now(), OUTPUT_SWEEP);
  const temps: Array<{ tmp: string; path: string }> = [];
  const discard = async () => {
    await Promise.all(temps.map((t) => unlink(t.tmp).catch(() => {})));
  };
  for (const f of files) {
    const tmp = join(dirname(f.path), tempFileName());
    try {
      temps.push({ tmp, path: f.path });
      await writeSynced(tmp, f.data, f.mode ?? 0o644, f.exactMode ?? false);
    } catch (e) {
      await discard();
      // What the producer of streamed data threw is its own error, not one of writing.
      if (e instanceof ProducerFailure) throw e.error;
      throw new IOError(`cannot write ${f.path}: ${(e as Error).message}`, { cause: e, hint: "check that the directory is writable and has space; no output was changed" });
    }
  }
  return {
    discard,
    commit: async () => {
      for (let i = 0; i < temps.length; i++) {
        const { tmp, path } = temps[i]!;
        try {
          await rename(tmp, path);
        } catch (e) {
          await Promise.all(temps.slice(i).map((t) => unlink(t.tmp).catch(() => {})));
          const done = temps.slice(0, i).map((t) => t.path);
          throw new IOError(`cannot move the new ${path} into place: ${(e as Error).message}`, { cause: e, hint: done.length ? `already replaced: ${done.join(", ")}; run the command again` : "no output was changed" });
        }
        // Before the next directory's rename, so a power loss keeps the order too.
        const next = temps[i + 1];
        if (!next || dirname(next.path) !== dirname(path)) await fsyncDir(dirname(path));
      }
    },
  };
}

/** Stage each group in turn and commit them in that order; a failure to stage one discards all. */
export async function stageInOrder(groups: ReadonlyArray<() => Promise<StagedOutputs>>): Promise<StagedOutputs> {
  const staged: StagedOutputs[] = [];
  return prepared(
    async () => {
      for (const g of groups) staged.push(await g());
    },
    () => inOrder(staged).discard(),
    () => inOrder(staged).commit(),
  );
}

/** Staged outputs committed (or discarded) together, in the order given. */
export function inOrder(staged: readonly StagedOutputs[]): StagedOutputs {
  return {
    discard: async () => {
      for (const s of staged) await s.discard();
    },
    commit: async () => {
      for (const s of staged) await s.commit();
    },
  };
}

/** Outputs staged by `prepare`; if it fails, `discard` removes what it wrote and the error stands. */
export async function prepared(prepare: () => Promise<void>, discard: () => Promise<void>, commit: () => Promise<void>): Promise<StagedOutputs> {
  try {
    await prepare();
  } catch (e) {
    await discard();
    throw e;
  }
  return { discard, commit };
}

/** Every file whole, committed in the order given. */
export async function writeFilesAtomic(files: readonly OutputFile[]): Promise<void> {
  await (await stageFiles(files)).commit();
}

/** Readers see either the old content or the whole new content. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await writeFilesAtomic([{ path, data, mode }]);
}

/** Create `path` (it must not exist) with `mode` (exactly, or as the umask leaves it), write `data`, fsync. */
export async function writeSynced(path: string, data: string | Uint8Array | StreamedData, mode: number, exact: boolean): Promise<void> {
  const fh = await open(path, "wx", mode);
  try {
    if (typeof data === "function") await writeStreamed(fh.fd, data);
    else await fh.writeFile(data);
    if (exact) await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const WRITE_BUFFER = 1 << 20;

/** Run a producer into `fd` through a fixed buffer: memory stays bounded whatever it writes. */
async function writeStreamed(fd: number, produce: StreamedData): Promise<void> {
  const buf = Buffer.allocUnsafe(WRITE_BUFFER);
  let used = 0;
  let writeError: unknown;
  const flush = () => {
    try {
      for (let at = 0; at < used; ) at += writeSync(fd, buf, at, used - at);
    } catch (e) {
      writeError ??= e;
      throw e;
    }
    used = 0;
  };
  const writing = produce((chunk) => {
    for (let at = 0; at < chunk.length; ) {
      const n = Math.min(WRITE_BUFFER - used, chunk.length - at);
      buf.set(chunk.subarray(at, at + n), used);
      used += n;
      at += n;
      if (used === WRITE_BUFFER) flush();
    }
  });
  await writing.catch((error: unknown) => {
    throw writeError ?? new ProducerFailure(error);
  });
  flush();
}

/** Carries a producer's own error past the wrapping of write errors. */
class ProducerFailure {
  constructor(readonly error: unknown) {}
}

export async function fsyncDir(dir: string): Promise<void> {
  try {
    const d = await open(dir, "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  }
}
