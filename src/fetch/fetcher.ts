/**
 * What the rest of the program uses to get archive content: pinned content (known sha256 and
 * size) through the verified cache, and unpinned content (InRelease and friends) recorded in
 * the cache under a ref so that --offline runs can read it back.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, unlink, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import { IOError, NetworkError, VerificationError } from "../model/errors.js";
import type { ContentCache } from "./cache.js";
import type { HttpClient } from "./http.js";
import type { Progress } from "./progress.js";

export interface FetcherOptions {
  cache: ContentCache;
  http: HttpClient;
  offline: boolean;
  progress: Progress;
  /** Where pinned content may still be, once every URL answered that it is gone. */
  gone?: GoneFallback;
}

/**
 * Asked for pinned content that every URL answered as gone (HTTP 404 or 410): other URLs that
 * may serve the same bytes (verified as every download), or a hint saying how to get it;
 * undefined when it knows nothing about this content. It may throw a NetworkError of its own.
 */
export type GoneFallback = (req: PinnedRequest) => Promise<{ urls: string[] } | { hint: string } | undefined>;

export interface PinnedRequest {
  /** Where to download from, in order of preference (mirrors first, say). */
  urls: string[];
  sha256: string;
  size: number;
  /** What this is, for messages and progress, e.g. "libc6_2.36-9_amd64.deb". */
  label: string;
}

export interface UnpinnedRequest {
  urls: string[];
  /** Cache ref under which the content's sha256 is recorded (e.g. the canonical URL). */
  refKey: string;
  label: string;
  /** Refuse bodies larger than this; default 64 MiB. */
  maxBytes?: number;
}

const DEFAULT_MAX_UNPINNED = 64 * 1024 * 1024;
const OFFLINE_HINT = "run once without --offline to fill the cache";
const TAMPER_HINT = "the server sent different content than the lock or Release file pins: try another --mirror, or re-lock if the archive changed";

export class Fetcher {
  private readonly cache: ContentCache;
  private readonly http: HttpClient;
  private readonly offline: boolean;
  /** Where downloads are shown; the commands name their phases on it too. */
  readonly progress: Progress;
  private readonly gone: GoneFallback | undefined;

  constructor(opts: FetcherOptions) {
    this.cache = opts.cache;
    this.http = opts.http;
    this.offline = opts.offline;
    this.progress = opts.progress;
    this.gone = opts.gone;
  }

  /** This fetcher (same cache, connections and progress) asking `gone` where content went. */
  withFallback(gone: GoneFallback): this {
    // A copy of this very object, of its own class (a subclass's methods stay), with `gone` set.
    return Object.assign(Object.create(Object.getPrototypeOf(this) as object) as this, this, { gone });
  }

  /**
   * The cache path of content pinned by sha256 and size: a re-verified cache hit, or a download
   * from the first URL that works (the next URL is tried only after a NetworkError), then from
   * what the GoneFallback offers when every URL answered 404/410. A size or hash mismatch is a
   * VerificationError and nothing is cached.
   */
  async fetchPinned(req: PinnedRequest): Promise<string> {
    const want = req.sha256.toLowerCase();
    const hit = await this.cache.get(want, req.size);
    if (hit !== undefined) return hit;
    if (this.offline) {
      throw new NetworkError(
        `${req.label} (sha256 ${want}) is not in the cache ${this.cache.dir}, and --offline forbids downloading it`,
        req.urls[0],
        { hint: OFFLINE_HINT },
      );
    }
    const first = await this.downloadFirst(req.urls, want, req);
    if (typeof first === "string") return first;
    const gone = this.gone && isGone(first) ? await this.gone(req) : undefined;
    if (gone === undefined) throw first;
    if ("hint" in gone) throw new NetworkError(first.message, first.url, { hint: gone.hint, cause: first, ...(first.status !== undefined ? { status: first.status } : {}) });
    const again = await this.downloadFirst(gone.urls, want, req);
    if (typeof again === "string") return again;
    throw new NetworkError(`${first.message}; and from the fallback: ${again.message}`, first.url, { ...(again.hint ? { hint: again.hint } : {}), cause: again });
  }

  /** The cache path of a download from the first of `urls` that works, else the NetworkError for all of them. */
  private async downloadFirst(urls: string[], want: string, req: PinnedRequest): Promise<string | NetworkError> {
    const errors: NetworkError[] = [];
    for (const url of urls) {
      try {
        return await this.downloadPinned(url, want, req.size, req.label);
      } catch (e) {
        if (!(e instanceof NetworkError)) throw e;
        errors.push(e);
      }
    }
    return combine(req.label, urls, errors);
  }

  /**
   * Content not pinned by any hash yet. Online: the first URL that works (a 404 surfaces as a
   * NetworkError with status 404), stored in the cache with ref `refKey` → its sha256.
   * Offline: the content the ref names, re-verified. Callers verify signatures themselves.
   */
  async fetchUnpinned(req: UnpinnedRequest): Promise<Uint8Array> {
    if (this.offline) return this.readRef(req);
    const maxBytes = req.maxBytes ?? DEFAULT_MAX_UNPINNED;
    const errors: NetworkError[] = [];
    for (const url of req.urls) {
      let bytes: Uint8Array;
      try {
        bytes = await this.downloadSmall(url, req.label, maxBytes);
      } catch (e) {
        if (!(e instanceof NetworkError)) throw e;
        errors.push(e);
        continue;
      }
      await this.cache.setRef(req.refKey, await this.cache.write(bytes));
      return bytes;
    }
    throw combine(req.label, req.urls, errors);
  }

  private async readRef(req: UnpinnedRequest): Promise<Uint8Array> {
    const sha = (await this.cache.getRef(req.refKey))?.sha256;
    if (sha === undefined) {
      throw new NetworkError(`${req.label} (${req.refKey}) is not in the cache ${this.cache.dir}, and --offline forbids downloading it`, req.urls[0], {
        hint: OFFLINE_HINT,
      });
    }
    // The very bytes returned are verified, not just the file at some earlier moment.
    const bytes = await this.cache.read(sha).catch(() => undefined);
    if (bytes === undefined) {
      throw new NetworkError(`the cached copy of ${req.label} (${req.refKey}) is missing or corrupt, and --offline forbids downloading it again`, req.urls[0], {
        hint: OFFLINE_HINT,
      });
    }
    return bytes;
  }

  /** Stream `url` into a temp file while hashing; verify size and sha256; move it into the cache. */
  private async downloadPinned(url: string, want: string, size: number, label: string): Promise<string> {
    const tmp = await this.cache.tempPath();
    const task = this.progress.task(label, size, url);
    // A full disk or a read-only cache is the environment's failure (exit 3), named, not a bug.
    const toCache = <T>(op: Promise<T>): Promise<T> =>
      op.catch((e: unknown) => {
        throw new IOError(`cannot write ${label} to ${tmp} in the cache: ${(e as Error).message}`, { cause: e, hint: "free space, check that the cache directory is writable, or use --cache DIR" });
      });
    let fh: FileHandle | undefined = await toCache(open(tmp, "wx", 0o644));
    let stored = false;
    try {
      let hash = createHash("sha256");
      let pos = 0;
      const file = fh;
      await this.http.get(
        url,
        async (chunk) => {
          if (pos + chunk.length > size) {
            throw sizeMismatch(label, url, size, `more than ${size}`);
          }
          // write() may write less than asked (a disk filling up): the rest must follow, or the
          // file would hold a hole where the hashed bytes were.
          for (let done = 0; done < chunk.length; ) {
            done += (await toCache(file.write(chunk, done, chunk.length - done, pos + done))).bytesWritten;
          }
          hash.update(chunk);
          pos += chunk.length;
          task.advance(chunk.length);
        },
        (total) => {
          // A new attempt starts from byte 0; positional writes overwrite the partial file.
          hash = createHash("sha256");
          pos = 0;
          task.reset?.();
          if (total !== undefined && total !== size) throw sizeMismatch(label, url, size, String(total));
        },
      );
      if (pos !== size) throw sizeMismatch(label, url, size, String(pos));
      const actual = hash.digest("hex");
      if (actual !== want) {
        throw new VerificationError(`${label}: ${url} has sha256 ${actual}, expected ${want}`, { hint: TAMPER_HINT });
      }
      await toCache(file.truncate(pos));
      await toCache(file.sync());
      await toCache(file.close());
      fh = undefined;
      const path = await this.cache.put(tmp, want);
      stored = true;
      return path;
    } finally {
      task.done();
      if (fh) await fh.close().catch(() => {});
      if (!stored) await unlink(tmp).catch(() => {});
    }
  }

  private async downloadSmall(url: string, label: string, maxBytes: number): Promise<Uint8Array> {
    const task = this.progress.task(label, undefined, url);
    let chunks: Uint8Array[] = [];
    let total = 0;
    try {
      await this.http.get(
        url,
        (chunk) => {
          total += chunk.length;
          if (total > maxBytes) throw tooLarge(label, url, maxBytes);
          chunks.push(chunk);
          task.advance(chunk.length);
        },
        (length) => {
          chunks = [];
          total = 0;
          task.reset?.();
          if (length !== undefined && length > maxBytes) throw tooLarge(label, url, maxBytes);
        },
      );
    } finally {
      task.done();
    }
    return Buffer.concat(chunks);
  }
}

/**
 * Read a cached file as a stream, hashing as it goes; the iteration throws a VerificationError
 * at the end if the bytes did not hash to `sha256` (by default the cache file's name). A caller
 * must discard whatever it derived from the bytes when that happens.
 */
export async function* openVerified(path: string, sha256?: string, size?: number): AsyncIterable<Uint8Array> {
  const want = (sha256 ?? basename(path)).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(want)) throw new Error(`openVerified: no sha256 given for ${path}`);
  const hash = createHash("sha256");
  let n = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    n += chunk.length;
    if (size !== undefined && n > size) break;
    yield chunk;
  }
  const actual = hash.digest("hex");
  if (actual !== want || (size !== undefined && n !== size)) {
    throw new VerificationError(`${path} changed in the cache: sha256 ${actual} (${n} bytes), expected ${want}${size !== undefined ? ` (${size} bytes)` : ""}`, {
      hint: "delete the cache entry (or the whole cache directory) and run again",
    });
  }
}

function sizeMismatch(label: string, url: string, expected: number, actual: string): VerificationError {
  return new VerificationError(`${label}: ${url} is ${actual} bytes, expected ${expected}`, { hint: TAMPER_HINT });
}

function tooLarge(label: string, url: string, maxBytes: number): VerificationError {
  return new VerificationError(`${label}: ${url} is larger than ${maxBytes} bytes; refusing it`, {
    hint: "check the URL / the mirror, or use --mirror",
  });
}

/** Every URL tried answered that the content is not there (rather than failing to answer). */
function isGone(e: NetworkError): boolean {
  return e.status === 404 || e.status === 410;
}

/** One NetworkError for all URLs tried; keeps the status when every URL failed the same way. */
function combine(label: string, urls: string[], errors: NetworkError[]): NetworkError {
  if (errors.length === 1 && errors[0]) return errors[0];
  if (errors.length === 0) return new NetworkError(`no URL to download ${label} from`, undefined, { hint: "check the sources in scratch.json, or use --mirror" });
  const first = errors[0]?.status;
  const same = first !== undefined && errors.every((e) => e.status === first);
  return new NetworkError(`cannot download ${label} from any of ${errors.length} URLs:\n${errors.map((e) => `  ${e.message}`).join("\n")}`, urls[0], {
    hint: errors[0]?.hint ?? "check the URL / the mirror, or use --mirror",
    cause: errors[errors.length - 1],
    ...(same ? { status: first } : {}),
  });
}
