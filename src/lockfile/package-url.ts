/**
 * Where a locked .deb lives under its source: the one rule by which a package URL in a lock
 * becomes a path below a base URL (the source's or a mirror's). A lock is input like any other,
 * so its URL must be a plain relative path under the source's URL: no `..` (spelled out or
 * percent-encoded), no query, fragment or backslash, nothing a URL parser would resolve
 * elsewhere (with a file: mirror, `..` would open a file outside the mirror).
 */

/** A path segment as pool file names are written; `%` for the encoded epoch colon (`%3a`). */
const SEGMENT = /^[A-Za-z0-9+_.~:%-]+$/;

/** The package's path below `sourceUrl` (no leading slash), or why it is not one. */
export function packagePath(sourceUrl: string, url: string): { path: string } | { problem: string } {
  const prefix = sourceUrl + "/";
  if (!url.startsWith(prefix)) return { problem: `${JSON.stringify(url)} is not under the source's URL ${sourceUrl}` };
  const rel = url.slice(prefix.length);
  for (const segment of rel.split("/")) {
    const problem = segmentProblem(segment);
    if (problem) return { problem: `${JSON.stringify(url)} ${problem}` };
  }
  return { path: rel };
}

function segmentProblem(segment: string): string | undefined {
  if (segment === "") return "has an empty path segment";
  if (!SEGMENT.test(segment)) return `has a path segment ${JSON.stringify(segment)} with characters a pool file name does not use (such as ? # \\ or spaces)`;
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return `has a malformed percent-encoding in ${JSON.stringify(segment)}`;
  }
  // Decoded, as a server or a file: mirror would see it.
  if (decoded === "." || decoded === ".." || !SEGMENT.test(decoded) || decoded.includes("%")) return `has a path segment ${JSON.stringify(segment)} that leaves or hides its place (\`.\`, \`..\`, or an encoded /, \\ or %)`;
  return undefined;
}
