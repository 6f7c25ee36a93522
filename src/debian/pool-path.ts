/**
 * A .deb's path below its archive's base URL (a Packages `Filename`, the tail of a locked
 * package URL): plain segments as pool file names are written, so that no server, file: mirror
 * or URL parser resolves it elsewhere. `%` is allowed for the encoded epoch colon (`%3a`); once
 * decoded, a segment must still be plain (no `..` spelled `%2e%2e`, no encoded `/`, `\` or `%`).
 */
// Letters and digits of any script: an index may name a file in UTF-8 (a URL parser encodes them).
const SEGMENT = /^[\p{L}\p{N}+_.~:%-]+$/u;

/** Why `path` is not a relative pool path, or undefined when it is one. */
export function poolPathProblem(path: string): string | undefined {
  for (const segment of path.split("/")) {
    const problem = segmentProblem(segment);
    if (problem) return problem;
  }
  return undefined;
}

function segmentProblem(segment: string): string | undefined {
  if (segment === "") return "must be a relative path without empty segments";
  if (!SEGMENT.test(segment)) return `must be a relative path without ".." segments, and ${JSON.stringify(segment)} has characters a pool file name does not use (such as ? # \\ or spaces)`;
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return `must be a relative path, and ${JSON.stringify(segment)} has a malformed percent-encoding`;
  }
  // Decoded, as a server or a file: mirror would see it.
  if (decoded === "." || decoded === ".." || !SEGMENT.test(decoded) || decoded.includes("%")) return `must be a relative path without ".." segments, and its path segment ${JSON.stringify(segment)} leaves or hides its place (\`.\`, \`..\`, or an encoded /, \\ or %)`;
  return undefined;
}
