/**
 * Where a suite's files live in a Debian archive: every URL, path and label below `dists/` is
 * built here, so fetching, recording and messages cannot disagree about the layout.
 */

/** `dists/<suite>/<file>`, relative to the archive's base; `file` as the Release lists it. */
export function suitePath(suite: string, file: string): string {
  return `dists/${suite}/${file}`;
}

/** `<base>/dists/<suite>/<file>`. */
export function suiteUrl(base: string, suite: string, file: string): string {
  return `${base}/${suitePath(suite, file)}`;
}

/**
 * The by-hash copy of a file the Release lists (offered where it says `Acquire-By-Hash: yes`):
 * `<base>/dists/<suite>/<file's directory>/by-hash/SHA256/<sha256>`, e.g.
 * `…/dists/bookworm/main/binary-amd64/by-hash/SHA256/<sha256>` for main/binary-amd64/Packages.xz.
 * Unlike the plain path it keeps serving these bytes after the archive has moved on.
 */
export function byHashUrl(base: string, suite: string, file: string, sha256: string): string {
  const slash = file.lastIndexOf("/");
  return suiteUrl(base, suite, `${file.slice(0, slash + 1)}by-hash/SHA256/${sha256}`);
}
