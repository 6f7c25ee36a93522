/**
 * A streaming parser for Debian `Packages` indexes. Built for the full main index (~63k stanzas,
 * ~50 MB): it scans lines as they arrive, keeps only the fields a PackageRecord needs and builds
 * no per-stanza paragraph object. Field semantics follow deb822.ts (case-insensitive names,
 * continuation lines joined by "\n" with their leading blank removed).
 */

import { VerificationError } from "../model/errors.js";
import { poolPathProblem } from "./pool-path.js";
import type { PackageOrigin, PackageRecord } from "../model/package.js";
import { isValidVersion } from "./version.js";
import { isPackageName, PACKAGE_NAME_BODY } from "./package-name.js";
import { DEB822_LIMITS, mebibytes } from "./deb822.js";

/** The fields we keep, by lower-case name, mapped to their slot. */
const enum F {
  Package,
  Version,
  Architecture,
  MultiArch,
  Essential,
  Important,
  Protected,
  Priority,
  Depends,
  PreDepends,
  Provides,
  Conflicts,
  Breaks,
  Source,
  Filename,
  Size,
  SHA256,
  Count,
}

const CANONICAL: Record<string, F> = {
  Package: F.Package,
  Version: F.Version,
  Architecture: F.Architecture,
  "Multi-Arch": F.MultiArch,
  Essential: F.Essential,
  Important: F.Important,
  Protected: F.Protected,
  Priority: F.Priority,
  Depends: F.Depends,
  "Pre-Depends": F.PreDepends,
  Provides: F.Provides,
  Conflicts: F.Conflicts,
  Breaks: F.Breaks,
  Source: F.Source,
  Filename: F.Filename,
  Size: F.Size,
  SHA256: F.SHA256,
};
const FIELD_NAMES: string[] = [];
for (const [name, slot] of Object.entries(CANONICAL)) FIELD_NAMES[slot] = name;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const SIZE = /^[0-9]+$/;
/** "Source: glibc" or "Source: glibc (2.36-9)". */
const SOURCE = new RegExp(`^(${PACKAGE_NAME_BODY})(?:\\s*\\(\\s*([^()\\s]+)\\s*\\))?$`);
const MULTI_ARCH = new Set(["no", "same", "foreign", "allowed"]);

/** Kept fields grouped by name length, lower-cased, for allocation-free matching. */
const BY_LENGTH: Array<Array<[string, F]>> = [];
for (const [name, slot] of Object.entries(CANONICAL)) {
  (BY_LENGTH[name.length] ??= []).push([name.toLowerCase(), slot]);
}

/** The kept field whose name is text[start, end), compared ASCII-case-insensitively. */
function lookup(text: string, start: number, end: number): F | undefined {
  const candidates = BY_LENGTH[end - start];
  if (candidates === undefined) return undefined;
  outer: for (const [lower, slot] of candidates) {
    for (let i = 0; i < lower.length; i++) {
      let c = text.charCodeAt(start + i);
      if (c >= 65 && c <= 90) c += 32;
      if (c !== lower.charCodeAt(i)) continue outer;
    }
    return slot;
  }
  return undefined;
}

class StanzaBuilder {
  values: Array<string | undefined> = new Array<string | undefined>(F.Count).fill(undefined);
  /** The slot that continuation lines extend; -1 for a field we do not keep. */
  current = -1;
  /** The name of the field continuation lines extend, kept or not, for errors. */
  currentName = "";
  /** Bytes of that field and of the stanza so far, held to DEB822_LIMITS. */
  fieldBytes = 0;
  stanzaBytes = 0;
  /** 1-based line where the stanza starts; 0 when no stanza is open. */
  line = 0;
  reset(): void {
    this.values.fill(undefined);
    this.current = -1;
    this.currentName = "";
    this.fieldBytes = 0;
    this.stanzaBytes = 0;
    this.line = 0;
  }
}

/** An error about a whole stanza (`line` is where it starts) or, with `atLine`, about one line of it. */
function malformed(label: string, line: number, pkg: string | undefined, detail: string, atLine = false): VerificationError {
  const name = pkg !== undefined ? `package ${JSON.stringify(pkg)}` : undefined;
  const where = atLine ? `line ${line}${name ? ` (${name})` : ""}` : name ? `${name} (stanza at line ${line})` : `stanza at line ${line}`;
  return new VerificationError(`${label}: ${where}: ${detail}`, {
    hint: "the Packages index is malformed; check that the source URL points at a Debian archive and that the mirror is not damaged",
  });
}

function finish(b: StanzaBuilder, origin: PackageOrigin, label: string, intern: (s: string) => string): PackageRecord {
  const v = b.values;
  const name = v[F.Package];
  const bad = (detail: string): VerificationError => malformed(label, b.line, name, detail);
  if (name === undefined || name === "") throw bad("missing Package field");
  if (!isPackageName(name)) throw bad(`invalid Package name ${JSON.stringify(name)}`);
  for (const slot of [F.Version, F.Architecture, F.Filename, F.Size, F.SHA256]) {
    if (v[slot] === undefined || v[slot] === "") throw bad(`missing ${FIELD_NAMES[slot]} field`);
  }
  const version = v[F.Version]!;
  if (!isValidVersion(version)) throw bad(`invalid Version ${JSON.stringify(version)}`);
  const architecture = v[F.Architecture]!;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(architecture)) throw bad(`invalid Architecture ${JSON.stringify(architecture)}`);
  const sizeText = v[F.Size]!;
  const size = Number(sizeText);
  if (!SIZE.test(sizeText) || !Number.isSafeInteger(size)) throw bad(`Size ${JSON.stringify(sizeText)} is not a non-negative integer`);
  const sha256 = v[F.SHA256]!;
  if (!SHA256_HEX.test(sha256)) throw bad(`SHA256 ${JSON.stringify(sha256)} is not 64 lowercase hex digits`);
  const filename = utf8(v[F.Filename]!);
  // The rule a locked package URL is read by, so that `lock` never writes a lock it would refuse.
  const filenameProblem = poolPathProblem(filename);
  if (filenameProblem) throw bad(`Filename ${JSON.stringify(filename)} ${filenameProblem}`);
  const multiArch = v[F.MultiArch] ?? "no";
  if (!MULTI_ARCH.has(multiArch)) throw bad(`invalid Multi-Arch ${JSON.stringify(multiArch)} (expected no, same, foreign or allowed)`);
  const flag = (slot: F): boolean => {
    const text = v[slot] ?? "no";
    if (text !== "yes" && text !== "no") throw bad(`invalid ${FIELD_NAMES[slot]} ${JSON.stringify(text)} (expected yes or no)`);
    return text === "yes";
  };
  const essential = flag(F.Essential);
  // apt treats "Protected: yes" (its newer name) like "Important: yes" when ranking providers.
  const important = flag(F.Important) || flag(F.Protected);
  // Any word is accepted, as apt does (an unknown one ranks as "extra").
  const priority = v[F.Priority] ?? "";
  const sourceText = v[F.Source];
  let sourcePackage = name;
  if (sourceText !== undefined && sourceText !== "") {
    // "Source: glibc (2.36-9)" names the source version only when it differs from Version.
    const m = SOURCE.exec(sourceText);
    if (!m) throw bad(`invalid Source ${JSON.stringify(sourceText)}`);
    sourcePackage = m[1]!;
  }
  return {
    name: own(name),
    version: intern(version),
    architecture: intern(architecture),
    multiArch: intern(multiArch) as PackageRecord["multiArch"],
    essential,
    important,
    priority: intern(priority),
    depends: intern(utf8(v[F.Depends] ?? "")),
    preDepends: intern(utf8(v[F.PreDepends] ?? "")),
    provides: own(utf8(v[F.Provides] ?? "")),
    conflicts: intern(utf8(v[F.Conflicts] ?? "")),
    breaks: intern(utf8(v[F.Breaks] ?? "")),
    sourcePackage: intern(sourcePackage),
    filename: own(filename),
    size,
    sha256: own(sha256),
    origin,
  };
}

/**
 * A copy of `s` that does not share storage with the chunk it was sliced from. V8 keeps a
 * sliced string's whole parent alive, so without this every record would pin its 64 KiB chunk
 * and the whole decompressed index would stay in memory.
 */
function own(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, "utf8").toString("utf8");
}

/**
 * One shared copy of each distinct value, for the fields that repeat across an index (versions
 * and source names shared by a source's binaries, identical Depends, a handful of priorities
 * and architectures): about a fifth of a parsed index's strings. The table lives for one parse.
 */
function interner(): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    let kept = seen.get(s);
    if (kept === undefined) {
      kept = own(s);
      seen.set(kept, kept);
    }
    return kept;
  };
}

/**
 * Stream PackageRecords out of a (decompressed) Packages index. `label` (the index URL or path)
 * is named in every error, with the package, field and line.
 */
export async function* parsePackages(
  input: AsyncIterable<Uint8Array>,
  origin: PackageOrigin,
  label: string,
): AsyncGenerator<PackageRecord> {
  const b = new StanzaBuilder();
  const intern = interner();
  // The start of a line whose end has not arrived yet, in pieces: joining them only once the
  // line ends keeps a long line linear (re-scanning a growing string was quadratic).
  let pending: string[] = [];
  let pendingBytes = 0;
  let lineNo = 0;
  const out: PackageRecord[] = [];

  const fieldTooLong = (at: number, name: string): VerificationError =>
    malformed(label, at, b.values[F.Package], `field ${JSON.stringify(name)} is longer than ${mebibytes(DEB822_LIMITS.fieldBytes)} (the limit per field)`, true);

  // Handles the complete lines of `text` (everything up to its last "\n") and returns the rest.
  const scan = (text: string): string => {
    let pos = 0;
    const n = text.length;
    for (;;) {
      const eol = text.indexOf("\n", pos);
      if (eol < 0) break;
      lineNo++;
      line(text, pos, eol);
      pos = eol + 1;
    }
    return pos === 0 ? text : text.slice(pos, n);
  };

  const line = (text: string, start: number, end: number): void => {
    if (end > start && text.charCodeAt(end - 1) === 13) end--; // tolerate CRLF, as deb822.ts does
    const c = text.charCodeAt(start);
    if (start === end || isBlankLine(text, start, end)) {
      if (b.line !== 0) {
        out.push(finish(b, origin, label, intern));
        b.reset();
      }
      return;
    }
    b.stanzaBytes += end - start + 1;
    if (b.stanzaBytes > DEB822_LIMITS.paragraphBytes) {
      const where = b.line !== 0 ? b.line : lineNo;
      throw malformed(label, where, b.values[F.Package], `stanza is longer than ${mebibytes(DEB822_LIMITS.paragraphBytes)} (the limit per stanza)`);
    }
    if (c === 32 || c === 9) {
      if (b.line === 0) throw malformed(label, lineNo, undefined, "continuation line without a field", true);
      b.fieldBytes += end - start;
      if (b.fieldBytes > DEB822_LIMITS.fieldBytes) throw fieldTooLong(lineNo, b.currentName);
      if (b.current >= 0) {
        const rest = text.slice(start + 1, end);
        const prev = b.values[b.current]!;
        b.values[b.current] = prev === "" ? rest : prev + "\n" + (rest === "." ? "" : rest);
      }
      return;
    }
    const colon = text.indexOf(":", start);
    if (colon < 0 || colon >= end || colon === start) {
      const got = JSON.stringify(text.slice(start, Math.min(end, start + 60)));
      throw malformed(label, lineNo, b.values[F.Package], `expected "Field: value", got ${got}`, true);
    }
    if (b.line === 0) b.line = lineNo;
    b.fieldBytes = end - colon - 1;
    const slot = lookup(text, start, colon);
    b.currentName = slot === undefined ? text.slice(start, Math.min(colon, start + 60)) : FIELD_NAMES[slot]!;
    if (b.fieldBytes > DEB822_LIMITS.fieldBytes) throw fieldTooLong(lineNo, b.currentName);
    if (slot === undefined) {
      b.current = -1;
      return;
    }
    if (b.values[slot] !== undefined) {
      throw malformed(label, lineNo, b.values[F.Package], `duplicate ${FIELD_NAMES[slot]} field`, true);
    }
    b.values[slot] = trimBlanks(text.slice(colon + 1, end));
    b.current = slot;
  };

  /** Refuses a line that grows past the field limit before its end arrives. */
  const holdPending = (piece: string): void => {
    pending.push(piece);
    pendingBytes += piece.length;
    if (pendingBytes <= DEB822_LIMITS.fieldBytes) return;
    const head = pending[0]!;
    const c = head.charCodeAt(0);
    const colon = head.indexOf(":");
    const name = c === 32 || c === 9 ? b.currentName : colon > 0 ? head.slice(0, Math.min(colon, 60)) : undefined;
    if (name !== undefined) throw fieldTooLong(lineNo + 1, name);
    throw malformed(label, lineNo + 1, b.values[F.Package], `line is longer than ${mebibytes(DEB822_LIMITS.fieldBytes)} (the limit per field)`, true);
  };

  for await (const chunk of input) {
    const text = latin1(chunk);
    if (text.indexOf("\n") < 0) {
      holdPending(text);
      continue;
    }
    const whole = pending.length === 0 ? text : pending.join("") + text;
    pending = [];
    pendingBytes = 0;
    const rest = scan(whole);
    if (rest !== "") holdPending(rest);
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
  }
  const carry = scan(pending.join("") + "\n");
  if (carry !== "") throw new Error("unreachable: text left after the final newline");
  // The last stanza need not end with a blank line.
  if (b.line !== 0) {
    out.push(finish(b, origin, label, intern));
    b.reset();
  }
  yield* out;
}

/**
 * Text is scanned as latin1 (one char per byte): it is much faster than UTF-8 decoding, keeps
 * V8's compact one-byte strings, and cannot split a character at a chunk boundary. Kept values
 * that hold non-ASCII bytes are decoded as UTF-8 afterwards (see utf8()).
 */
function latin1(chunk: Uint8Array): string {
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
}

function utf8(value: string): string {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(value) ? Buffer.from(value, "latin1").toString("utf8") : value;
}

/** Trims spaces and tabs only: String.trim() would also eat 0xA0, a UTF-8 continuation byte here. */
function trimBlanks(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function isBlankLine(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** parsePackages, collected. */
export async function readPackages(
  input: AsyncIterable<Uint8Array>,
  origin: PackageOrigin,
  label: string,
): Promise<PackageRecord[]> {
  const all: PackageRecord[] = [];
  for await (const r of parsePackages(input, origin, label)) all.push(r);
  return all;
}
