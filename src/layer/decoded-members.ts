/**
 * Where a build finds the decoded (decompressed) control.tar and data.tar of a verified .deb,
 * so that xz is decoded once per package, and the check that ties them to the lock.
 * - A package the lock records `decoded` digests for (`layer`, `image`): the member is looked up
 *   in the content-addressed cache by that digest, which the cache re-hashes, so what is found
 *   is what the lock describes; no ref is involved. Decoded from the .deb instead, it must hash
 *   to the recorded digest (checkDecoded).
 * - A package the lock does not describe yet (`lock` itself): behind a derived ref keyed by
 *   the .deb's sha256 and authenticated by the user's MAC (derived-refs.ts).
 * - Otherwise (a 1.0.0 lock, an audit): no store, the .deb is decoded every time.
 */
import { unlink } from "node:fs/promises";
import type { ContentCache } from "../fetch/cache.js";
import type { DerivedRefs } from "../fetch/derived-refs.js";
import type { PlainTarStore } from "../deb/read-deb.js";
import { VerificationError } from "../model/errors.js";
import type { DecodedMemberName, DecodedMembers, LockedPackage } from "../model/lock.js";

export interface DecodedMemberPlaces {
  /** The content-addressed cache, for members the lock records. */
  cache?: ContentCache;
  /** The authenticated refs, for members of packages the lock does not record yet. */
  derived?: DerivedRefs;
}

export function decodedMemberStore(pkg: Pick<LockedPackage, "decoded" | "sha256">, places: DecodedMemberPlaces): PlainTarStore | undefined {
  const recorded = pkg.decoded;
  if (recorded) return places.cache ? byRecordedDigest(places.cache, recorded) : undefined;
  return places.derived ? byAuthenticatedRef(places.derived, pkg.sha256) : undefined;
}

function byRecordedDigest(cache: ContentCache, recorded: DecodedMembers): PlainTarStore {
  return {
    async load(member) {
      const want = recorded[member];
      const hit = await cache.openVerified(want.sha256, want.size);
      return hit && { ...hit, sha256: want.sha256 };
    },
    tempPath: () => cache.tempPath(),
    async keep(member, tmp, digest) {
      // Only what the lock describes is worth keeping: nothing else would ever be looked up.
      if (digest.sha256 === recorded[member].sha256) await cache.put(tmp, digest.sha256).catch(() => {});
      else await unlink(tmp).catch(() => {});
    },
  };
}

function byAuthenticatedRef(refs: DerivedRefs, debSha256: string): PlainTarStore {
  const name = (member: DecodedMemberName) => `deb-${member}:${debSha256}`;
  return {
    load: (member) => refs.open(name(member)),
    tempPath: () => refs.cache.tempPath(),
    keep: (member, tmp, digest) => refs.setFile(name(member), tmp, digest.sha256),
  };
}

/** A decoded member that is not what the lock records is a verification failure: the lock is wrong or was edited. */
export function checkDecoded(pkg: LockedPackage, got: DecodedMembers, arch: string): void {
  if (!pkg.decoded) return;
  for (const member of ["control.tar", "data.tar"] as const) {
    const want = pkg.decoded[member];
    const have = got[member];
    if (have.sha256 === want.sha256 && have.size === want.size) continue;
    throw new VerificationError(
      `${arch}: ${pkg.name} ${pkg.version}: the decoded ${member} of ${pkg.url} has sha256 ${have.sha256} (${have.size} bytes), the lock records ${want.sha256} (${want.size} bytes)`,
      { hint: "the .deb matches its locked sha256, so the lock's decoded digest is wrong or was edited: run scratch-pkgs audit, and scratch-pkgs lock to rewrite it" },
    );
  }
}
