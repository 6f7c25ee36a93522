/**
 * Derived cache entries: results this tool computed from verified inputs and keeps to skip the
 * work next time (a lock's memoised resolutions and layer digests, the decoded members of
 * .debs before a lock records their digests). Nothing re-checks such a result against its
 * inputs when it is reused, so its ref carries an HMAC-SHA256, keyed by the user's secret
 * (cache-key.ts, kept outside the cache) and bound to the entry's name and its content's sha256.
 * A ref without a valid MAC — written by hand, by another user, restored from another machine —
 * is a miss: the result is recomputed and stored again. The content itself is re-hashed against
 * the ref's sha256 on every read, like every cache entry.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { unlink, type FileHandle } from "node:fs/promises";
import type { ContentCache } from "./cache.js";
import { defaultCacheKeyFile, loadCacheKey } from "./cache-key.js";

/** Versions the MAC's input, so that another meaning of the same fields can never verify. */
const DOMAIN = "scratch-pkgs derived entry 1";

export class DerivedRefs {
  private key: Promise<Buffer | undefined> | undefined;

  constructor(
    readonly cache: ContentCache,
    /** Where the secret is (made on first use). */
    readonly keyFile: string = defaultCacheKeyFile(),
  ) {}

  /** The content stored under `name` by this user's runs, re-hashed; undefined when there is none or it is not vouched for. */
  async get(name: string): Promise<{ bytes: Buffer; sha256: string } | undefined> {
    const sha256 = await this.vouched(name);
    const bytes = sha256 === undefined ? undefined : await this.cache.read(sha256);
    return bytes && { bytes, sha256: sha256! };
  }

  /** As get, but the entry open for reading (re-hashed through that handle) rather than read: for big content. The caller closes it. */
  async open(name: string): Promise<{ file: FileHandle; sha256: string; size: number } | undefined> {
    const sha256 = await this.vouched(name);
    const hit = sha256 === undefined ? undefined : await this.cache.openVerified(sha256);
    return hit && { ...hit, sha256: sha256! };
  }

  /** The sha256 this user's runs recorded for `name`, when its MAC vouches for it. */
  private async vouched(name: string): Promise<string | undefined> {
    const key = await this.secret();
    if (key === undefined) return undefined;
    const ref = await this.cache.getRef(name);
    if (ref?.mac === undefined) return undefined;
    if (!timingSafeEqual(Buffer.from(ref.mac, "hex"), mac(key, name, ref.sha256))) return undefined;
    return ref.sha256;
  }

  /** Store `bytes` as what `name` derives to. A result that cannot be stored only costs time next run. */
  async set(name: string, bytes: Uint8Array | string): Promise<void> {
    const key = await this.secret();
    if (key === undefined) return;
    try {
      const sha256 = await this.cache.write(bytes);
      await this.cache.setRef(name, sha256, mac(key, name, sha256).toString("hex"));
    } catch {
      // Not stored: recomputed next time.
    }
  }

  /**
   * Store the finished temp file `tmp` (from cache.tempPath(), its content verified by the caller
   * to have `sha256`) as what `name` derives to. The temp is moved, or removed if it cannot be.
   */
  async setFile(name: string, tmp: string, sha256: string): Promise<void> {
    const key = await this.secret();
    try {
      if (key === undefined) throw new Error("no cache key");
      await this.cache.put(tmp, sha256);
      await this.cache.setRef(name, sha256, mac(key, name, sha256).toString("hex"));
    } catch {
      await unlink(tmp).catch(() => {});
    }
  }

  private secret(): Promise<Buffer | undefined> {
    return (this.key ??= loadCacheKey(this.keyFile).catch(() => undefined));
  }
}

function mac(key: Buffer, name: string, sha256: string): Buffer {
  return createHmac("sha256", key).update(`${DOMAIN}\0${name}\0${sha256}`).digest();
}
