/**
 * The line format of a Debian `Contents-<arch>` index: `PATH<blanks>LOCATION[,LOCATION…]`, the
 * path without its leading "/" (it may itself hold blanks, so the locations are the last
 * blank-separated field), each location `[COMPONENT/]SECTION/PACKAGE`. Files made before 2011
 * open with a free-text preamble that ends in a `FILE<blanks>LOCATION` header line. Pure: text
 * in, data out; errors are VerificationErrors, since the bytes matched a signed hash.
 */
import { VerificationError } from "../model/errors.js";
import { isPackageName } from "./package-name.js";
import { mebibytes } from "./deb822.js";

/** Caps on what a hostile (or broken) file can make us hold; real files are far below. */
export const CONTENTS_LIMITS = {
  /** Bytes of one line. bookworm main's longest (amd64 or all) is 329 bytes. */
  lineBytes: 1 << 20,
  /** Lines of the old free-text preamble before its `FILE LOCATION` header. */
  preambleLines: 200,
} as const;

/** Where one line splits: the path is text[start, pathEnd), the locations text[locStart, end). */
export interface ContentsSplit {
  pathEnd: number;
  locStart: number;
}

const isBlank = (c: number): boolean => c === 32 || c === 9;

/** The split of the line text[start, end), or undefined when it has no blank-separated location field. */
export function splitContentsLine(text: string, start: number, end: number): ContentsSplit | undefined {
  let locStart = end;
  while (locStart > start && !isBlank(text.charCodeAt(locStart - 1))) locStart--;
  let pathEnd = locStart;
  while (pathEnd > start && isBlank(text.charCodeAt(pathEnd - 1))) pathEnd--;
  if (pathEnd === start || locStart === end) return undefined;
  return { pathEnd, locStart };
}

/** A preamble line of an old file: its location field is no `SECTION/PACKAGE` (the `FILE LOCATION` header included). */
export function isPreambleLine(text: string, start: number, end: number): boolean {
  const s = splitContentsLine(text, start, end);
  if (s === undefined) return true;
  const slash = text.indexOf("/", s.locStart);
  return slash < 0 || slash >= end;
}

/** True for the header line that ends an old file's preamble. */
export function isHeaderLine(line: string): boolean {
  return /^FILE[ \t]+LOCATION[ \t]*$/.test(line);
}

/**
 * The package names a location field lists, sorted and unique. Every location must be
 * `[COMPONENT/]SECTION/PACKAGE` with a valid package name.
 */
export function parseLocations(field: string, label: string, lineNo: number): string[] {
  const names = new Set<string>();
  for (const loc of field.split(",")) {
    const parts = loc.split("/");
    const name = parts[parts.length - 1]!;
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "") || !isPackageName(name)) {
      throw malformedContents(label, lineNo, `location ${JSON.stringify(loc.slice(0, 120))} is not [COMPONENT/]SECTION/PACKAGE`);
    }
    names.add(name);
  }
  return [...names].sort();
}

export function malformedContents(label: string, lineNo: number, detail: string): VerificationError {
  return new VerificationError(`${label}: line ${lineNo}: ${detail}`, {
    hint: "the Contents index matched its signed hash but is malformed: report it to the archive, or try another mirror",
  });
}

export function lineTooLong(label: string, lineNo: number): VerificationError {
  return malformedContents(label, lineNo, `line is longer than ${mebibytes(CONTENTS_LIMITS.lineBytes)} (the limit per line)`);
}
