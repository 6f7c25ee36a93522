/**
 * deb822 (RFC 822-style control data) as Debian uses it in Release, Packages, control and apt
 * .sources files: paragraphs separated by blank lines; `Field: value`; continuation lines start
 * with a space or tab. Field names are case-insensitive; we keep them as written and look them
 * up case-insensitively. Comment lines (`#`) are allowed only where the caller says so (apt
 * .sources files), not in archive files.
 */
import { FormatError } from "../model/errors.js";

export interface Paragraph {
  /** Fields in file order, names as written. Values keep continuation lines joined by "\n" with
   *  the single leading space of each continuation line removed (like dpkg). */
  readonly fields: ReadonlyArray<readonly [name: string, value: string]>;
  /** 1-based line number where the paragraph starts, for error messages. */
  readonly line: number;
}

export class Deb822SyntaxError extends FormatError {
  constructor(readonly line: number, detail: string) {
    super("deb822", detail, `line ${line}`, `invalid deb822 syntax at line ${line}: ${detail}`);
  }
}

/**
 * Caps on what one field and one paragraph may hold, so that a hostile file (say one 64 MiB
 * line) is refused early instead of held in memory. Real archives are far below: bookworm's
 * largest field is a Provides of ~75 KB, its largest Packages stanza ~76 KB.
 */
export const DEB822_LIMITS = {
  /** Bytes of one field: its first line after the colon plus every continuation line. */
  fieldBytes: 1 << 20,
  /** Bytes of one paragraph (stanza), all its lines. */
  paragraphBytes: 4 << 20,
} as const;

/** "1 MiB" for the limits above, in messages. */
export function mebibytes(bytes: number): string {
  return `${bytes / (1 << 20)} MiB`;
}

export interface ParseOptions {
  /** Allow `#` comment lines (apt .sources files). */
  comments?: boolean;
}

export function parseDeb822(text: string, options: ParseOptions = {}): Paragraph[] {
  const out: Paragraph[] = [];
  let fields: Array<[string, string]> = [];
  let start = 0;
  let fieldBytes = 0;
  let paragraphBytes = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const lineNo = i + 1;
    if (options.comments && line.startsWith("#")) continue;
    if (line.trim() === "") {
      if (fields.length > 0) out.push({ fields, line: start });
      fields = [];
      paragraphBytes = 0;
      continue;
    }
    paragraphBytes += line.length + 1;
    if (paragraphBytes > DEB822_LIMITS.paragraphBytes) {
      throw new Deb822SyntaxError(lineNo, `paragraph starting at line ${fields.length > 0 ? start : lineNo} is longer than ${mebibytes(DEB822_LIMITS.paragraphBytes)} (the limit per paragraph)`);
    }
    const c = line.charCodeAt(0);
    if (c === 32 || c === 9) {
      const last = fields[fields.length - 1];
      if (!last) throw new Deb822SyntaxError(lineNo, "continuation line without a field");
      fieldBytes += line.length;
      if (fieldBytes > DEB822_LIMITS.fieldBytes) throw fieldTooLong(lineNo, last[0]);
      const rest = line.slice(1);
      // A lone "." on a continuation line stands for an empty line in multi-line values.
      last[1] = last[1] === "" ? rest : last[1] + "\n" + (rest === "." ? "" : rest);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Deb822SyntaxError(lineNo, `expected "Field: value", got ${JSON.stringify(line.slice(0, 60))}`);
    if (fields.length === 0) start = lineNo;
    fieldBytes = line.length - colon - 1;
    if (fieldBytes > DEB822_LIMITS.fieldBytes) throw fieldTooLong(lineNo, line.slice(0, Math.min(colon, 60)));
    fields.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  if (fields.length > 0) out.push({ fields, line: start });
  return out;
}

function fieldTooLong(line: number, name: string): Deb822SyntaxError {
  return new Deb822SyntaxError(line, `field ${JSON.stringify(name)} is longer than ${mebibytes(DEB822_LIMITS.fieldBytes)} (the limit per field)`);
}

/** Case-insensitive field lookup; undefined when absent. */
export function field(p: Paragraph, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of p.fields) if (k.toLowerCase() === lower) return v;
  return undefined;
}
