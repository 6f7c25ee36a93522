/**
 * Reading the indexes of a verified suite (chosen by index-choice.ts, contents.ts) — pinned by the
 * size and sha256 the signed release gives, decompressed and parsed streaming. `lock` and
 * `audit` both read indexes only through here.
 */
import type { Fetcher } from "../fetch/fetcher.js";
import { openVerified } from "../fetch/fetcher.js";
import { decompress, compressionOf } from "../codec/decompress.js";
import { parsePackages } from "../debian/packages.js";
import type { PackageRecord } from "../model/package.js";
import { FormatError } from "../model/errors.js";
import type { VerifiedSuite } from "./archive.js";
import type { IndexChoice } from "./index-choice.js";

/**
 * The records of one index, streamed. Bytes that match the signed hash yet do not decompress
 * are the archive's (or an attacker's) fault, never ours: a VerificationError naming the index.
 */
export function readIndex(fetcher: Fetcher, vs: VerifiedSuite, choice: IndexChoice): AsyncGenerator<PackageRecord> {
  return parsePackages(readIndexBytes(fetcher, choice), { source: vs.ref.source, suite: vs.ref.suite, component: choice.locked.component }, choice.label);
}

/**
 * One index file of a verified suite (Packages, Contents), decompressed and streamed: fetched
 * by the sha256 and size its signed release lists, re-hashed as it is read from the cache.
 */
export async function* readIndexBytes(fetcher: Fetcher, choice: IndexChoice): AsyncGenerator<Uint8Array> {
  const { locked, label } = choice;
  const path = await fetcher.fetchPinned({ urls: choice.urls, sha256: locked.sha256, size: locked.size, label });
  try {
    yield* decompress(compressionOf(locked.path), openVerified(path));
  } catch (e) {
    if (e instanceof FormatError) throw e.asVerificationError(label, "the index matched its signed hash but does not decompress: report it to the archive");
    throw e;
  }
}
