/**
 * Memoised resolution: the result of resolving one architecture is a pure function of the
 * verified indexes (by sha256), the requests, the pins and the resolver's code. Keyed by all of
 * those, it is stored in the content-addressed cache, so a warm `lock` verifies the releases'
 * signatures and index hashes as always but does not parse and resolve the indexes again.
 * The stored result is re-hashed on read like every cache entry.
 */
import { fileURLToPath } from "node:url";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import type { ContentCache } from "../fetch/cache.js";
import { canonicalJson } from "../util/canonical-json.js";
import { sha256Hex } from "../util/hash.js";
import { VERSION } from "../util/version.js";

/**
 * Every module of the program (compiled .js, or .ts when run from source by the tests) is part of the key: any change of code (a fix in the
 * resolver, a new recipe version) invalidates what older code memoised. Reading ~100 small
 * files once per process costs a few milliseconds.
 */
let codeFingerprint: string | undefined;
function fingerprint(): string {
  if (codeFingerprint === undefined) {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith(".js") || (f.endsWith(".ts") && !f.endsWith(".d.ts"))).sort();
    const h = createHash("sha256").update(VERSION + "\n");
    for (const f of files) h.update(f + "\0").update(readFileSync(join(root, f)));
    codeFingerprint = h.digest("hex");
  }
  return codeFingerprint;
}

export class ResolutionMemo {
  constructor(private readonly cache: ContentCache) {}

  key(parts: unknown, kind = "resolution"): string {
    return `${kind}:` + sha256Hex(canonicalJson({ code: fingerprint(), parts }));
  }

  async get<T>(key: string): Promise<T | undefined> {
    const sha = await this.cache.getRef(key);
    if (!sha) return undefined;
    const bytes = await this.cache.read(sha);
    if (!bytes) return undefined;
    try {
      return JSON.parse(bytes.toString("utf8")) as T;
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    try {
      await this.cache.setRef(key, await this.cache.write(canonicalJson(value)));
    } catch {
      // A memo that cannot be stored only costs time next run.
    }
  }
}
