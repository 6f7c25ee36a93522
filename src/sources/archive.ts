/**
 * One suite of one source: its signed release (InRelease, or Release + Release.gpg where the
 * archive has no InRelease), fetched either as the newest a mirror serves (`lock`) or as the
 * very bytes a lock recorded (`audit`), and judged by one function for both: signature by a
 * pinned key, Valid-Until, and the suite it claims to be.
 */
import { readFile } from "node:fs/promises";
import type { Fetcher } from "../fetch/fetcher.js";
import { NetworkError, VerificationError } from "../model/errors.js";
import type { PinnedKeyring } from "./keyring.js";
import { parseRelease, checkValidUntil, type ReleaseInfo } from "./release.js";
import type { VerifiedRelease } from "./signature.js";
import type { SignatureVerdicts } from "./signature-verdicts.js";
import { decodeUtf8, frameClearsigned } from "./clearsigned.js";
import { sha256Hex } from "../util/hash.js";
import { suiteUrl } from "../debian/suite-urls.js";
import type { LockedSuite } from "../model/lock.js";
import { suiteNotFound } from "./missing-suite.js";

export interface SuiteRef {
  source: string;
  /** The manifest's base URL: recorded in the lock and used as the cache key. */
  url: string;
  suite: string;
  /** Where to fetch from, in order (mirrors, or the manifest URL). */
  bases: string[];
  keyring: PinnedKeyring;
  allowExpired: boolean;
  /** What to do when `bases` lack the suite altogether, if the mirror plan knows better than the default. */
  missingHint?: string | undefined;
}

export interface VerifiedSuite {
  ref: SuiteRef;
  release: ReleaseInfo;
  /** The verified release file's URL under the manifest's base, for messages. */
  label: string;
  locked: Omit<LockedSuite, "indexes">;
}

/** A suite's release as fetched, not yet trusted in any way. */
export type SignedRelease = { path: "InRelease"; bytes: Uint8Array } | { path: "Release"; bytes: Uint8Array; signature: Uint8Array };

const DETACHED_SIGNATURE = "Release.gpg";

/** Snapshots are signed by keys that may have expired since: judge those keys at signing time. */
function verifyOpts(ref: SuiteRef, label: string, now: Date) {
  return { label, at: now, keyValidity: ref.allowExpired ? ("signature-time" as const) : ("at" as const) };
}

/**
 * Everything that makes a release this suite's: one valid signature by a key of the pinned
 * keyring, a well-formed Release, Valid-Until not past (unless allowExpired), and Suite or
 * Codename naming the suite asked for.
 */
export async function verifyRelease(ref: SuiteRef, signed: SignedRelease, now: Date, verdicts?: SignatureVerdicts): Promise<VerifiedSuite> {
  const label = suiteUrl(ref.url, ref.suite, signed.path);
  const v = await checkSignature(ref, signed, verifyOpts(ref, label, now), verdicts);
  const release = parseRelease(v.text, label);
  checkValidUntil(release, now, ref.allowExpired, label);
  // Like apt: a release for another suite (a replayed or misrouted file) is not this suite's.
  if (release.suite !== ref.suite && release.codename !== ref.suite) {
    throw new VerificationError(
      `${label}: the signed release is for suite "${release.suite ?? "?"}" (codename "${release.codename ?? "?"}"), not "${ref.suite}"`,
      { hint: "check the source URL and the mirror: they serve a different suite at this path" },
    );
  }
  const meta: LockedSuite["release"] = { path: signed.path, sha256: v.releaseSha256, size: signed.bytes.length };
  if (signed.path === "Release") meta.signature = { path: DETACHED_SIGNATURE, sha256: sha256Hex(signed.signature), size: signed.signature.length };
  return {
    ref,
    release,
    label,
    locked: { suite: ref.suite, release: meta, date: release.dateText, validUntil: release.validUntilText ?? null, signedBy: v.fingerprint },
  };
}

/**
 * The signature check, or (`verdicts`, for `lock`) its verdict kept from an earlier check of the
 * same bytes against the same keyring that still holds at `now`: then the signed text is taken
 * by the strict framing alone and openpgp is not loaded at all.
 */
async function checkSignature(
  ref: SuiteRef,
  signed: SignedRelease,
  opts: ReturnType<typeof verifyOpts>,
  verdicts: SignatureVerdicts | undefined,
): Promise<Omit<VerifiedRelease, "stableUntil"> & { releaseSha256: string }> {
  const releaseSha256 = sha256Hex(signed.bytes);
  const name = verdicts?.name({
    release: releaseSha256,
    signature: signed.path === "Release" ? sha256Hex(signed.signature) : null,
    keyring: ref.keyring.sha256,
    keyValidity: opts.keyValidity,
  });
  const kept = name === undefined ? undefined : await verdicts!.get(name, opts.at);
  if (kept) {
    const text = signed.path === "InRelease" ? frameClearsigned(decodeUtf8(signed.bytes, opts.label), opts.label).text : decodeUtf8(signed.bytes, opts.label);
    return { text, fingerprint: kept.fingerprint, signingKeyId: kept.signingKeyId, releaseSha256 };
  }
  const [{ verifyClearsigned, verifyDetached }, keyring] = await Promise.all([import("./signature.js"), ref.keyring.parse()]);
  const v = signed.path === "InRelease" ? await verifyClearsigned(signed.bytes, keyring, opts) : await verifyDetached(signed.bytes, signed.signature, keyring, opts);
  if (name !== undefined) await verdicts!.set(name, v, opts.at);
  return { text: v.text, fingerprint: v.fingerprint, signingKeyId: v.signingKeyId, releaseSha256 };
}

/** `lock`: the newest release the mirrors serve, verified (reusing `verdicts` that still hold). */
export async function fetchVerifiedSuite(fetcher: Fetcher, ref: SuiteRef, now: Date, verdicts?: SignatureVerdicts): Promise<VerifiedSuite> {
  return verifyRelease(ref, await fetchNewestRelease(fetcher, ref), now, verdicts);
}

async function fetchNewestRelease(fetcher: Fetcher, ref: SuiteRef): Promise<SignedRelease> {
  const get = (file: string): Promise<Uint8Array> => {
    const label = suiteUrl(ref.url, ref.suite, file);
    return fetcher.fetchUnpinned({ urls: ref.bases.map((b) => suiteUrl(b, ref.suite, file)), refKey: label, label });
  };
  try {
    return { path: "InRelease", bytes: await get("InRelease") };
  } catch (e) {
    // Only a missing InRelease falls back; a bad one fails verification and never reaches here.
    if (!(e instanceof NetworkError && e.status === 404)) throw e;
  }
  // No InRelease (older or third-party archives): Release with a detached Release.gpg.
  let bytes: Uint8Array;
  try {
    bytes = await get("Release");
  } catch (e) {
    // Neither file: the suite is not there at all (a typo, or a mirror of other suites).
    if (e instanceof NetworkError && e.status === 404) throw await suiteNotFound(ref, e);
    throw e;
  }
  return { path: "Release", bytes, signature: await get(DETACHED_SIGNATURE) };
}

/**
 * `audit`: the release a lock recorded, fetched by its recorded sha256 and size (so a mirror
 * that has moved on still serves it from the cache or not at all), then verified exactly as
 * `lock` verifies the newest one, at audit time.
 */
export async function fetchRecordedSuite(fetcher: Fetcher, ref: SuiteRef, recorded: LockedSuite["release"], now: Date): Promise<VerifiedSuite> {
  const get = async (file: { path: string; sha256: string; size: number }): Promise<Uint8Array> => {
    const urls = ref.bases.map((b) => suiteUrl(b, ref.suite, file.path));
    return readFile(await fetcher.fetchPinned({ urls, sha256: file.sha256, size: file.size, label: suiteUrl(ref.url, ref.suite, file.path) }));
  };
  if (recorded.path === "InRelease" && recorded.signature === undefined) return verifyRelease(ref, { path: "InRelease", bytes: await get(recorded) }, now);
  if (recorded.path === "Release" && recorded.signature?.path === DETACHED_SIGNATURE) {
    return verifyRelease(ref, { path: "Release", bytes: await get(recorded), signature: await get(recorded.signature) }, now);
  }
  const what = `${recorded.path}${recorded.signature ? ` signed by ${recorded.signature.path}` : ""}`;
  throw new VerificationError(`${suiteUrl(ref.url, ref.suite, recorded.path)}: the lock records the release as ${what}, which is neither InRelease nor Release with ${DETACHED_SIGNATURE}`, {
    hint: "the lock was edited or damaged: re-lock with scratch-pkgs lock",
  });
}
