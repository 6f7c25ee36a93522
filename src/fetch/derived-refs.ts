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
    const key = await this.secret();
    if (key === undefined) return undefined;
    const ref = await this.cache.getRef(name);
    if (ref?.mac === undefined) return undefined;
    if (!timingSafeEqual(Buffer.from(ref.mac, "hex"), mac(key, name, ref.sha256))) return undefined;
    const bytes = await this.cache.read(ref.sha256);
    return bytes && { bytes, sha256: ref.sha256 };
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

  private secret(): Promise<Buffer | undefined> {
    return (this.key ??= loadCacheKey(this.keyFile).catch(() => undefined));
  }
}

function mac(key: Buffer, name: string, sha256: string): Buffer {
  return createHmac("sha256", key).update(`${DOMAIN}\0${name}\0${sha256}`).digest();
}
