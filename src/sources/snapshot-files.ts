/**
 * The opt-in fallback for a lock whose .deb URLs have stopped serving (a live mirror drops a
 * superseded package's pool file within days): the same file found on snapshot.debian.org
 * through its machine-readable API — `/mr/binary/<name>/<version>/binfiles?fileinfo=1` lists
 * the package's files by sha1, `/file/<sha1>` serves one. The sha1 only finds a candidate; what
 * is accepted is what every download must be, the lock's sha256 and size (fetch/fetcher.ts).
 */
import { posix } from "node:path";
import type { Fetcher, GoneFallback } from "../fetch/fetcher.js";
import type { Lockfile, LockedPackage } from "../model/lock.js";
import { NetworkError } from "../model/errors.js";
import { snapshotLagHint } from "./snapshot-rule.js";

/** The snapshot service asked by default; SCRATCH_PKGS_SNAPSHOT_URL points elsewhere (a local stand-in). */
export const DEFAULT_SNAPSHOT_SERVICE = "https://snapshot.debian.org";

/** An API answer is a few hundred bytes per file; anything near this is not one. */
const MAX_ANSWER = 1 << 20;

type Wanted = Pick<LockedPackage, "name" | "version" | "architecture" | "url" | "size">;

/** The API URL listing the files of one binary package version. */
export function binfilesUrl(service: string, pkg: Pick<LockedPackage, "name" | "version">): string {
  return `${service.replace(/\/+$/, "")}/mr/binary/${encodeURIComponent(pkg.name)}/${encodeURIComponent(pkg.version)}/binfiles?fileinfo=1`;
}

/**
 * The `/file/<sha1>` URLs of the files in a binfiles answer that can be the locked .deb: its
 * architecture, and where the answer says, its file name and size. Throws on an answer of
 * another shape (a TypeError caught by the caller, which names the URL).
 */
export function candidateFileUrls(service: string, answer: unknown, pkg: Wanted): string[] {
  const doc = answer as { result?: unknown; fileinfo?: unknown };
  if (!Array.isArray(doc.result)) throw new TypeError('no "result" list');
  const info = (typeof doc.fileinfo === "object" && doc.fileinfo !== null ? doc.fileinfo : {}) as Record<string, unknown>;
  const name = posix.basename(pkg.url);
  const urls: string[] = [];
  for (const r of doc.result as Array<{ architecture?: unknown; hash?: unknown }>) {
    if (r.architecture !== pkg.architecture || typeof r.hash !== "string" || !/^[0-9a-f]{40}$/.test(r.hash)) continue;
    const seen = info[r.hash];
    const fits = !Array.isArray(seen) || seen.some((f: { name?: unknown; size?: unknown }) => f.name === name && (f.size === undefined || f.size === pkg.size));
    if (fits) urls.push(`${service.replace(/\/+$/, "")}/file/${r.hash}`);
  }
  return urls;
}

/** `fetcher` asking the fallback below for the lock's .debs that every URL answered as gone. */
export function withLockedDebFallback(lock: Lockfile, fetcher: Fetcher, service: string | undefined): Fetcher {
  return fetcher.withFallback(lockedDebFallback(lock, fetcher, service));
}

/**
 * The fetcher's fallback for the lock's .debs. With `service` (the user opted in): the
 * snapshot service's files for the package. Without: a hint saying how to opt in — or, for a
 * source that is a snapshot URL already, that the snapshot may not have imported it yet.
 */
export function lockedDebFallback(lock: Lockfile, fetcher: Fetcher, service: string | undefined): GoneFallback {
  const bySha = new Map<string, LockedPackage>();
  for (const a of Object.values(lock.architectures)) for (const p of a.packages) bySha.set(p.sha256.toLowerCase(), p);
  return async (req) => {
    const pkg = bySha.get(req.sha256.toLowerCase());
    if (!pkg) return undefined;
    const source = lock.sources.find((s) => s.name === pkg.source);
    // Only a snapshot URL itself answering "gone" says something about the snapshot.
    const fromSource = source !== undefined && req.urls.some((u) => u.startsWith(`${source.url}/`));
    const lag = fromSource ? snapshotLagHint(source.url, source.suites.find((s) => s.suite === pkg.suite)?.date) : undefined;
    if (service === undefined) {
      return {
        hint:
          lag ??
          `the archive no longer serves ${pkg.name} ${pkg.version} at this URL (a live mirror drops a superseded package's pool file): pass --snapshot-fallback to fetch the same file from snapshot.debian.org (checked against the lock's sha256), or give a --mirror that still has it`,
      };
    }
    const api = binfilesUrl(service, pkg);
    const label = `snapshot's file list of ${pkg.name} ${pkg.version}`;
    const bytes = await fetcher.fetchUnpinned({ urls: [api], refKey: api, label, maxBytes: MAX_ANSWER }).catch((e: unknown) => {
      if (e instanceof NetworkError && e.status === 404) throw notOnSnapshot(pkg, api, "it has no such package version", lag);
      throw e;
    });
    let urls: string[];
    try {
      urls = candidateFileUrls(service, JSON.parse(Buffer.from(bytes).toString("utf8")), pkg);
    } catch (e) {
      throw new NetworkError(`${api} is not a snapshot binfiles answer (${(e as Error).message})`, api, { hint: "check SCRATCH_PKGS_SNAPSHOT_URL (the snapshot service's base URL)", cause: e });
    }
    if (urls.length === 0) throw notOnSnapshot(pkg, api, `it lists no ${pkg.architecture} file named ${posix.basename(pkg.url)} of ${pkg.size} bytes`, lag);
    return { urls };
  };
}

function notOnSnapshot(pkg: LockedPackage, api: string, why: string, lag: string | undefined): NetworkError {
  return new NetworkError(`${pkg.url} is gone, and snapshot cannot serve it instead: ${api}: ${why}`, pkg.url, {
    status: 404,
    hint: lag ?? "give a --mirror that still has the file, or re-lock with scratch-pkgs lock --update",
  });
}
