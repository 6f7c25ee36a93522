/**
 * Content-addressed download cache, and the one place that writes it. Entries live at
 * <dir>/sha256/<2 hex>/<hash> and are only handed out after re-hashing them (read(): once, on
 * the very bytes returned), so a corrupt or tampered file is never served. Writes go to
 * <dir>/tmp, are fsynced and renamed into place, which makes two processes sharing a cache safe: a
 * reader sees either no entry or a complete one, and two writers of the same hash write the
 * same bytes. Refs map a key (e.g. an InRelease URL) to the sha256 of content fetched for it;
 * a ref says nothing about whether that content is right for the key: a fetched InRelease is
 * signature-checked on every use, and a derived entry's ref carries a MAC (derived-refs.ts).
 *
 * The cache touches only what it made: temp files carry a name only this tool makes and are swept
 * only when their owner is gone (temp-files.ts); its own directories (tmp, refs, sha256 and the
 * fan-out dirs) are refused when they are symlinks, refs are opened with O_NOFOLLOW, and nothing
 * is written or removed through a symlink; anything else in the cache directory is never listed,
 * opened or removed. An entry may be read through a symlink: its bytes are re-hashed against its
 * name before they are used, so where they live does not matter, and that is how a sandbox
 * presents a cache declared as an input (Bazel links every input file into the action's tree).
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { chmod, lstat, mkdir, open, rename, unlink, type FileHandle } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import { IOError } from "../model/errors.js";
import { fsyncDir } from "../util/atomic-write.js";
import { sha256Hex } from "../util/hash.js";
import { sweepStaleTemp, tempFileName } from "../util/temp-files.js";
import { DEFAULT_TRIM_DAYS, touchUsed, trimCache } from "./cache-trim.js";
import { Limiter } from "./limiter.js";

const HEX64 = /^[0-9a-f]{64}$/;
/** Read-only; a symlink in the last component fails (ELOOP) instead of being followed; a fifo does not block the open. */
const READ_NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Read-only, following a link (entries only: their bytes are verified by hash); a fifo does not block the open. */
const READ_FOLLOW = constants.O_RDONLY | constants.O_NONBLOCK;
const HINT = "check the cache directory's permissions, or use --cache DIR";

/** $XDG_CACHE_HOME/scratch-pkgs, else ~/.cache/scratch-pkgs (a relative XDG_CACHE_HOME is ignored, as the XDG spec says). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env["XDG_CACHE_HOME"];
  if (xdg && isAbsolute(xdg)) return join(xdg, "scratch-pkgs");
  const home = env["HOME"] || homedir();
  return join(home, ".cache", "scratch-pkgs");
}

/**
 * Entries hashed at once in this process. A layer asks for every package at once (a 400-package
 * closure: 400 hashes), and each holds a read buffer: unbounded, that was 400 MiB of buffers
 * for a layer whose .debs were all cached. Reads are disk-bound: a few at a time keep it busy.
 */
const hashing = new Limiter(4);

/** sha256 and byte count of what a file handle reads from its start. */
export function hashHandle(fh: FileHandle): Promise<{ sha256: string; size: number }> {
  return hashing.run(() => hashWhole(fh));
}

async function hashWhole(fh: FileHandle): Promise<{ sha256: string; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    h.update(buf.subarray(0, bytesRead));
    size += bytesRead;
    pos += bytesRead;
  }
  return { sha256: h.digest("hex"), size };
}

/** What a ref records: the content's sha256, and for a derived entry the MAC that vouches for it. */
export interface CacheRef {
  sha256: string;
  mac?: string;
}

export interface CacheOptions {
  /** Remove entries and refs unused for this many days (0: never). Default 30 (cache-trim.ts). */
  trimDays?: number | undefined;
  /** The clock for use times and trims (tests); default Date.now. */
  now?: () => number;
}

export class ContentCache {
  private sweptTemp = false;
  /** The cache's own directories already checked to be real directories, not symlinks. */
  private readonly checkedDirs = new Set<string>();
  private readonly now: () => number;
  private readonly trimDays: number;

  constructor(
    readonly dir: string,
    opts: CacheOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.trimDays = opts.trimDays ?? DEFAULT_TRIM_DAYS;
  }

  /** At the end of a run: remove what nobody used for the trim age, at most once a day (best effort). */
  async trim(): Promise<number> {
    return trimCache(this.dir, this.now(), this.trimDays, (path, text) => this.replaceFile(path, text));
  }

  pathFor(sha256: string): string {
    const h = normalizeHash(sha256);
    return join(this.dir, "sha256", h.slice(0, 2), h);
  }

  /** True when a verified entry exists (same check as get()). */
  async has(sha256: string, size?: number): Promise<boolean> {
    return (await this.get(sha256, size)) !== undefined;
  }

  /**
   * The path of the entry for `sha256`, after re-hashing it and checking `size`; undefined
   * when there is none. A corrupt entry (content not matching its name) is deleted.
   */
  async get(sha256: string, size?: number): Promise<string | undefined> {
    const want = normalizeHash(sha256);
    const path = this.pathFor(want);
    const fh = await this.openEntry(want);
    if (fh === undefined) return undefined;
    let actual: { sha256: string; size: number };
    let ino: number;
    let dev: number;
    try {
      const st = await fh.stat();
      ino = st.ino;
      dev = st.dev;
      actual = await hashHandle(fh);
    } finally {
      await fh.close();
    }
    if (actual.sha256 !== want) {
      await this.discard(path, dev, ino);
      return undefined;
    }
    // Right content but a different expected size: the caller's record is wrong, not the entry.
    if (size !== undefined && actual.size !== size) return undefined;
    await touchUsed(path, this.now());
    return path;
  }

  /**
   * The entry for `sha256` open for reading, after re-hashing it through this very handle (so a
   * file swapped in afterwards is not what is read) and checking `size`; undefined when there is
   * none, it is corrupt (then it is deleted) or its size differs. The caller closes it.
   */
  async openVerified(sha256: string, size?: number): Promise<{ file: FileHandle; size: number } | undefined> {
    const want = normalizeHash(sha256);
    const fh = await this.openEntry(want);
    if (fh === undefined) return undefined;
    try {
      const st = await fh.stat();
      const actual = await hashHandle(fh);
      if (actual.sha256 !== want) {
        await this.discard(this.pathFor(want), st.dev, st.ino);
        await fh.close();
        return undefined;
      }
      if (size !== undefined && actual.size !== size) {
        await fh.close();
        return undefined;
      }
      await touchUsed(this.pathFor(want), this.now());
      return { file: fh, size: actual.size };
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  /**
   * The bytes of the entry for `sha256`, read once and hashed once; undefined when there is
   * none or it is corrupt (then it is deleted). What callers that want content, not a path, use.
   */
  async read(sha256: string): Promise<Buffer | undefined> {
    const want = normalizeHash(sha256);
    const path = this.pathFor(want);
    const fh = await this.openEntry(want);
    if (fh === undefined) return undefined;
    let bytes: Buffer;
    let st: { dev: number; ino: number };
    try {
      st = await fh.stat();
      bytes = await fh.readFile();
    } finally {
      await fh.close();
    }
    if (sha256Hex(bytes) === want) {
      await touchUsed(path, this.now());
      return bytes;
    }
    await this.discard(path, st.dev, st.ino);
    return undefined;
  }

  /**
   * Store `bytes` under their sha256 (returned): written to a temp file in the cache, fsynced,
   * renamed into place. The one way content enters the cache besides a streamed download.
   */
  async write(bytes: Uint8Array | string): Promise<string> {
    const sha = sha256Hex(bytes);
    await this.put(await this.writeTemp(bytes), sha);
    return sha;
  }

  /** `bytes` in a fresh, fsynced temp file of ours (removed again if writing fails). */
  private async writeTemp(bytes: Uint8Array | string): Promise<string> {
    const tmp = await this.tempPath();
    try {
      const fh = await open(tmp, "wx", 0o644);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw new IOError(`cannot write ${tmp} in the cache: ${(e as Error).message}`, { cause: e, hint: "check that the cache directory is writable, or use --cache DIR" });
    }
    return tmp;
  }

  /**
   * Move a finished temp file (from tempPath(), already verified by the caller to have this
   * sha256) into place. If another process stored the same hash meanwhile, either copy wins:
   * the bytes are the same.
   */
  async put(tmpPath: string, sha256: string): Promise<string> {
    const path = this.pathFor(sha256);
    try {
      await this.ownDir(["sha256", basename(dirname(path))]);
    } catch (e) {
      await unlink(tmpPath).catch(() => {});
      throw e;
    }
    try {
      await chmod(tmpPath, 0o644);
      await rename(tmpPath, path);
    } catch (e) {
      await unlink(tmpPath).catch(() => {});
      throw new IOError(`cannot store ${path} in the cache: ${(e as Error).message}`, { cause: e, hint: "check that the cache directory is writable, or use --cache DIR" });
    }
    await fsyncDir(dirname(path));
    return path;
  }

  /**
   * A fresh, not yet existing file name of ours in <dir>/tmp (same file system as the entries).
   * The first call also sweeps what crashed runs left there (only our own names, see temp-files.ts).
   */
  async tempPath(): Promise<string> {
    const tmp = await this.ownDir(["tmp"]);
    if (!this.sweptTemp) {
      this.sweptTemp = true;
      await sweepStaleTemp(tmp);
    }
    return join(tmp, tempFileName());
  }

  /** The content sha256 last recorded for `key` (and the MAC stored with it, if any). */
  async getRef(key: string): Promise<CacheRef | undefined> {
    if ((await this.ownDir(["refs"], false)) === undefined) return undefined;
    const fh = await openRegular(this.refPath(key), "cache ref");
    if (fh === undefined) return undefined;
    let text: string;
    try {
      text = await fh.readFile("utf8");
    } finally {
      await fh.close();
    }
    try {
      const ref = JSON.parse(text) as { key?: unknown; sha256?: unknown; mac?: unknown };
      if (ref.key !== key || typeof ref.sha256 !== "string" || !HEX64.test(ref.sha256)) return undefined;
      await touchUsed(this.refPath(key), this.now());
      return { sha256: ref.sha256, ...(typeof ref.mac === "string" && HEX64.test(ref.mac) ? { mac: ref.mac } : {}) };
    } catch {
      // A damaged ref is the same as none: the content will be fetched again.
      return undefined;
    }
  }

  /**
   * Record that `key` currently names content `sha256`, with `mac` when the ref is a derived
   * entry's (derived-refs.ts) (atomic replace: a temp file of ours in <dir>/tmp renamed over
   * the ref, which replaces a symlink there rather than following it).
   */
  async setRef(key: string, sha256: string, mac?: string): Promise<void> {
    const h = normalizeHash(sha256);
    const path = this.refPath(key);
    const refs = await this.ownDir(["refs"]);
    await this.replaceFile(path, JSON.stringify({ key, sha256: h, ...(mac !== undefined ? { mac } : {}) }) + "\n");
    await fsyncDir(refs);
  }

  /** `path` (a file of the cache's own) replaced by `text`: a temp file of ours in <dir>/tmp renamed over it, which replaces a symlink there rather than following it. */
  private async replaceFile(path: string, text: string): Promise<void> {
    const tmp = await this.writeTemp(text);
    try {
      await chmod(tmp, 0o644);
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw new IOError(`cannot write ${path} in the cache: ${(e as Error).message}`, { cause: e, hint: HINT });
    }
  }

  private refPath(key: string): string {
    return join(this.dir, "refs", sha256Hex(key));
  }

  /** The entry's file, open for reading, after checking the dirs it lies in; undefined when there is none. */
  private async openEntry(sha256: string): Promise<FileHandle | undefined> {
    if ((await this.ownDir(["sha256", sha256.slice(0, 2)], false)) === undefined) return undefined;
    return openRegular(this.pathFor(sha256), "cache entry", READ_FOLLOW);
  }

  /**
   * <dir>/<parts...>, each level a real directory of the cache (created when `create`, else
   * undefined when missing). A symlink or non-directory there is refused (exit 3): following it
   * would read, write or delete files of whoever it points at. The cache dir itself may be a
   * symlink: that is the user's choice of where the cache lives.
   */
  private async ownDir(parts: string[]): Promise<string>;
  private async ownDir(parts: string[], create: false): Promise<string | undefined>;
  private async ownDir(parts: string[], create = true): Promise<string | undefined> {
    // A level is recorded only after its parents were, so a recorded path needs no new look.
    const full = join(this.dir, ...parts);
    if (this.checkedDirs.has(full)) return full;
    let dir = this.dir;
    if (create) await mkdirOrFail(dir, { recursive: true });
    for (const part of parts) {
      dir = join(dir, part);
      if (this.checkedDirs.has(dir)) continue;
      if (create) await mkdirOrFail(dir);
      let st;
      try {
        st = await lstat(dir);
      } catch (e) {
        if (!create && isCode(e, "ENOENT")) return undefined;
        throw new IOError(`cannot use cache directory ${dir}: ${(e as Error).message}`, { cause: e, hint: HINT });
      }
      if (!st.isDirectory()) {
        throw new IOError(`${dir} in the cache is ${st.isSymbolicLink() ? "a symlink" : "not a directory"}; scratch-pkgs refuses to follow it or write there`, {
          hint: `remove ${dir} (the cache re-creates it as a directory), or use another --cache DIR`,
        });
      }
      this.checkedDirs.add(dir);
    }
    return dir;
  }

  /** Delete a corrupt entry, unless another process has already replaced it with a new file. */
  private async discard(path: string, dev: number, ino: number): Promise<void> {
    try {
      const now = await lstat(path);
      if (now.dev === dev && now.ino === ino) await unlink(path);
    } catch {
      // Already gone, or not ours to remove: either way it is not served.
    }
  }
}

/**
 * The regular file at `path`, open for reading (through a symlink only with READ_FOLLOW);
 * undefined when there is none. A directory or fifo in the place of an entry or ref (or a
 * symlink in the place of a ref) is no entry: the next store renames a real file over it (or
 * fails naming it), never writing through it.
 */
async function openRegular(path: string, what: string, flags = READ_NO_FOLLOW): Promise<FileHandle | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, flags);
  } catch (e) {
    if (isCode(e, "ENOENT") || isCode(e, "ELOOP")) return undefined;
    throw new IOError(`cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e, hint: HINT });
  }
  if ((await fh.stat()).isFile()) return fh;
  await fh.close();
  return undefined;
}

async function mkdirOrFail(dir: string, opts: { recursive?: boolean } = {}): Promise<void> {
  try {
    await mkdir(dir, opts);
  } catch (e) {
    if (isCode(e, "EEXIST")) return; // lstat then says whether it is a directory
    throw new IOError(`cannot create cache directory ${dir}: ${(e as Error).message}`, { cause: e, hint: HINT });
  }
}

function normalizeHash(sha256: string): string {
  const h = sha256.toLowerCase();
  // The hash becomes a file name: anything but 64 hex digits is a bug upstream, never a path.
  if (!HEX64.test(h)) throw new Error(`not a sha256 hex digest: ${JSON.stringify(sha256)}`);
  return h;
}

function isCode(e: unknown, code: string): boolean {
  return (e as { code?: unknown } | null)?.code === code;
}
