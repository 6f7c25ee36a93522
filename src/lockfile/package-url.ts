/**
 * Where a locked .deb lives under its source: the one rule by which a package URL in a lock
 * becomes a path below a base URL (the source's or a mirror's). A lock is input like any other,
 * so the URL must be the source's URL, "/", and a plain pool path (with a file: mirror, `..`
 * would open a file outside the mirror).
 */
import { poolPathProblem } from "../debian/pool-path.js";

/** The package's path below `sourceUrl` (no leading slash), or why it is not one. */
export function packagePath(sourceUrl: string, url: string): { path: string } | { problem: string } {
  const prefix = sourceUrl + "/";
  if (!url.startsWith(prefix)) return { problem: `${JSON.stringify(url)} is not under the source's URL ${sourceUrl}` };
  const rel = url.slice(prefix.length);
  const problem = poolPathProblem(rel);
  return problem ? { problem: `${JSON.stringify(url)}: the path below the source's URL ${problem}` } : { path: rel };
}
