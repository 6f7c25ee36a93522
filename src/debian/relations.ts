/**
 * Relationship fields (Depends, Pre-Depends, Provides, …) as Debian policy §7.1 and dpkg define
 * them: comma-separated groups (all required), each a `|`-separated list of alternatives
 * (any one suffices), each `name[:archqual] [(op version)] [[arch …]] [<profile …> …]`.
 */

import { compareVersions, isValidVersion } from "./version.js";
import { isPackageName } from "./package-name.js";

export type RelOp = "<<" | "<=" | "=" | ">=" | ">>";

export interface Relation {
  name: string;
  /** "any" | "native" | an architecture, from `name:qualifier`. */
  archQualifier?: string;
  op?: RelOp;
  version?: string;
  /** e.g. ["amd64", "!i386"] from `[amd64 !i386]`. */
  archRestriction?: string[];
}

const ARCH = /^[a-z0-9][a-z0-9-]*$/;
const PROFILE = /^!?[a-z0-9][a-z0-9.+-]*$/;

class RelationSyntaxError extends Error {}

function fail(fragment: string, detail: string): never {
  throw new RelationSyntaxError(`invalid relationship ${JSON.stringify(fragment.trim())}: ${detail}`);
}

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}

/** Parse one alternative, e.g. `libc6:any (>= 2.36) [amd64] <!nocheck>`. */
function parseOne(frag: string): Relation {
  const s = frag;
  let i = 0;
  const skip = (): void => {
    while (i < s.length && isSpace(s[i])) i++;
  };
  skip();
  let nameEnd = i;
  while (nameEnd < s.length && !isSpace(s[nameEnd]) && !"([<:".includes(s[nameEnd]!)) nameEnd++;
  const name = s.slice(i, nameEnd);
  if (name === "") fail(frag, "missing package name, or garbage where a package name was expected");
  if (!isPackageName(name)) fail(frag, `invalid package name ${JSON.stringify(name)}`);
  const rel: Relation = { name };
  i = nameEnd;
  if (s[i] === ":") {
    i++;
    let qEnd = i;
    while (qEnd < s.length && !isSpace(s[qEnd]) && !"([<".includes(s[qEnd]!)) qEnd++;
    const qual = s.slice(i, qEnd);
    if (!ARCH.test(qual)) fail(frag, `invalid architecture qualifier ${JSON.stringify(qual)}`);
    rel.archQualifier = qual;
    i = qEnd;
  }
  skip();
  if (s[i] === "(") {
    i++;
    skip();
    let op: RelOp;
    const two = s.slice(i, i + 2);
    if (two === "<<" || two === "<=" || two === ">=" || two === ">>") {
      op = two;
      i += 2;
    } else if (s[i] === "=") {
      op = "=";
      i += 1;
    } else if (s[i] === "<" || s[i] === ">") {
      // Obsolete forms: dpkg reads a bare < and > as <= and >=.
      op = s[i] === "<" ? "<=" : ">=";
      i += 1;
    } else {
      fail(frag, "version restriction without a relation operator (<<, <=, =, >=, >>)");
    }
    skip();
    let vEnd = i;
    while (vEnd < s.length && !isSpace(s[vEnd]) && s[vEnd] !== ")") vEnd++;
    const version = s.slice(i, vEnd);
    if (version === "") fail(frag, "empty version in version restriction");
    if (!isValidVersion(version)) fail(frag, `invalid version ${JSON.stringify(version)}`);
    i = vEnd;
    skip();
    if (s[i] !== ")") fail(frag, "version restriction not closed with ')'");
    i++;
    rel.op = op;
    rel.version = version;
    skip();
  }
  if (s[i] === "[") {
    const close = s.indexOf("]", i);
    if (close < 0) fail(frag, "architecture restriction not closed with ']'");
    const items = s.slice(i + 1, close).split(/[ \t\n\r]+/).filter((x) => x !== "");
    if (items.length === 0) fail(frag, "empty architecture restriction");
    for (const it of items) {
      if (!ARCH.test(it.startsWith("!") ? it.slice(1) : it)) fail(frag, `invalid architecture ${JSON.stringify(it)}`);
    }
    const negated = items.filter((x) => x.startsWith("!")).length;
    if (negated !== 0 && negated !== items.length) fail(frag, "mixed negated and non-negated architectures");
    rel.archRestriction = items;
    i = close + 1;
    skip();
  }
  // Build profiles only matter when building from source: check their syntax, then drop them.
  while (s[i] === "<") {
    const close = s.indexOf(">", i);
    if (close < 0) fail(frag, "build profile restriction not closed with '>'");
    const terms = s.slice(i + 1, close).split(/[ \t\n\r]+/).filter((x) => x !== "");
    if (terms.length === 0) fail(frag, "empty build profile restriction");
    for (const t of terms) if (!PROFILE.test(t)) fail(frag, `invalid build profile ${JSON.stringify(t)}`);
    i = close + 1;
    skip();
  }
  if (i < s.length) fail(frag, `unexpected ${JSON.stringify(s.slice(i, i + 20))}`);
  return rel;
}

/**
 * Parse a relationship field. Outer array: comma-separated groups (AND); inner: `|`
 * alternatives (OR). An empty or blank field yields []. Throws an Error naming the bad fragment.
 */
export function parseRelations(text: string): Relation[][] {
  if (text.trim() === "") return [];
  return text.split(",").map((group) => {
    if (group.trim() === "") fail(text.length > 80 ? text.slice(0, 80) + "…" : text, "empty entry between commas");
    return group.split("|").map(parseOne);
  });
}

/** Whether `version` satisfies `op ref` (e.g. satisfiesVersion("2.36-9", ">=", "2.36")). */
export function satisfiesVersion(version: string, op: RelOp, ref: string): boolean {
  const c = compareVersions(version, ref);
  switch (op) {
    case "<<":
      return c < 0;
    case "<=":
      return c <= 0;
    case "=":
      return c === 0;
    case ">=":
      return c >= 0;
    case ">>":
      return c > 0;
  }
}

/** Split a Debian architecture name into (os, cpu): plain names are Linux, others `os-cpu`. */
function archTuple(arch: string): [os: string, cpu: string] {
  const dash = arch.indexOf("-");
  if (dash < 0) return ["linux", arch];
  return [arch.slice(0, dash), arch.slice(dash + 1)];
}

/** Whether one restriction term (without "!") matches `arch`; supports the any / os-any / any-cpu wildcards. */
function archTermMatches(term: string, arch: string): boolean {
  if (term === arch || term === "any") return true;
  if (arch === "all") return term === "all";
  const [os, cpu] = archTuple(arch);
  if (term.endsWith("-any")) return term.slice(0, -4) === os;
  if (term.startsWith("any-")) return term.slice(4) === cpu;
  return false;
}

/** Whether an `[arch …]` restriction admits `arch`. No restriction admits every architecture. */
export function archRestrictionMatches(restriction: string[] | undefined, arch: string): boolean {
  if (!restriction || restriction.length === 0) return true;
  const negated = restriction[0]!.startsWith("!");
  if (negated) return !restriction.some((t) => archTermMatches(t.replace(/^!/, ""), arch));
  return restriction.some((t) => archTermMatches(t, arch));
}

/** Human form for messages, e.g. "libc6 (>= 2.36)" or "python3:any [amd64]". */
export function formatRelation(r: Relation): string {
  let s = r.archQualifier ? `${r.name}:${r.archQualifier}` : r.name;
  if (r.op && r.version !== undefined) s += ` (${r.op} ${r.version})`;
  if (r.archRestriction && r.archRestriction.length > 0) s += ` [${r.archRestriction.join(" ")}]`;
  return s;
}
