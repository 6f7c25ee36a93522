/**
 * Turns ajv's errors into one readable problem: the first in document order, with a field path
 * like `sources[1].suites[0]` and a message that says what is wrong and, where it can, what was
 * meant. Shared by the manifest and the lockfile readers.
 */
import type { Ajv as AjvClass, ErrorObject, ValidateFunction, AnySchemaObject } from "ajv";
import { pointerSegment, type PositionedJson } from "./json.js";
import { createRequire } from "node:module";
import { canonicalJson } from "./canonical-json.js";
import { sha256Hex } from "./hash.js";
import { didYouMean } from "./did-you-mean.js";

export interface Problem {
  /** Field path, e.g. `sources[1].suites[0]`; "" for the document itself. */
  path: string;
  detail: string;
  hint?: string;
  /** Offset in the text, for ordering. */
  at: number;
}

export const AJV_OPTIONS = { allErrors: true, verbose: true, strict: true, allowUnionTypes: true } as const;

/** Identifies a schema's precompiled validator: the sha256 of its canonical JSON. */
export function schemaKey(schema: AnySchemaObject): string {
  return sha256Hex(canonicalJson(schema));
}

/** Validators compiled at build time (dist/generated/validators.cjs), by schemaKey; absent when run from source. */
function precompiled(): Record<string, ValidateFunction> | undefined {
  try {
    return createRequire(import.meta.url)("../generated/validators.cjs") as Record<string, ValidateFunction>;
  } catch {
    return undefined;
  }
}

/** A compiled validator whose schemas may carry `errorHint` (said when a pattern does not match). */
export function compileSchema(schema: AnySchemaObject): ValidateFunction {
  const ready = precompiled()?.[schemaKey(schema)];
  if (ready) return ready;
  // Only when run from source: loading ajv itself costs a startup that the built CLI skips.
  const { Ajv } = createRequire(import.meta.url)("ajv") as { Ajv: typeof AjvClass };
  const ajv = new Ajv(AJV_OPTIONS);
  ajv.addKeyword({ keyword: "errorHint", schemaType: "string" });
  return ajv.compile(schema);
}

/** JSON Pointer → `a[0].b.c`, walking the value to know which segments index arrays. */
export function fieldPath(root: unknown, pointer: string): string {
  if (pointer === "") return "";
  let out = "";
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur)) {
      out += `[${seg}]`;
      cur = cur[Number(seg)];
    } else {
      out += out === "" ? seg : `.${seg}`;
      cur = cur !== null && typeof cur === "object" ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

function joinPath(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  return base === "" ? key : `${base}.${key}`;
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number") return Number.isInteger(v) ? "an integer" : "a number";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

function expected(type: string): string {
  switch (type) {
    case "object":
    case "array":
    case "integer":
      return `an ${type}`;
    case "null":
      return "null";
    default:
      return `a ${type}`;
  }
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? s.slice(0, 77) + "..." : s;
}

/** Options a caller can give to word some errors better for its own format. */
export interface Wording {
  /** Extra words after `missing required key "k"` (e.g. why the key is needed). */
  required?(path: string, key: string): { detail?: string; hint?: string } | undefined;
  /** Replaces the `unknown key` message for some objects (e.g. a built-in file set). */
  unknownKey?(path: string, key: string, allowed: string[]): string | undefined;
  /**
   * What is wrong with the object at `path` itself, said instead of its unknown or missing keys
   * (e.g. a misspelt built-in file set, whose keys are wrong only because its name is).
   */
  misnamed?(path: string, value: unknown): { detail: string; hint?: string } | undefined;
}

function problemOf(e: ErrorObject, doc: PositionedJson, wording: Wording): Problem {
  const root = doc.value;
  const ptr = e.instancePath;
  const path = fieldPath(root, ptr);
  const at = doc.valueAt.get(ptr) ?? 0;
  const p = e.params as Record<string, unknown>;
  const hint = (e.parentSchema as { errorHint?: string } | undefined)?.errorHint;
  const misnamed = e.keyword === "additionalProperties" || e.keyword === "required" ? wording.misnamed?.(path, e.data) : undefined;
  if (misnamed) return { path, at, ...misnamed };
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String(p["additionalProperty"]);
      const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
      const allowed = Object.keys(props);
      const custom = wording.unknownKey?.(path, key, allowed);
      const mean = didYouMean(key, allowed);
      const detail =
        custom ??
        `unknown key ${show(key)}${mean ? ` (did you mean ${show(mean)}?)` : ""}` +
          (allowed.length ? `; allowed keys: ${allowed.map((k) => show(k)).join(", ")}` : "; this object takes no keys");
      return { path: joinPath(path, key), detail, at: doc.keyAt.get(`${ptr}/${pointerSegment(key)}`) ?? at };
    }
    case "required": {
      const key = String(p["missingProperty"]);
      const extra = wording.required?.(path, key);
      const prob: Problem = { path: joinPath(path, key), detail: `missing required key ${show(key)}${extra?.detail ? `: ${extra.detail}` : ""}`, at };
      if (extra?.hint) prob.hint = extra.hint;
      return prob;
    }
    case "type":
      return { path, detail: `must be ${String(p["type"]).split(",").map(expected).join(" or ")}, got ${jsonType(e.data)}`, at };
    case "minItems":
      return { path, detail: p["limit"] === 1 ? "must not be empty" : `must have at least ${String(p["limit"])} items`, at };
    case "uniqueItems": {
      const i = Number(p["i"]);
      const j = Number(p["j"]);
      const [first, second] = i < j ? [i, j] : [j, i];
      const itemPtr = `${ptr}/${second}`;
      return {
        path: joinPath(path, second),
        detail: `${show((e.data as unknown[])[second])} is listed twice (also ${joinPath(path, first)}); remove one`,
        at: doc.valueAt.get(itemPtr) ?? at,
      };
    }
    case "minLength":
      return { path, detail: "must not be empty", at };
    case "pattern":
      return { path, detail: `${show(e.data)} is not valid${hint ? `: ${hint}` : ` (must match ${String(p["pattern"])})`}`, at };
    case "enum":
      return { path, detail: `must be one of ${(p["allowedValues"] as unknown[]).map(show).join(", ")}, got ${show(e.data)}`, at };
    case "const":
      return { path, detail: `must be ${show(p["allowedValue"])}, got ${show(e.data)}`, at };
    case "not":
      return { path, detail: hint ?? "is not allowed here", at };
    case "minimum":
      return { path, detail: `must be ≥ ${String(p["limit"])}, got ${show(e.data)}`, at };
    default:
      return { path, detail: `${e.message ?? "is invalid"}${hint ? ` (${hint})` : ""}`, at };
  }
}

/**
 * The problem a user should fix first: the earliest in the document. Within one object an
 * unknown key outranks a missing one, since a misspelt key causes both.
 */
export function firstProblem(errors: readonly ErrorObject[], doc: PositionedJson, wording: Wording = {}): Problem | undefined {
  // propertyNames reports twice (the inner keyword with propertyName, then the wrapper); keep the inner one.
  const useful = errors.filter((e) => e.keyword !== "propertyNames" && e.keyword !== "if");
  const problems = useful.map((e) => {
    const prob = e.propertyName !== undefined ? propertyNameProblem(e, doc) : problemOf(e, doc, wording);
    const rank = e.keyword === "required" ? 1 : 0;
    return { prob, rank, ptr: e.instancePath, keyword: e.keyword };
  });
  const unknownIn = new Set(problems.filter((x) => x.keyword === "additionalProperties").map((x) => x.ptr));
  const kept = problems.filter((x) => !(x.keyword === "required" && unknownIn.has(x.ptr)));
  kept.sort((a, b) => a.prob.at - b.prob.at || a.rank - b.rank || (a.prob.path < b.prob.path ? -1 : a.prob.path > b.prob.path ? 1 : 0) || (a.prob.detail < b.prob.detail ? -1 : a.prob.detail > b.prob.detail ? 1 : 0));
  return kept[0]?.prob;
}

function propertyNameProblem(e: ErrorObject, doc: PositionedJson): Problem {
  const key = e.propertyName!;
  const base = fieldPath(doc.value, e.instancePath);
  const hint = (e.parentSchema as { errorHint?: string } | undefined)?.errorHint;
  const at = doc.keyAt.get(`${e.instancePath}/${pointerSegment(key)}`) ?? doc.valueAt.get(e.instancePath) ?? 0;
  return { path: joinPath(base, key), detail: `${show(key)} is not a valid name${hint ? `: ${hint}` : ""}`, at };
}
