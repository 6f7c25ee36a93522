/**
 * One suite of one source: fetch its signed release (InRelease, or Release + Release.gpg where
 * the archive has no InRelease), verify it against the source's pinned keyring, and work out
 * which Packages index files to read and from where.
 */
import type { Fetcher } from "../fetch/fetcher.js";
import { NetworkError, ResolveError, VerificationError } from "../model/errors.js";
import type { Keyring } from "./keyring.js";
import { parseRelease, checkValidUntil, type ReleaseInfo } from "./release.js";
import { verifyClearsigned, verifyDetached } from "./signature.js";
import { sha256Hex } from "../util/hash.js";
import type { LockedIndex, LockedSuite } from "../model/lock.js";

export interface SuiteRef {
  source: string;
  /** The manifest's base URL: recorded in the lock and used as the cache key. */
  url: string;
  suite: string;
  /** Where to fetch from, in order (mirrors, or the manifest URL). */
  bases: string[];
  keyring: Keyring;
  allowExpired: boolean;
}

export interface VerifiedSuite {
  ref: SuiteRef;
  release: ReleaseInfo;
  locked: Omit<LockedSuite, "indexes">;
}

function suiteUrls(bases: string[], suite: string, file: string): string[] {
  return bases.map((b) => `${b}/dists/${suite}/${file}`);
}

/** Snapshots are signed by keys that may have expired since: judge those keys at signing time. */
function verifyOpts(ref: SuiteRef, label: string, now: Date) {
  return { label, at: now, keyValidity: ref.allowExpired ? ("signature-time" as const) : ("at" as const) };
}

export async function fetchVerifiedSuite(fetcher: Fetcher, ref: SuiteRef, now: Date): Promise<VerifiedSuite> {
  const label = `${ref.url}/dists/${ref.suite}/InRelease`;
  let text: string;
  let fingerprint: string;
  let releaseMeta: LockedSuite["release"];
  try {
    const bytes = await fetcher.fetchUnpinned({ urls: suiteUrls(ref.bases, ref.suite, "InRelease"), refKey: label, label });
    const v = await verifyClearsigned(bytes, ref.keyring, verifyOpts(ref, label, now));
    text = v.text;
    fingerprint = v.fingerprint;
    releaseMeta = { path: "InRelease", sha256: sha256Hex(bytes), size: bytes.length };
  } catch (e) {
    if (!(e instanceof NetworkError && e.status === 404)) throw e;
    // No InRelease (older or third-party archives): Release with a detached Release.gpg.
    const rlabel = `${ref.url}/dists/${ref.suite}/Release`;
    const release = await fetcher.fetchUnpinned({ urls: suiteUrls(ref.bases, ref.suite, "Release"), refKey: rlabel, label: rlabel });
    const sig = await fetcher.fetchUnpinned({ urls: suiteUrls(ref.bases, ref.suite, "Release.gpg"), refKey: rlabel + ".gpg", label: rlabel + ".gpg" });
    const v = await verifyDetached(release, sig, ref.keyring, verifyOpts(ref, rlabel, now));
    text = v.text;
    fingerprint = v.fingerprint;
    releaseMeta = {
      path: "Release",
      sha256: sha256Hex(release),
      size: release.length,
      signature: { path: "Release.gpg", sha256: sha256Hex(sig), size: sig.length },
    };
  }
  const release = parseRelease(text, label);
  checkValidUntil(release, now, ref.allowExpired, label);
  // Like apt: a release for another suite (a replayed or misrouted file) is not this suite's.
  if (release.suite !== ref.suite && release.codename !== ref.suite) {
    throw new VerificationError(
      `${label}: the signed release is for suite "${release.suite ?? "?"}" (codename "${release.codename ?? "?"}"), not "${ref.suite}"`,
      { hint: "check the source URL and the mirror: they serve a different suite at this path" },
    );
  }
  return {
    ref,
    release,
    locked: {
      suite: ref.suite,
      release: releaseMeta,
      date: release.dateText,
      validUntil: release.validUntilText ?? null,
      signedBy: fingerprint,
    },
  };
}

export interface IndexChoice {
  locked: LockedIndex;
  /** URLs to fetch from, in order: by-hash first where the release offers it. */
  urls: string[];
  label: string;
}

const FORMS = [".xz", ".gz", ""] as const;

/**
 * The Packages indexes to read for one architecture: binary-<arch> of each component in the
 * smallest form the release lists, and binary-all where the archive keeps `all` packages apart.
 */
export function chooseIndexes(vs: VerifiedSuite, components: string[], arch: string): IndexChoice[] {
  const { release, ref } = vs;
  const label = `${ref.url}/dists/${ref.suite}`;
  if (release.architectures.length > 0 && !release.architectures.includes(arch)) {
    // The manifest asks for what the archive does not carry: a request problem (exit 2), not a failed check.
    throw new ResolveError(`${label}/InRelease lists no architecture ${arch} (it has ${release.architectures.join(", ")})`, {
      hint: `remove ${arch} from "architectures" or use a suite that has it`,
    });
  }
  const out: IndexChoice[] = [];
  for (const component of components) {
    if (release.components.length > 0 && !release.components.some((c) => c === component || c.endsWith("/" + component))) {
      throw new ResolveError(`${label}/InRelease lists no component ${component} (it has ${release.components.join(", ")})`, {
        hint: `fix "components" of source ${ref.source}`,
      });
    }
    const dirs = [`binary-${arch}`];
    if (!release.noArchAllPackages && release.architectures.includes("all")) dirs.push("binary-all");
    for (const dir of dirs) {
      const base = `${component}/${dir}/Packages`;
      const form = FORMS.find((f) => release.files.has(base + f));
      if (form === undefined) {
        if (dir === "binary-all") continue;
        throw new VerificationError(`${label}/InRelease lists no ${base} index in any form`, {
          hint: "the suite may not carry this component/architecture",
        });
      }
      const path = base + form;
      const entry = release.files.get(path)!;
      const urls: string[] = [];
      for (const b of ref.bases) {
        if (release.acquireByHash) urls.push(`${b}/dists/${ref.suite}/${component}/${dir}/by-hash/SHA256/${entry.sha256}`);
        urls.push(`${b}/dists/${ref.suite}/${path}`);
      }
      out.push({
        locked: { component, architecture: dir === "binary-all" ? "all" : arch, path, sha256: entry.sha256, size: entry.size },
        urls,
        label: `${label}/${path}`,
      });
    }
  }
  return out;
}
