/**
 * Release / InRelease content (after the signature is verified): the archive's dates, what it
 * carries, and the SHA256 and size of every index file below dists/<suite>/. Pure: text in,
 * data out. Every malformed field is a VerificationError, because this text is what the signature
 * vouches for and what every later hash check trusts.
 */
import { field, parseDeb822 } from "../debian/deb822.js";
import { FormatError, VerificationError } from "../model/errors.js";

export interface ReleaseEntry {
  size: number;
  sha256: string;
}

export interface ReleaseInfo {
  date: Date;
  dateText: string;
  validUntil: Date | undefined;
  validUntilText: string | undefined;
  suite?: string;
  codename?: string;
  acquireByHash: boolean;
  architectures: string[];
  components: string[];
  /** "No-Support-for-Architecture-all: Packages": arch-all packages are only in the per-arch indexes' Packages, not in binary-all. */
  noArchAllPackages: boolean;
  /** Path below dists/<suite>/ → its SHA256 section entry. */
  files: Map<string, ReleaseEntry>;
}

const HINT_MALFORMED =
  "The Release file is malformed; check that the source URL points at a Debian archive, or fetch it again from another mirror.";

function fail(label: string, detail: string, hint = HINT_MALFORMED): never {
  throw new VerificationError(`${label}: ${detail}`, { hint });
}

export function parseRelease(text: string, label: string): ReleaseInfo {
  let paragraphs;
  try {
    paragraphs = parseDeb822(text);
  } catch (e) {
    if (e instanceof FormatError) throw e.asVerificationError(label, HINT_MALFORMED);
    throw e;
  }
  if (paragraphs.length !== 1) fail(label, `expected one Release paragraph, found ${paragraphs.length}`);
  const p = paragraphs[0]!;

  const dateText = field(p, "Date");
  if (dateText === undefined) fail(label, 'field "Date" is missing');
  const date = parseReleaseDate(dateText, label, "Date");
  const validUntilText = field(p, "Valid-Until");
  const validUntil = validUntilText === undefined ? undefined : parseReleaseDate(validUntilText, label, "Valid-Until");

  const sha256 = field(p, "SHA256");
  if (sha256 === undefined) {
    fail(label, 'field "SHA256" is missing (MD5Sum/SHA1 alone are not trusted)');
  }

  const info: ReleaseInfo = {
    date,
    dateText,
    validUntil,
    validUntilText,
    acquireByHash: yesNo(field(p, "Acquire-By-Hash"), label, "Acquire-By-Hash"),
    architectures: words(field(p, "Architectures")),
    components: words(field(p, "Components")),
    noArchAllPackages: words(field(p, "No-Support-for-Architecture-all")).includes("Packages"),
    files: parseSha256Section(sha256, label),
  };
  const suite = field(p, "Suite");
  if (suite !== undefined) info.suite = suite;
  const codename = field(p, "Codename");
  if (codename !== undefined) info.codename = codename;
  return info;
}

function words(v: string | undefined): string[] {
  return v === undefined ? [] : v.split(/\s+/).filter((w) => w !== "");
}

function yesNo(v: string | undefined, label: string, name: string): boolean {
  if (v === undefined) return false;
  const lower = v.toLowerCase();
  if (lower === "yes") return true;
  if (lower === "no") return false;
  fail(label, `field "${name}" must be "yes" or "no", got ${JSON.stringify(v)}`);
}

function parseSha256Section(value: string, label: string): Map<string, ReleaseEntry> {
  const files = new Map<string, ReleaseEntry>();
  for (const raw of value.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const m = /^([0-9a-fA-F]{64})\s+(\d+)\s+(\S+)$/.exec(line);
    if (!m) fail(label, `field "SHA256": malformed line ${JSON.stringify(line.slice(0, 120))} (expected "<sha256> <size> <path>")`);
    const [, hash, sizeText, path] = m as unknown as [string, string, string, string];
    const size = Number(sizeText);
    if (!Number.isSafeInteger(size)) fail(label, `field "SHA256": size ${sizeText} of ${path} is too large`);
    if (!isSafeRelativePath(path)) fail(label, `field "SHA256": unsafe path ${JSON.stringify(path)} (must stay below dists/<suite>/)`);
    const entry = { size, sha256: hash.toLowerCase() };
    const prev = files.get(path);
    if (prev && (prev.size !== entry.size || prev.sha256 !== entry.sha256)) {
      fail(label, `field "SHA256": ${path} is listed twice with different hashes`);
    }
    files.set(path, entry);
  }
  if (files.size === 0) fail(label, 'field "SHA256" lists no files');
  return files;
}

/** Paths are joined to dists/<suite>/ to build URLs and cache names: no escaping it. */
function isSafeRelativePath(path: string): boolean {
  if (path.startsWith("/") || path.includes("\\")) return false;
  return path.split("/").every((seg) => seg !== "" && seg !== "." && seg !== "..");
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/**
 * RFC 2822 date as Release files write it: "Sat, 21 Nov 2026 02:10:46 UTC". Parsed by hand, not
 * with Date.parse, whose accepted forms vary by engine and which reads zone-less text as local
 * time. Zones: UTC, GMT, Z or a numeric ±hhmm offset. The weekday, when present, must match.
 */
export function parseReleaseDate(text: string, label: string, name: string): Date {
  const bad = (why: string): never =>
    fail(label, `field "${name}": ${why} in ${JSON.stringify(text)} (expected e.g. "Sat, 21 Nov 2026 02:10:46 UTC")`);
  const m =
    /^(?:([A-Za-z]{3}),\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s+(UTC|GMT|Z|[+-]\d{4})$/.exec(
      text.trim(),
    );
  if (!m) return bad("not an RFC 2822 date");
  const [, wd, dd, mon, yyyy, hh, mi, ss, zone] = m;
  const month = MONTHS.findIndex((x) => x.toLowerCase() === mon!.toLowerCase());
  if (month < 0) return bad(`unknown month "${mon}"`);
  const year = Number(yyyy);
  const day = Number(dd);
  const hour = Number(hh);
  const minute = Number(mi);
  const second = ss === undefined ? 0 : Number(ss);
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return bad(`day ${day} out of range`);
  if (hour > 23 || minute > 59 || second > 59) return bad("time out of range");
  let offsetMinutes = 0;
  if (zone!.startsWith("+") || zone!.startsWith("-")) {
    const oh = Number(zone!.slice(1, 3));
    const om = Number(zone!.slice(3, 5));
    if (oh > 23 || om > 59) return bad("zone offset out of range");
    offsetMinutes = (zone!.startsWith("-") ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Date.UTC(year, month, day, hour, minute, second) - offsetMinutes * 60_000;
  // Date.UTC maps years 0-99 to 1900-1999; a four-digit year below 1970 is nonsense here anyway.
  if (year < 1970) return bad("year before 1970");
  const date = new Date(ms);
  if (wd !== undefined) {
    const wdIndex = WEEKDAYS.findIndex((x) => x.toLowerCase() === wd.toLowerCase());
    if (wdIndex < 0) return bad(`unknown weekday "${wd}"`);
    // The weekday names the local date as written, before the zone offset is applied.
    if (new Date(Date.UTC(year, month, day)).getUTCDay() !== wdIndex) return bad(`weekday "${wd}" does not match the date`);
  }
  return date;
}

/**
 * Enforce Valid-Until: a Release past it may be a replayed old one (freeze attack). Snapshot
 * archives are old by design, so their sources set allowExpired.
 */
export function checkValidUntil(info: ReleaseInfo, now: Date, allowExpired: boolean, label: string): void {
  if (info.validUntil === undefined || allowExpired) return;
  if (now.getTime() > info.validUntil.getTime()) {
    throw new VerificationError(
      `${label}: the Release file expired: Valid-Until is ${info.validUntilText} but it is now ${now.toISOString()}`,
      {
        hint:
          "A stale mirror or a replayed old Release can cause this: try another mirror. If the source is a snapshot " +
          "archive (old by design), set \"allowExpired\": true on that source in scratch.json.",
      },
    );
  }
}
