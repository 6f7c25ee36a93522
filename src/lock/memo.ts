/**
 * Memoised resolution: the result of resolving one architecture is a pure function of the
 * verified indexes (by sha256), the requests, the pins and the resolver's code. Keyed by all of
 * those, it is stored in the content-addressed cache, so a warm `lock` verifies the releases'
 * signatures and index hashes as always but does not parse and resolve the indexes again.
 * The stored result is re-hashed on read like every cache entry.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import type { ContentCache } from "../fetch/cache.js";
import { canonicalJson } from "../util/canonical-json.js";
import { sha256Hex } from "../util/hash.js";
import { VERSION } from "../version.js";

/** The compiled files whose code decides a resolution result; their bytes are part of the key. */
const CODE = ["../resolve/resolver.js", "../resolve/universe.js", "../resolve/filesets.js", "./plan.js", "./create.js", "../index/packages.js", "../index/version.js", "../index/relations.js"];

let codeFingerprint: string | undefined;
function fingerprint(): string {
  if (codeFingerprint === undefined) {
    const parts = CODE.map((rel) => {
      try {
        return sha256Hex(readFileSync(fileURLToPath(new URL(rel, import.meta.url))));
      } catch {
        return "missing:" + rel;
      }
    });
    codeFingerprint = sha256Hex(VERSION + "\n" + parts.join("\n"));
  }
  return codeFingerprint;
}

export class ResolutionMemo {
  constructor(private readonly cache: ContentCache) {}

  key(parts: unknown): string {
    return "resolution:" + sha256Hex(canonicalJson({ code: fingerprint(), parts }));
  }

  async get<T>(key: string): Promise<T | undefined> {
    const sha = await this.cache.getRef(key);
    if (!sha) return undefined;
    const path = await this.cache.get(sha);
    if (!path) return undefined;
    try {
      return JSON.parse(await readFile(path, "utf8")) as T;
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    const text = canonicalJson(value);
    const sha = sha256Hex(text);
    try {
      const tmp = await this.cache.tempPath();
      await writeFile(tmp, text);
      await this.cache.put(tmp, sha);
      await this.cache.setRef(key, sha);
    } catch {
      // A memo that cannot be stored only costs time next run.
    }
  }
}
