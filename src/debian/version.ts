/**
 * Debian version strings, parsed and compared exactly as dpkg does (lib/dpkg/parsehelp.c and
 * lib/dpkg/version.c): `[epoch:]upstream[-revision]`, compared epoch first (numerically), then
 * upstream, then revision, with dpkg's character ordering in which `~` sorts before everything,
 * even the end of the string.
 *
 * Stricter than dpkg in two places, both deliberate: what dpkg only warns about (an upstream
 * part not starting with a digit, characters outside the allowed set) is an error here, and the
 * epoch must be plain digits (dpkg's strtol would also take a sign).
 */

export interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

const MAX_EPOCH = 2147483647; // dpkg stores the epoch in an int

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/** The reason `v` is not a valid version, or undefined when it is valid. */
function check(v: string): { error: string } | DebVersion {
  // dpkg trims surrounding blanks but rejects blanks inside.
  let start = 0;
  let end = v.length;
  while (start < end && isBlank(v.charCodeAt(start))) start++;
  while (end > start && isBlank(v.charCodeAt(end - 1))) end--;
  const s = v.slice(start, end);
  if (s === "") return { error: "version string is empty" };
  if (/\s/.test(s)) return { error: "version string has embedded spaces" };

  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(":");
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (e === "") return { error: "epoch in version is empty" };
    if (!/^[0-9]+$/.test(e)) return { error: "epoch in version is not a number" };
    const n = Number(e);
    if (n > MAX_EPOCH) return { error: "epoch in version is too big" };
    epoch = n;
    rest = s.slice(colon + 1);
    if (rest === "") return { error: "nothing after colon in version number" };
  }

  let upstream = rest;
  let revision = "";
  const hyphen = rest.lastIndexOf("-");
  if (hyphen >= 0) {
    upstream = rest.slice(0, hyphen);
    revision = rest.slice(hyphen + 1);
    if (revision === "") return { error: "revision number is empty" };
  }
  if (upstream === "") return { error: "version number is empty" };
  if (!isDigit(upstream.charCodeAt(0))) return { error: "version number does not start with digit" };
  for (let i = 0; i < upstream.length; i++) {
    const c = upstream.charCodeAt(i);
    if (!isDigit(c) && !isAlpha(c) && ".-+~:".indexOf(upstream[i]!) < 0) {
      return { error: `invalid character ${JSON.stringify(upstream[i])} in version number` };
    }
  }
  for (let i = 0; i < revision.length; i++) {
    const c = revision.charCodeAt(i);
    if (!isDigit(c) && !isAlpha(c) && ".+~".indexOf(revision[i]!) < 0) {
      return { error: `invalid character ${JSON.stringify(revision[i])} in revision number` };
    }
  }
  return { epoch, upstream, revision };
}

/** Parse a version; throws an Error naming the version and the problem when it is invalid. */
export function parseVersion(v: string): DebVersion {
  const r = check(v);
  if ("error" in r) throw new Error(`invalid Debian version ${JSON.stringify(v)}: ${r.error}`);
  return r;
}

export function isValidVersion(v: string): boolean {
  return !("error" in check(v));
}

/** dpkg's per-character weight in the non-digit parts: ~ < end < letters < other symbols. */
function order(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126) return -1; // '~'
  return c + 256;
}

/** dpkg's verrevcmp: alternating non-digit and digit runs. */
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a, i);
      const bc = order(b, j);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (i < a.length && a.charCodeAt(i) === 48) i++;
    while (j < b.length && b.charCodeAt(j) === 48) j++;
    while (i < a.length && j < b.length && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Compare two parsed versions: <0, 0 or >0. */
function compareParsed(a: DebVersion, b: DebVersion): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const u = compareFragment(a.upstream, b.upstream);
  if (u !== 0) return u;
  return compareFragment(a.revision, b.revision);
}

/** Compare two version strings like `dpkg --compare-versions`: <0, 0 or >0. Throws on invalid input. */
export function compareVersions(a: string, b: string): number {
  return compareParsed(parseVersion(a), parseVersion(b));
}
