/**
 * Edits of a JSON document as text, keeping everything they do not change byte for byte: the
 * user's indentation (spaces or tabs), line ends (LF or CRLF), key order, a byte-order mark,
 * and one-line or minified layouts. New values are written in the file's own style: objects and
 * arrays on one line when that line stays within the width, else one member per line.
 * JSON has no comments, so layout is all there is to keep.
 */
import { parseJsonWithPositions, pointerSegment, type PositionedJson } from "./json.js";

export interface JsonTextStyle {
  eol: "\n" | "\r\n";
  /** One level of indentation, as the file uses it ("  ", "    " or "\t"). */
  indent: string;
  /** Between a key and its value (": " or ":"). */
  colon: string;
  /** Between the members of a one-line array or object (", " or ","). */
  comma: string;
  /** A space inside the braces of a one-line object: `{ "a": 1 }` rather than `{"a": 1}`. */
  pad: boolean;
  /** The whole document is on one line (minified, or short): new values stay on one line too. */
  oneLine: boolean;
  /** Lines a new value is kept within when written on one line. */
  width: number;
}

const WIDTH = 100;

/** The style of an existing document (its text must be valid JSON). */
export function detectStyle(text: string): JsonTextStyle {
  const body = text.replace(/^\ufeff/, "").trim();
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const colon = /"[ \t]*(:[ \t]*)[^\s]/.exec(body)?.[1] ?? ": ";
  const comma = /[\]}"el\d]([ \t]*,[ \t]*)["{[\dtfn-]/.exec(body)?.[1] ?? ", ";
  const padded = /\{([ \t]*)"[^\n{}]*\}/.exec(body);
  const pad = padded ? padded[1] !== "" : true;
  if (!body.includes("\n")) return { eol, indent: "  ", colon, comma, pad, oneLine: true, width: WIDTH };
  const levels = body.split(/\r?\n/).map((l) => /^[ \t]*/.exec(l)![0]).filter((ws) => ws.length > 0);
  const spaces = levels.filter((ws) => !ws.startsWith("\t")).map((ws) => ws.length);
  // The smallest indentation is one level; a file indented mostly with tabs uses tabs.
  const indent = levels.length - spaces.length > spaces.length ? "\t" : spaces.length > 0 ? " ".repeat(Math.min(...spaces)) : "  ";
  return { eol, indent, colon, comma: ", ", pad, oneLine: false, width: WIDTH };
}

/** The offset just past the JSON value that starts at `start` (no whitespace before it). */
export function valueEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      i = stringEnd(text, i) - 1;
      if (depth === 0) return i + 1;
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    } else if (depth === 0 && /[\s,\]}]/.test(text[i + 1] ?? " ")) return i + 1; // end of a number or literal
  }
  return text.length;
}

/** The offset just past the string literal whose opening quote is at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

/** `value` as JSON text in `style`, starting at `column` of a line indented by `indent`. */
export function renderJson(value: unknown, style: JsonTextStyle, indent: string, column: number): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const inline = renderInline(value, style);
  if (style.oneLine || column + inline.length <= style.width) return inline;
  const inner = indent + style.indent;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[${style.eol}${value.map((v) => inner + renderJson(v, style, inner, inner.length)).join("," + style.eol)}${style.eol}${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return "{}";
  const members = entries.map(([k, v]) => {
    const head = inner + JSON.stringify(k) + style.colon;
    return head + renderJson(v, style, inner, head.length);
  });
  return `{${style.eol}${members.join("," + style.eol)}${style.eol}${indent}}`;
}

function renderInline(value: unknown, style: JsonTextStyle): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => renderInline(v, style)).join(style.comma)}]`;
  const entries = Object.entries(value);
  if (entries.length === 0) return "{}";
  const pad = style.pad ? " " : "";
  return `{${pad}${entries.map(([k, v]) => JSON.stringify(k) + style.colon + renderInline(v, style)).join(style.comma)}${pad}}`;
}

/** The value at a JSON Pointer ("" is the root; "/fileSets/libc"). */
export function valueAtPointer(doc: PositionedJson, ptr: string): unknown {
  let v: unknown = doc.value;
  for (const seg of ptr.split("/").slice(1)) {
    const key = seg.replace(/~1/g, "/").replace(/~0/g, "~");
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
  }
  return v;
}

interface Span {
  start: number;
  end: number;
}

/** Where a container's members are: each one's span (key to value end, or the element), in document order. */
function members(text: string, doc: PositionedJson, ptr: string): Array<Span & { key?: string }> {
  const v = valueAtPointer(doc, ptr);
  if (Array.isArray(v)) {
    return v.map((_, i) => {
      const start = doc.valueAt.get(`${ptr}/${i}`)!;
      return { start, end: valueEnd(text, start) };
    });
  }
  const out: Array<Span & { key: string }> = [];
  for (const key of Object.keys(v as object)) {
    const child = `${ptr}/${pointerSegment(key)}`;
    const start = doc.keyAt.get(child)!;
    out.push({ key, start, end: valueEnd(text, doc.valueAt.get(child)!) });
  }
  return out.sort((a, b) => a.start - b.start);
}

function lineStart(text: string, at: number): number {
  return text.lastIndexOf("\n", at - 1) + 1;
}

/** The whitespace a line starts with. */
function lineIndent(text: string, at: number): string {
  return /^[ \t]*/.exec(text.slice(lineStart(text, at)))![0];
}

/** Whether only whitespace precedes `at` on its line. */
function startsLine(text: string, at: number): boolean {
  return /^[ \t]*$/.test(text.slice(lineStart(text, at), at));
}

function splice(text: string, at: number, remove: number, insert: string): string {
  return text.slice(0, at) + insert + text.slice(at + remove);
}

/**
 * Adds `key: value` to the object at `ptr` (which must not have the key), before the member
 * `before` when given and present, else at the end.
 */
export function insertMember(text: string, ptr: string, key: string, value: unknown, before?: string): string {
  return insertInto(text, ptr, { key, value }, before);
}

/** Appends `value` to the array at `ptr`. */
export function appendElement(text: string, ptr: string, value: unknown): string {
  return insertInto(text, ptr, { value });
}

/** Replaces the value at `ptr`, which must exist. */
export function replaceValue(text: string, ptr: string, value: unknown): string {
  const doc = parseJsonWithPositions(text);
  const start = doc.valueAt.get(ptr)!;
  const style = detectStyle(text);
  return splice(text, start, valueEnd(text, start) - start, renderJson(value, style, lineIndent(text, start), start - lineStart(text, start)));
}

function insertInto(text: string, ptr: string, item: { key?: string; value: unknown }, before?: string): string {
  const doc = parseJsonWithPositions(text);
  const style = detectStyle(text);
  const start = doc.valueAt.get(ptr)!;
  const end = valueEnd(text, start);
  const container = valueAtPointer(doc, ptr);
  const isArray = Array.isArray(container);
  const existing = members(text, doc, ptr);
  const head = (): string => (item.key === undefined ? "" : JSON.stringify(item.key) + style.colon);
  const outer = lineIndent(text, start);

  if (existing.length === 0) {
    const whole = isArray ? [item.value] : { [item.key!]: item.value };
    return splice(text, start, end - start, renderJson(whole, style, outer, start - lineStart(text, start)));
  }
  const multiLine = text.slice(start, end).includes("\n");
  if (multiLine) {
    const first = existing[0]!;
    const indent = startsLine(text, first.start) ? lineIndent(text, first.start) : outer + style.indent;
    const at = before === undefined ? undefined : existing.find((m) => m.key === before);
    if (at && startsLine(text, at.start)) {
      const own = lineIndent(text, at.start);
      return splice(text, at.start, 0, head() + renderJson(item.value, style, own, own.length + head().length) + "," + style.eol + own);
    }
    const last = existing[existing.length - 1]!;
    return splice(text, last.end, 0, "," + style.eol + indent + head() + renderJson(item.value, style, indent, indent.length + head().length));
  }
  // A one-line container: keep it one line when it still fits, else write it one member per
  // line, each existing member's text kept as it is.
  const sep = style.comma;
  const at = before === undefined ? undefined : existing.find((m) => m.key === before);
  const inline = head() + renderInline(item.value, style);
  const oneLine = at ? splice(text, at.start, 0, inline + sep) : splice(text, existing[existing.length - 1]!.end, 0, sep + inline);
  const newEnd = end + (oneLine.length - text.length);
  const lineEnd = oneLine.indexOf("\n", newEnd);
  const width = (lineEnd < 0 ? oneLine.length : lineEnd) - lineStart(oneLine, start);
  if (style.oneLine || width <= style.width) return oneLine;
  const inner = outer + style.indent;
  const parts = existing.map((m) => text.slice(m.start, m.end));
  const fresh = head() + renderJson(item.value, style, inner, inner.length + head().length);
  const index = at ? existing.indexOf(at) : parts.length;
  parts.splice(index, 0, fresh);
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  return splice(text, start, end - start, `${open}${style.eol}${parts.map((p) => inner + p).join("," + style.eol)}${style.eol}${outer}${close}`);
}
