/**
 * `add`: what a binary needs (model/binary-needs, as doctor finds it) written into scratch.json,
 * as an edit of the file's own text (util/json-text-edit), so that everything it does not
 * change stays byte for byte. Pure: text and needs in, text out, re-validated by parseManifest.
 *
 * The rules (README, `add`):
 * - One user file set per binary, named from its file name and architecture (`./build/my_app`
 *   for amd64 → `my-app-amd64`), with the packages that ship its files and exactly those paths
 *   (glob characters escaped, so `lock` takes those paths and nothing else).
 * - Its packages are requested for the binary's architecture only when the manifest builds
 *   several: its paths are that architecture's (`/usr/lib/x86_64-linux-gnu/…`), would take
 *   nothing from the arm64 packages (which `lock` refuses), and the arm64 image has no use for
 *   libraries only the amd64 binary loads. `--whole` scopes its top-level packages the same way.
 * - A set of that name that `add` could have written (exact paths, no excludes, packages scoped
 *   as add scopes them) is the same binary's earlier needs: it is replaced. Any other set of
 *   that name is the user's own: refused, naming it. Adding the same needs again changes nothing.
 * - The built-in sets the binary probably reads (`ca-certs`, `tzdata`) are added when absent.
 * - A binary that is a package's own file (needs.shippedBy) gets that package requested whole,
 *   as `--whole` requests one: the files besides ELF it reads are the package's to say.
 */
import path from "node:path";
import type { BinaryNeeds, NeededFile } from "../model/binary-needs.js";
import { BUILTIN_FILE_SETS } from "../model/builtin-file-sets.js";
import { ManifestError, ResolveError, UsageError } from "../model/errors.js";
import type { Manifest } from "../model/manifest.js";
import { canonicalJson } from "../util/canonical-json.js";
import { escapeGlob, isLiteralGlob } from "../util/glob-literal.js";
import { parseJsonWithPositions, pointerSegment } from "../util/json.js";
import { appendElement, insertMember, replaceValue } from "../util/json-text-edit.js";
import { parsePackageSpec, parseManifest } from "./validate.js";

export interface AddNeedsOptions {
  /** Request the packages whole (top-level `packages`) instead of a file set of exact paths. */
  whole: boolean;
}

/** One change `add` makes, for the report (`--json`) and the notes. */
export interface ManifestAddition {
  /** The field changed: `fileSets.app-amd64`, `fileSets.ca-certs`, `packages[2]`, `packages[0].architectures`. */
  field: string;
  action: "added" | "replaced" | "extended";
  /** The binary whose needs made it. */
  binary: string;
  /** What, in a few words. */
  detail: string;
}

export interface AddNeedsResult {
  text: string;
  changed: boolean;
  additions: ManifestAddition[];
  /** The new text, validated. */
  manifest: Manifest;
}

/** The usual order of scratch.json's top-level keys (README): a missing one is inserted at its place. */
const TOP_LEVEL_ORDER = ["$schema", "sources", "architectures", "policy", "fileSets", "packages", "dpkgStatus", "copyright"];

type Raw = Record<string, unknown>;

export function addBinaryNeeds(text: string, file: string, needs: readonly BinaryNeeds[], opts: AddNeedsOptions): AddNeedsResult {
  const manifest = parseManifest(text, file);
  refuseUnresolved(needs);
  const architectures = manifest.architectures;
  const names = new Map<string, string>();
  for (const n of needs) {
    if (!architectures.includes(n.architecture)) {
      throw new UsageError(`${n.binary} is built for ${n.architecture}, and ${file} builds ${architectures.join(", ")}`, {
        hint: `add "${n.architecture}" to "architectures" in ${file}, or give the binary built for one of them`,
      });
    }
    const name = fileSetName(n.binary, n.architecture);
    const other = names.get(name);
    if (other !== undefined && !opts.whole) throw new UsageError(`${other} and ${n.binary} would both be file set "${name}"`, { hint: "give the binaries different file names, or add them one at a time" });
    names.set(name, n.binary);
  }

  const additions: ManifestAddition[] = [];
  let out = text;
  for (const n of needs) {
    if (opts.whole) for (const p of n.packages) out = putPackage(out, p, n, architectures, additions);
    else if (n.files.length > 0) out = putFileSet(out, file, n, architectures, additions);
    // The binary is that package's own file: the package whole, for the non-ELF files it may read.
    if (n.shippedBy) out = putPackage(out, n.shippedBy.package, n, architectures, additions, `the package whose ${n.shippedBy.path} the binary is`);
  }
  for (const set of [...new Set(needs.flatMap((n) => n.fileSets))].sort()) {
    // A hint is doctor's word about a built-in set; anything else is a bug there, not the user's manifest.
    if (!BUILTIN_FILE_SETS.includes(set)) throw new Error(`the needs of ${needs.filter((n) => n.fileSets.includes(set)).map((n) => n.binary).join(", ")} hint at file set ${JSON.stringify(set)}, which is not a built-in one`);
    const fileSets = (root(out).fileSets ?? {}) as Raw;
    if (Object.prototype.hasOwnProperty.call(fileSets, set)) continue;
    out = putFileSetMember(out, set, {});
    additions.push({ field: `fileSets.${set}`, action: "added", binary: needs.filter((n) => n.fileSets.includes(set)).map((n) => n.binary).join(", "), detail: `built-in file set ${set}` });
  }
  return { text: out, changed: out !== text, additions, manifest: parseManifest(out, file) };
}

/**
 * The file set name for a binary: its file name in lower case, each run of other characters
 * than letters and digits as "-" (the set-name rule, /^[a-z0-9][a-z0-9-]*$/), then
 * "-<architecture>" unless it already ends so: `./build/My_App` → `my-app-amd64`.
 */
export function fileSetName(binary: string, architecture: string): string {
  const base = path.posix.basename(binary).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "binary";
  return base.endsWith(`-${architecture}`) ? base : `${base}-${architecture}`;
}

/** A package request as `add` writes it: plain when the manifest builds one architecture, else scoped to the binary's. */
function requestEntry(name: string, arch: string, architectures: readonly string[]): string | { name: string; architectures: string[] } {
  return architectures.length === 1 ? name : { name, architectures: [arch] };
}

function root(text: string): Raw {
  return parseJsonWithPositions(text).value as Raw;
}

function putFileSet(text: string, file: string, n: BinaryNeeds, architectures: readonly string[], additions: ManifestAddition[]): string {
  const name = fileSetName(n.binary, n.architecture);
  const value = { packages: n.packages.map((p) => requestEntry(p, n.architecture, architectures)), paths: n.files.map((f) => exactGlob(f, n.binary)) };
  const detail = `${n.packages.length} ${n.packages.length === 1 ? "package" : "packages"} (${n.packages.join(", ")}), ${n.files.length} ${n.files.length === 1 ? "path" : "paths"}${architectures.length > 1 ? `, for ${n.architecture} only` : ""}`;
  const fileSets = (root(text).fileSets ?? {}) as Raw;
  if (!Object.prototype.hasOwnProperty.call(fileSets, name)) {
    additions.push({ field: `fileSets.${name}`, action: "added", binary: n.binary, detail });
    return putFileSetMember(text, name, value);
  }
  const existing = fileSets[name];
  if (canonicalJson(existing) === canonicalJson(value)) return text;
  if (!writtenByAdd(existing, n.architecture, architectures)) {
    throw new ManifestError(file, `fileSets.${name}`, `a file set of this name is already there, and it is not one add writes (exact paths, no excludes, packages ${architectures.length > 1 ? `for ${n.architecture} only` : "by name"}), so add will not replace it with what ${n.binary} needs`, {
      hint: `rename or remove fileSets.${name}, or rename the binary`,
    });
  }
  additions.push({ field: `fileSets.${name}`, action: "replaced", binary: n.binary, detail });
  return replaceValue(text, `/fileSets/${pointerSegment(name)}`, value);
}

function exactGlob(f: NeededFile, binary: string): string {
  const glob = escapeGlob(f.path);
  if (glob !== undefined) return glob;
  throw new ResolveError(`${binary} needs ${JSON.stringify(f.path)} of ${f.package}, and no path glob takes that path alone (picomatch reads two backslashes in a row as one)`, {
    hint: "add it with --whole, which takes the packages whole, or write a file set with a glob that takes it",
  });
}

/** Whether a file set could be one `add` wrote for a binary of `arch` (then a new add of that binary replaces it). */
function writtenByAdd(set: unknown, arch: string, architectures: readonly string[]): boolean {
  if (set === null || typeof set !== "object" || Array.isArray(set)) return false;
  const s = set as Raw;
  if (Object.keys(s).some((k) => k !== "packages" && k !== "paths" && k !== "exclude")) return false;
  if (s.exclude !== undefined && !(Array.isArray(s.exclude) && s.exclude.length === 0)) return false;
  const pathsOk = Array.isArray(s.paths) && s.paths.every((p) => typeof p === "string" && isLiteralGlob(p));
  const packagesOk = Array.isArray(s.packages) && s.packages.every((p) => {
    const name = typeof p === "string" ? p : (p as { name?: unknown }).name;
    return typeof name === "string" && canonicalJson(p) === canonicalJson(requestEntry(name, arch, architectures));
  });
  return pathsOk && packagesOk;
}

/** Adds `fileSets.<name>`: at its place in name order when the sets are in name order, else last. */
function putFileSetMember(text: string, name: string, value: unknown): string {
  const top = root(text);
  if (!Object.prototype.hasOwnProperty.call(top, "fileSets")) return putTopLevel(text, "fileSets", { [name]: value });
  const keys = Object.keys(top.fileSets as Raw);
  const sorted = keys.every((k, i) => i === 0 || keys[i - 1]! < k);
  return insertMember(text, "/fileSets", name, value, sorted ? keys.find((k) => k > name) : undefined);
}

/** Adds a top-level key at its usual place (TOP_LEVEL_ORDER), or last. */
function putTopLevel(text: string, key: string, value: unknown): string {
  const rank = TOP_LEVEL_ORDER.indexOf(key);
  const before = Object.keys(root(text)).find((k) => TOP_LEVEL_ORDER.indexOf(k) > rank);
  return insertMember(text, "", key, value, before);
}

/** `--whole`: the package requested at top level on the binary's architecture (a request already there is kept, its scope widened if needed). */
function putPackage(text: string, pkg: string, n: BinaryNeeds, architectures: readonly string[], additions: ManifestAddition[], why?: string): string {
  const top = root(text);
  const entries = (top.packages ?? []) as unknown[];
  const i = entries.findIndex((e) => (typeof e === "string" ? parsePackageSpec(e).name : (e as { name: string }).name) === pkg);
  if (i < 0) {
    additions.push({ field: `packages[${entries.length}]`, action: "added", binary: n.binary, detail: `${pkg}${architectures.length > 1 ? ` for ${n.architecture} only` : ""}${why ? ` (${why})` : ""}` });
    const entry = requestEntry(pkg, n.architecture, architectures);
    return Object.prototype.hasOwnProperty.call(top, "packages") ? appendElement(text, "/packages", entry) : putTopLevel(text, "packages", [entry]);
  }
  const scope = typeof entries[i] === "string" ? undefined : (entries[i] as { architectures?: string[] }).architectures;
  if (scope === undefined || scope.includes(n.architecture)) return text;
  additions.push({ field: `packages[${i}].architectures`, action: "extended", binary: n.binary, detail: `${pkg} also for ${n.architecture}` });
  return appendElement(text, `/packages/${i}/architectures`, n.architecture);
}

/** Needs that no package, or more than one, resolves: nothing is written, each is named. */
function refuseUnresolved(needs: readonly BinaryNeeds[]): void {
  const lines = needs.flatMap((n) =>
    n.unresolved.map((u) => {
      const by = u.neededBy.length > 0 ? ` (needed by ${u.neededBy.join(", ")})` : "";
      const why = u.candidates && u.candidates.length > 1 ? `shipped by ${u.candidates.join(", ")}: which one is for you to say` : `no package of the manifest's suites ships it${u.searched.length > 0 ? ` (looked for ${u.searched.join(", ")})` : ""}`;
      return `${n.binary}: ${u.name}${by}: ${why}`;
    }),
  );
  if (lines.length === 0) return;
  throw new ResolveError(`${lines.length === 1 ? "a need" : `${lines.length} needs`} of the binaries cannot be resolved, so nothing was written:\n  ${lines.join("\n  ")}`, {
    hint: "where several packages ship a file, write a file set naming the one you want (README, fileSets); where none does, the library is not in the manifest's suites: add the suite or component that has it, or ship the library with your binary",
  });
}
