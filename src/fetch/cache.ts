/**
 * Content-addressed download cache, and the one place that writes it. Entries live at
 * <dir>/sha256/<2 hex>/<hash> and are only handed out after re-hashing them (read(): once, on
 * the very bytes returned), so a corrupt or tampered file is never served. Writes go to
 * <dir>/tmp, are fsynced and renamed into place, which makes two processes sharing a cache safe: a
 * reader sees either no entry or a complete one, and two writers of the same hash write the
 * same bytes. Refs map a key (e.g. an InRelease URL) to the sha256 of content fetched for it.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { IOError } from "../model/errors.js";
import { writeFileAtomic, fsyncDir } from "../util/atomic-write.js";
import { sha256Hex } from "../util/hash.js";

const HEX64 = /^[0-9a-f]{64}$/;
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

/** $XDG_CACHE_HOME/scratch-pkgs, else ~/.cache/scratch-pkgs (a relative XDG_CACHE_HOME is ignored, as the XDG spec says). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env["XDG_CACHE_HOME"];
  if (xdg && isAbsolute(xdg)) return join(xdg, "scratch-pkgs");
  const home = env["HOME"] || homedir();
  return join(home, ".cache", "scratch-pkgs");
}

/** sha256 and byte count of what a file handle reads from its start. */
export async function hashHandle(fh: FileHandle): Promise<{ sha256: string; size: number }> {
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

export class ContentCache {
  private sweptTemp = false;

  constructor(readonly dir: string) {}

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
    const fh = await openEntry(path);
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
    return path;
  }

  /**
   * The bytes of the entry for `sha256`, read once and hashed once; undefined when there is
   * none or it is corrupt (then it is deleted). What callers that want content, not a path, use.
   */
  async read(sha256: string): Promise<Buffer | undefined> {
    const want = normalizeHash(sha256);
    const path = this.pathFor(want);
    const fh = await openEntry(path);
    if (fh === undefined) return undefined;
    let bytes: Buffer;
    let st: { dev: number; ino: number };
    try {
      st = await fh.stat();
      bytes = await fh.readFile();
    } finally {
      await fh.close();
    }
    if (sha256Hex(bytes) === want) return bytes;
    await this.discard(path, st.dev, st.ino);
    return undefined;
  }

  /**
   * Store `bytes` under their sha256 (returned): written to a temp file in the cache, fsynced,
   * renamed into place. The one way content enters the cache besides a streamed download.
   */
  async write(bytes: Uint8Array | string): Promise<string> {
    const sha = sha256Hex(bytes);
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
    await this.put(tmp, sha);
    return sha;
  }

  /**
   * Move a finished temp file (from tempPath(), already verified by the caller to have this
   * sha256) into place. If another process stored the same hash meanwhile, either copy wins:
   * the bytes are the same.
   */
  async put(tmpPath: string, sha256: string): Promise<string> {
    const path = this.pathFor(sha256);
    try {
      await mkdir(dirname(path), { recursive: true });
      await chmod(tmpPath, 0o644);
      await rename(tmpPath, path);
    } catch (e) {
      await unlink(tmpPath).catch(() => {});
      throw new IOError(`cannot store ${path} in the cache: ${(e as Error).message}`, { cause: e, hint: "check that the cache directory is writable, or use --cache DIR" });
    }
    await fsyncDir(dirname(path));
    return path;
  }

  /** A fresh, not yet existing file name in <dir>/tmp (same file system as the entries). */
  async tempPath(): Promise<string> {
    const tmp = join(this.dir, "tmp");
    await this.ensureDir(tmp);
    if (!this.sweptTemp) {
      this.sweptTemp = true;
      await sweepStaleTemp(tmp);
    }
    return join(tmp, `${process.pid}-${randomBytes(8).toString("hex")}.part`);
  }

  /** The content sha256 last recorded for `key`, if any. */
  async getRef(key: string): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.refPath(key), "utf8");
    } catch (e) {
      if (isCode(e, "ENOENT")) return undefined;
      throw new IOError(`cannot read cache ref ${this.refPath(key)}: ${(e as Error).message}`, { cause: e, hint: "check the cache directory's permissions, or use --cache DIR" });
    }
    try {
      const ref = JSON.parse(text) as { key?: unknown; sha256?: unknown };
      if (ref.key === key && typeof ref.sha256 === "string" && HEX64.test(ref.sha256)) return ref.sha256;
    } catch {
      // A damaged ref is the same as none: the content will be fetched again.
    }
    return undefined;
  }

  /** Record that `key` currently names content `sha256` (atomic replace). */
  async setRef(key: string, sha256: string): Promise<void> {
    const h = normalizeHash(sha256);
    const path = this.refPath(key);
    await this.ensureDir(dirname(path));
    await writeFileAtomic(path, JSON.stringify({ key, sha256: h }) + "\n");
    await chmod(path, 0o644);
  }

  private refPath(key: string): string {
    return join(this.dir, "refs", sha256Hex(key));
  }

  private async ensureDir(dir: string): Promise<void> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new IOError(`cannot create cache directory ${dir}: ${(e as Error).message}`, { cause: e, hint: "check permissions, or use --cache DIR" });
    }
  }

  /** Delete a corrupt entry, unless another process has already replaced it with a new file. */
  private async discard(path: string, dev: number, ino: number): Promise<void> {
    try {
      const now = await stat(path);
      if (now.dev === dev && now.ino === ino) await unlink(path);
    } catch {
      // Already gone, or not ours to remove: either way it is not served.
    }
  }
}

/** The entry's file, open for reading; undefined when there is none. */
async function openEntry(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (e) {
    if (isCode(e, "ENOENT")) return undefined;
    throw new IOError(`cannot read cache entry ${path}: ${(e as Error).message}`, { cause: e, hint: "check the cache directory's permissions, or use --cache DIR" });
  }
}

/** Temp files older than a day belong to runs that crashed; remove them (best effort). */
async function sweepStaleTemp(tmp: string): Promise<void> {
  const cutoff = Date.now() - STALE_TEMP_MS;
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(tmp, name);
    try {
      if ((await stat(p)).mtimeMs < cutoff) await unlink(p);
    } catch {
      // Gone already, or not removable: harmless either way.
    }
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
