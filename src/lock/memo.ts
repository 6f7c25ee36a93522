/**
 * Memoised results of a lock: resolving one architecture is a pure function of the verified
 * indexes (by sha256), the requests, the pins and the resolver's code; an architecture's layer
 * digests one of its packages (by sha256), selection rules, derivations and the compressors.
 * Keyed by all of those, a result is kept in the cache as a derived entry (derived-refs.ts), so
 * a warm `lock` verifies the releases' signatures and index hashes as always but does not parse
 * and resolve the indexes or build the layers again. The result is not checked against the
 * indexes (that needs them parsed, which is what the memo saves): its MAC says this user's
 * tool computed it from those inputs, and a result without one is recomputed.
 */
import type { ContentCache } from "../fetch/cache.js";
import { DerivedRefs } from "../fetch/derived-refs.js";
import { canonicalJson } from "../util/canonical-json.js";
import { sha256Hex } from "../util/hash.js";
import { VERSION } from "../util/version.js";
import { codeFingerprint } from "./code-fingerprint.js";

export class ResolutionMemo {
  /** The authenticated refs the memo keeps its results behind; `lock` also keeps decoded .deb members there. */
  readonly refs: DerivedRefs;

  /** `keyFile`: the secret that authenticates the entries (default: defaultCacheKeyFile()). */
  constructor(cache: ContentCache, opts: { keyFile?: string } = {}) {
    this.refs = new DerivedRefs(cache, opts.keyFile);
  }

  key(parts: unknown, kind = "resolution"): string {
    return `${kind}:` + sha256Hex(canonicalJson({ code: codeFingerprint(), version: VERSION, parts }));
  }

  async get<T>(key: string): Promise<T | undefined> {
    const hit = await this.refs.get(key);
    if (!hit) return undefined;
    try {
      return JSON.parse(hit.bytes.toString("utf8")) as T;
    } catch {
      return undefined;
    }
  }

  set(key: string, value: unknown): Promise<void> {
    return this.refs.set(key, canonicalJson(value));
  }
}
