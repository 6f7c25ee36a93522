/**
 * A small JSON parser that remembers where every value and key starts, so validation errors can
 * be reported in document order and syntax errors with a line and column on any Node release
 * (V8's JSON.parse messages differ between Node 20, 22 and 24). It also rejects duplicate keys,
 * which JSON.parse would silently resolve to the last one.
 */
import { FormatError } from "../model/errors.js";

export class JsonSyntaxError extends FormatError {
  constructor(
    readonly line: number,
    readonly column: number,
    detail: string,
  ) {
    const position = `line ${line}, column ${column}`;
    super("JSON", detail, position, `invalid JSON at ${position}: ${detail}`);
  }
}

export interface PositionedJson {
  value: unknown;
  /** JSON Pointer (as ajv's instancePath spells it) → offset where that value starts. */
  valueAt: Map<string, number>;
  /** JSON Pointer of an object member → offset of its key. */
  keyAt: Map<string, number>;
}

/** One JSON Pointer segment (RFC 6901): "~" → "~0", "/" → "~1". */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** Arrays and objects nest at most this deep: the parser recurses, and no manifest or lock needs more than a handful. */
export const MAX_JSON_DEPTH = 256;

export function parseJsonWithPositions(text: string): PositionedJson {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const offsetShift = src === text ? 0 : 1;
  const valueAt = new Map<string, number>();
  const keyAt = new Map<string, number>();
  let i = 0;

  const lineCol = (offset: number): { line: number; column: number } => {
    let line = 1;
    let start = 0;
    for (let k = 0; k < offset && k < text.length; k++) {
      if (text.charCodeAt(k) === 10) {
        line++;
        start = k + 1;
      }
    }
    return { line, column: offset - start + 1 };
  };
  const fail = (detail: string, at = i): never => {
    const { line, column } = lineCol(at + offsetShift);
    throw new JsonSyntaxError(line, column, detail);
  };
  const describe = (): string =>
    i >= src.length ? "end of file" : JSON.stringify(src.slice(i, i + 1));

  const ws = (): void => {
    while (i < src.length) {
      const c = src.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };

  const str = (): string => {
    const start = i;
    i++; // opening quote
    let out = "";
    for (;;) {
      if (i >= src.length) fail("unterminated string", start);
      const c = src.charCodeAt(i);
      if (c === 34) {
        i++;
        return out;
      }
      if (c < 0x20) fail("control character in string (escape it, e.g. \\n)");
      if (c === 92) {
        const e = src[i + 1];
        const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (e !== undefined && e in simple) {
          out += simple[e];
          i += 2;
        } else if (e === "u") {
          const hex = src.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("invalid \\u escape in string");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else {
          fail(`invalid escape ${JSON.stringify("\\" + (e ?? ""))} in string`);
        }
        continue;
      }
      // Copy the run of plain characters up to the next quote, backslash or control character.
      let j = i + 1;
      while (j < src.length) {
        const d = src.charCodeAt(j);
        if (d === 34 || d === 92 || d < 0x20) break;
        j++;
      }
      out += src.slice(i, j);
      i = j;
    }
  };

  const num = (): number => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i, i + 400));
    if (!m) return fail(`unexpected ${describe()}`);
    i += m[0].length;
    return Number(m[0]);
  };

  const value = (ptr: string, depth = 0): unknown => {
    ws();
    valueAt.set(ptr, i + offsetShift);
    const c = src[i];
    if ((c === "{" || c === "[") && depth >= MAX_JSON_DEPTH) fail(`nested deeper than ${MAX_JSON_DEPTH} levels`);
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (src[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (src[i] !== '"') fail(src[i] === "}" ? "trailing comma before }" : `expected a key in double quotes, got ${describe()}`);
        const keyStart = i;
        const key = str();
        if (Object.prototype.hasOwnProperty.call(obj, key)) fail(`duplicate key ${JSON.stringify(key)}`, keyStart);
        const childPtr = ptr + "/" + pointerSegment(key);
        keyAt.set(childPtr, keyStart + offsetShift);
        ws();
        if (src[i] !== ":") fail(`expected ":" after key ${JSON.stringify(key)}, got ${describe()}`);
        i++;
        // defineProperty: a key "__proto__" must be an own member, not the prototype.
        Object.defineProperty(obj, key, { value: value(childPtr, depth + 1), enumerable: true, writable: true, configurable: true });
        ws();
        if (src[i] === ",") {
          i++;
          continue;
        }
        if (src[i] === "}") {
          i++;
          return obj;
        }
        fail(`expected "," or "}" after the value of ${JSON.stringify(key)}, got ${describe()}`);
      }
    }
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      ws();
      if (src[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        ws();
        if (src[i] === "]") fail("trailing comma before ]");
        arr.push(value(`${ptr}/${arr.length}`, depth + 1));
        ws();
        if (src[i] === ",") {
          i++;
          continue;
        }
        if (src[i] === "]") {
          i++;
          return arr;
        }
        fail(`expected "," or "]" in array, got ${describe()}`);
      }
    }
    if (c === '"') return str();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return num();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (src.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail(`unexpected ${describe()}${c === "'" ? " (JSON strings use double quotes)" : c === "/" ? " (JSON has no comments)" : ""}`);
  };

  const result = value("");
  ws();
  if (i < src.length) fail(`unexpected ${describe()} after the end of the JSON value`);
  return { value: result, valueAt, keyAt };
}
