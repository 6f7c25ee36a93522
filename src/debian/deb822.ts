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

export interface ParseOptions {
  /** Allow `#` comment lines (apt .sources files). */
  comments?: boolean;
}

export function parseDeb822(text: string, options: ParseOptions = {}): Paragraph[] {
  const out: Paragraph[] = [];
  let fields: Array<[string, string]> = [];
  let start = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const lineNo = i + 1;
    if (options.comments && line.startsWith("#")) continue;
    if (line.trim() === "") {
      if (fields.length > 0) out.push({ fields, line: start });
      fields = [];
      continue;
    }
    const c = line.charCodeAt(0);
    if (c === 32 || c === 9) {
      const last = fields[fields.length - 1];
      if (!last) throw new Deb822SyntaxError(lineNo, "continuation line without a field");
      const rest = line.slice(1);
      // A lone "." on a continuation line stands for an empty line in multi-line values.
      last[1] = last[1] === "" ? rest : last[1] + "\n" + (rest === "." ? "" : rest);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Deb822SyntaxError(lineNo, `expected "Field: value", got ${JSON.stringify(line.slice(0, 60))}`);
    if (fields.length === 0) start = lineNo;
    fields.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  if (fields.length > 0) out.push({ fields, line: start });
  return out;
}

/** Case-insensitive field lookup; undefined when absent. */
export function field(p: Paragraph, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of p.fields) if (k.toLowerCase() === lower) return v;
  return undefined;
}
