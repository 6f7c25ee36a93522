/**
 * Reading one Packages index of a verified suite (chosen by index-choice.ts) — pinned by the
 * size and sha256 the signed release gives, decompressed and parsed streaming. `lock` and
 * `audit` both read indexes only through here.
 */
import type { Fetcher } from "../fetch/fetcher.js";
import { openVerified } from "../fetch/fetcher.js";
import { decompress, compressionOf } from "../codec/decompress.js";
import { parsePackages } from "../debian/packages.js";
import type { PackageRecord } from "../model/package.js";
import type { LockedIndex } from "../model/lock.js";
import { FormatError } from "../model/errors.js";
import type { VerifiedSuite } from "./archive.js";
import type { IndexChoice } from "./index-choice.js";

/**
 * The records of one index, streamed. Bytes that match the signed hash yet do not decompress
 * are the archive's (or an attacker's) fault, never ours: a VerificationError naming the index.
 */
export async function* readIndex(fetcher: Fetcher, vs: VerifiedSuite, choice: IndexChoice): AsyncGenerator<PackageRecord> {
  const { locked, label } = choice;
  const path = await fetcher.fetchPinned({ urls: choice.urls, sha256: locked.sha256, size: locked.size, label });
  try {
    yield* parsePackages(decompress(compressionOf(locked.path), openVerified(path)), { source: vs.ref.source, suite: vs.ref.suite, component: locked.component }, label);
  } catch (e) {
    if (e instanceof FormatError) throw e.asVerificationError(label, "the index matched its signed hash but does not decompress or parse: report it to the archive");
    throw e;
  }
}
