/**
 * The one reader of provenance manifests (see src/layer/provenance.ts for the layout). It
 * validates every line — the format line first, each line's fields and their types, derivation
 * lines before path lines, paths sorted by bytes and each once, providers in provider order —
 * because a manifest may come from a file the user names, and what audit or why says about a
 * path must not rest on a line nobody checked.
 */
import type { NodeType } from "../model/layer.js";
import type { LockedDerivation } from "../model/lock.js";
import { PROVENANCE_FORMAT, type Provenance, type ProvenanceEntry, type ProvenanceOrigin } from "../model/provenance.js";
import { compareOrigins } from "./provenance.js";
import { ProvenanceError } from "./errors.js";
import { comparePaths } from "../util/byte-order.js";

const REWRITE = "write it again with this scratch-pkgs: scratch-pkgs layer (beside the layer), or scratch-pkgs lock (in the cache)";

/** A problem with one line; parseProvenance adds the source and the line number. */
class LineProblem extends Error {}

const refused = (source: string, line: number, detail: string, hint: string) => new ProvenanceError(`${source} line ${line}: ${detail}`, { hint });

type Obj = Record<string, unknown>;

function plain(x: unknown, what: string): Obj {
  if (x === null || typeof x !== "object" || Array.isArray(x)) throw new LineProblem(`${what} must be an object`);
  return x as Obj;
}

/** `x` as an object with the `required` fields and no others than `optional`. */
function object(x: unknown, what: string, required: readonly string[], optional: readonly string[] = []): Obj {
  const o = plain(x, what);
  for (const k of required) if (!(k in o)) throw new LineProblem(`${what} has no "${k}"`);
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) throw new LineProblem(`${what} has an unknown field "${k}"`);
  return o;
}

function text(o: Obj, k: string, what: string): string {
  const v = o[k];
  if (typeof v !== "string" || v === "") throw new LineProblem(`${what}.${k} must be a non-empty string`);
  return v;
}

function count(o: Obj, k: string, what: string): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new LineProblem(`${what}.${k} must be a non-negative integer`);
  return v;
}

function matching(o: Obj, k: string, what: string, re: RegExp, says: string): string {
  const v = text(o, k, what);
  if (!re.test(v)) throw new LineProblem(`${what}.${k} ${JSON.stringify(v)} is not ${says}`);
  return v;
}

function oneOf<T extends string>(o: Obj, k: string, what: string, values: readonly T[]): T {
  const v = o[k];
  if (!values.includes(v as T)) throw new LineProblem(`${what}.${k} must be one of ${values.join(", ")}`);
  return v as T;
}

function array(o: Obj, k: string, what: string): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) throw new LineProblem(`${what}.${k} must be an array`);
  return v;
}

const SHA256 = /^[0-9a-f]{64}$/;
const MODE = /^[0-7]{4}$/;
const isLayerPath = (p: string) => p.startsWith("/") && p !== "/" && !p.includes("\0") && p.slice(1).split("/").every((s) => s !== "" && s !== "." && s !== "..");

function layerPath(o: Obj, k: string, what: string): string {
  const p = text(o, k, what);
  if (!isLayerPath(p)) throw new LineProblem(`${what}.${k} ${JSON.stringify(p)} is not a normal absolute layer path`);
  return p;
}

function origin(x: unknown, what: string): ProvenanceOrigin {
  const kind = (x as Obj | null)?.kind;
  if (kind === "package") {
    const o = object(x, what, ["kind", "package", "version", "architecture", "member"]);
    return { kind, package: text(o, "package", what), version: text(o, "version", what), architecture: text(o, "architecture", what), member: text(o, "member", what) };
  }
  if (kind === "derivation") {
    const o = object(x, what, ["kind", "recipe", "version"]);
    return { kind, recipe: text(o, "recipe", what), version: text(o, "version", what) };
  }
  if (kind === "implicit") return { kind, reason: text(object(x, what, ["kind", "reason"]), "reason", what) };
  throw new LineProblem(`${what} must be an object whose kind is package, derivation or implicit`);
}

function entry(x: unknown): ProvenanceEntry {
  const what = "the path line";
  const o = object(x, what, ["path", "type", "mode", "uid", "gid", "origin"], ["size", "sha256", "target", "alsoFrom"]);
  const type = oneOf<NodeType>(o, "type", what, ["file", "dir", "symlink", "hardlink"]);
  const e: ProvenanceEntry = {
    path: layerPath(o, "path", what),
    type,
    mode: matching(o, "mode", what, MODE, "a 4-digit octal mode"),
    uid: count(o, "uid", what),
    gid: count(o, "gid", what),
    origin: origin(o.origin, "origin"),
  };
  const has = (k: string) => k in o;
  if (type === "file") {
    if (!has("size") || !has("sha256")) throw new LineProblem(`a file's line must give its size and sha256`);
    e.size = count(o, "size", what);
    e.sha256 = matching(o, "sha256", what, SHA256, "a sha256 digest (64 lower-case hex digits)");
  } else if (has("size") || has("sha256")) throw new LineProblem(`a ${type} has no size or sha256`);
  if (type === "symlink" || type === "hardlink") {
    if (!has("target")) throw new LineProblem(`a ${type}'s line must give its target`);
    e.target = text(o, "target", what);
  } else if (has("target")) throw new LineProblem(`a ${type} has no target`);
  if (has("alsoFrom")) {
    const more = array(o, "alsoFrom", what).map((a, i) => origin(a, `alsoFrom[${i}]`));
    if (more.length === 0) throw new LineProblem(`alsoFrom, when present, names at least one provider`);
    if (more.some((a) => a.kind === "implicit")) throw new LineProblem(`alsoFrom names packages and recipes only`);
    const all = [e.origin, ...more];
    for (let i = 1; i < all.length; i++) {
      if (compareOrigins(all[i - 1]!, all[i]!) >= 0) throw new LineProblem(`the providers (origin, then alsoFrom) are not in provider order, each once`);
    }
    e.alsoFrom = more;
  }
  return e;
}

function scalarOptions(x: unknown, what: string): LockedDerivation["options"] {
  const o = plain(x, what);
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") throw new LineProblem(`${what}.${k} must be a string, number or boolean`);
  }
  return o as LockedDerivation["options"];
}

function derivation(x: unknown): LockedDerivation {
  const what = "derivation";
  const o = object(x, what, ["recipe", "version", "options", "inputs", "outputs"]);
  return {
    recipe: text(o, "recipe", what),
    version: text(o, "version", what),
    options: scalarOptions(o.options, `${what}.options`),
    inputs: array(o, "inputs", what).map((x, i) => {
      const w = `${what}.inputs[${i}]`;
      const input = object(x, w, ["path", "sha256"]);
      return { path: text(input, "path", w), sha256: matching(input, "sha256", w, SHA256, "a sha256 digest") };
    }),
    outputs: array(o, "outputs", what).map((x, i) => {
      const w = `${what}.outputs[${i}]`;
      const out = object(x, w, ["path", "type", "mode", "uid", "gid", "sha256"]);
      return {
        path: layerPath(out, "path", w),
        type: oneOf(out, "type", w, ["file", "dir", "symlink"] as const),
        mode: matching(out, "mode", w, MODE, "a 4-digit octal mode"),
        uid: count(out, "uid", w),
        gid: count(out, "gid", w),
        sha256: matching(out, "sha256", w, SHA256, "a sha256 digest"),
      };
    }),
  };
}

function formatLine(x: unknown): void {
  const o = x as Obj | null;
  if (o === null || typeof o !== "object" || !("format" in o)) {
    throw new LineProblem(`no format line: the manifest must begin with ${JSON.stringify(PROVENANCE_FORMAT)} (manifests written before the format had a version have none)`);
  }
  if (o.format !== PROVENANCE_FORMAT.format) throw new LineProblem(`format ${JSON.stringify(o.format)} is not ${JSON.stringify(PROVENANCE_FORMAT.format)}`);
  if (o.version !== PROVENANCE_FORMAT.version) throw new LineProblem(`format version ${JSON.stringify(o.version)} is not supported (this scratch-pkgs reads version ${PROVENANCE_FORMAT.version})`);
  object(x, "the format line", ["format", "version"]);
}

/**
 * Parse and validate a provenance manifest. `source` names it in errors: a file name, or e.g.
 * "the provenance manifest of layer amd64 in the cache". Throws ProvenanceError (exit 2).
 */
export function parseProvenance(content: string, source: string): Provenance {
  if (content === "") throw refused(source, 1, `the file is empty: a manifest begins with ${JSON.stringify(PROVENANCE_FORMAT)}`, REWRITE);
  // The writer ends every line with a newline; text after the last one is a cut-off line.
  if (!content.endsWith("\n")) throw refused(source, content.split("\n").length, "the last line does not end with a newline (a cut-off file?)", REWRITE);
  const lines = content.slice(0, -1).split("\n");
  const out: Provenance = { derivations: [], entries: [] };
  let previousPath: string | undefined;
  let previousLine = 0;
  for (const [i, line] of lines.entries()) {
    const n = i + 1;
    try {
      if (line === "") throw new LineProblem("an empty line");
      let x: unknown;
      try {
        x = JSON.parse(line);
      } catch (e) {
        throw new LineProblem(`not JSON (${(e as Error).message})`);
      }
      if (n === 1) {
        formatLine(x);
        continue;
      }
      if (x !== null && typeof x === "object" && "derivation" in x) {
        if (out.entries.length > 0) throw new LineProblem("a derivation line after the path lines (derivations come first)");
        out.derivations.push(derivation(object(x, "the derivation line", ["derivation"]).derivation));
        continue;
      }
      const e = entry(x);
      if (previousPath !== undefined) {
        const c = comparePaths(previousPath, e.path);
        if (c === 0) throw new LineProblem(`${e.path} is listed twice (also line ${previousLine})`);
        if (c > 0) throw new LineProblem(`${e.path} sorts before the path of line ${previousLine} (paths are sorted by bytes)`);
      }
      previousPath = e.path;
      previousLine = n;
      out.entries.push(e);
    } catch (e) {
      if (!(e instanceof LineProblem)) throw e;
      throw refused(source, n, e.message, n === 1 ? `${REWRITE}, or use the scratch-pkgs that wrote it` : REWRITE);
    }
  }
  return out;
}
