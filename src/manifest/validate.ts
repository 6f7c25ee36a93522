/**
 * scratch.json text → Manifest, pure (no file-system access). Reports the first problem in
 * document order as a ManifestError with a field path. Schema shape first (schema.ts), then the
 * rules a schema cannot say, then defaults and normalisation.
 */
import path from "node:path";
import { FormatError, ManifestError } from "../model/errors.js";
import { isValidVersion } from "../debian/version.js";
import { parseJsonWithPositions, pointerSegment, type PositionedJson } from "../util/json.js";
import { compileSchema, firstProblem, type Problem, type Wording } from "../util/json-errors.js";
import { didYouMean } from "../util/did-you-mean.js";
import { MANIFEST_SCHEMA } from "./schema.js";
import { BUILTIN_FILE_SETS, builtinFileSetSpec } from "../model/builtin-file-sets.js";
import { type FileSet, type Manifest, type ManifestSource, type PackageSpec, type RequestScope, type SetPackage } from "../model/manifest.js";
import { isPackageName, PACKAGE_NAME_RULE } from "../debian/package-name.js";
import { isNormalFilePath } from "../debian/contents-lookup.js";
import { createRequire } from "node:module";

let validator: ReturnType<typeof compileSchema> | undefined;

/** Raw shapes as the schema guarantees them. */
interface RawSource {
  name: string;
  url: string;
  suites: string[];
  components?: string[];
  keyring: string;
  allowExpired?: boolean;
}
interface RawScope {
  architectures?: string[];
  optional?: boolean;
}
type RawSetPackage = string | ({ name: string } & RawScope);
type RawPackage = string | ({ name: string; version?: string } & RawScope);
interface RawManifest {
  sources: RawSource[];
  architectures: string[];
  policy?: "none" | "closure";
  fileSets?: Record<string, { timezone?: string; packages?: RawSetPackage[]; paths?: string[]; exclude?: string[]; architectures?: string[] }>;
  packages?: RawPackage[];
  dpkgStatus?: boolean;
  copyright?: boolean;
}

const BUILTINS = BUILTIN_FILE_SETS;
const BUILTINS_ARE = `built-in sets are ${BUILTINS.map((b) => JSON.stringify(b)).join(", ")}`;

const wording: Wording = {
  required(p, key) {
    const m = /^fileSets\.([^.[]+)$/.exec(p);
    if (!m || key !== "paths") return undefined;
    return {
      detail: `a user-defined file set needs "paths": absolute path globs to take from its "packages", or, without "packages", exact paths whose packages lock finds through the archive's Contents index`,
      hint: BUILTINS_ARE,
    };
  },
  // Checked before the user-set rules: "tzdat" is far likelier a typo of "tzdata" than a set of one's own.
  misnamed(p, value) {
    const m = /^fileSets\.([^.[]+)$/.exec(p);
    // A set with "packages" or "paths" is meant as one's own, whatever its name.
    const own = value !== null && typeof value === "object" && ("packages" in value || "paths" in value);
    const near = m && !own && !BUILTINS.includes(m[1]!) ? didYouMean(m[1]!, BUILTINS) : undefined;
    if (near === undefined) return undefined;
    return {
      detail: `there is no built-in file set ${JSON.stringify(m![1])}: did you mean ${JSON.stringify(near)}? (a set of your own needs "paths", and "packages" unless its paths are exact)`,
      hint: BUILTINS_ARE,
    };
  },
  unknownKey(p, key) {
    const m = /^fileSets\.([^.[]+)$/.exec(p);
    if (!m || !BUILTINS.includes(m[1]!)) return undefined;
    const set = m[1]!;
    const options = builtinFileSetSpec(set)!.options;
    const takes = options.length > 0 ? `takes only ${options.map((o) => JSON.stringify(o)).join(", ")}` : "takes no options";
    return `built-in file set ${JSON.stringify(set)} ${takes}, not ${JSON.stringify(key)}; give your set another name to choose its own packages and paths`;
  },
};

/** Parse and validate manifest text. `file` names the file in error messages. */
export function parseManifest(text: string, file: string): Manifest {
  let doc: PositionedJson;
  try {
    doc = parseJsonWithPositions(text);
  } catch (e) {
    if (e instanceof FormatError) throw e.asInputError(file, "manifest", "fix the JSON syntax (no comments, no trailing commas, double-quoted keys and strings)");
    throw e;
  }
  validator ??= compileSchema(MANIFEST_SCHEMA);
  if (!validator(doc.value)) {
    const p = firstProblem(validator.errors ?? [], doc, wording);
    if (p) throw toError(file, p);
  }
  const raw = doc.value as RawManifest;
  const issues = semanticProblems(raw, doc);
  issues.sort((a, b) => a.at - b.at);
  if (issues[0]) throw toError(file, issues[0]);
  if ((raw.packages ?? []).length === 0 && Object.keys(raw.fileSets ?? {}).length === 0) {
    throw new ManifestError(file, "fileSets", 'nothing is requested: add a file set (e.g. "fileSets": { "libc": {} }) or a package to "packages"');
  }
  return normalise(raw);
}

function toError(file: string, p: Problem): ManifestError {
  return new ManifestError(file, p.path, p.detail, p.hint !== undefined ? { hint: p.hint } : undefined);
}

/** A top-level entry as a spec: a string "name" or "name=version", or the object form. */
function packageSpecOf(entry: RawPackage): PackageSpec {
  if (typeof entry === "string") return parsePackageSpec(entry);
  return { name: entry.name, ...(entry.version !== undefined ? { version: entry.version } : {}), ...scopeOf(entry) };
}

/** The scope as the model keeps it: absent fields for "everywhere" and "required". */
function scopeOf(raw: RawScope): RequestScope {
  return { ...(raw.architectures ? { architectures: [...raw.architectures] } : {}), ...(raw.optional ? { optional: true as const } : {}) };
}

function setPackageOf(entry: RawSetPackage): SetPackage {
  if (typeof entry === "string") return entry;
  const scope = scopeOf(entry);
  return Object.keys(scope).length === 0 ? entry.name : { name: entry.name, ...scope };
}

/** Splits "name" or "name=version". */
export function parsePackageSpec(s: string): PackageSpec {
  const eq = s.indexOf("=");
  return eq < 0 ? { name: s } : { name: s.slice(0, eq), version: s.slice(eq + 1) };
}

function semanticProblems(raw: RawManifest, doc: PositionedJson): Problem[] {
  const out: Problem[] = [];
  const at = (ptr: string): number => doc.valueAt.get(ptr) ?? 0;

  const seen = new Map<string, number>();
  raw.sources.forEach((s, i) => {
    const prev = seen.get(s.name);
    if (prev !== undefined) {
      out.push({ path: `sources[${i}].name`, detail: `duplicate source name ${JSON.stringify(s.name)} (also sources[${prev}].name); give each source its own name`, at: at(`/sources/${i}/name`) });
    } else seen.set(s.name, i);
    const urlProblem = checkUrl(s.url);
    if (urlProblem) out.push({ path: `sources[${i}].url`, detail: urlProblem, at: at(`/sources/${i}/url`) });
  });

  raw.architectures.forEach((a, i) => {
    if (a === "all") {
      out.push({ path: `architectures[${i}]`, detail: '"all" is not a machine architecture; name real ones such as "amd64" (arch-all packages are taken for each of them)', at: at(`/architectures/${i}`) });
    }
  });

  // A scope may name only architectures the manifest builds: another is a typo or a leftover.
  const scopeProblems = (entry: RawSetPackage, p: string, ptr: string): void => {
    if (typeof entry === "string") return;
    (entry.architectures ?? []).forEach((a, j) => {
      if (raw.architectures.includes(a)) return;
      const near = didYouMean(a, raw.architectures);
      out.push({
        path: `${p}.architectures[${j}]`,
        detail: `${JSON.stringify(a)} is not an architecture this manifest builds${near ? ` (did you mean ${JSON.stringify(near)}?)` : ""}; it builds ${raw.architectures.map((x) => JSON.stringify(x)).join(", ")}`,
        hint: `name only architectures listed in "architectures", or add ${JSON.stringify(a)} there`,
        at: at(`${ptr}/architectures/${j}`),
      });
    });
  };

  for (const [set, v] of Object.entries(raw.fileSets ?? {})) {
    if (v.paths !== undefined && v.packages === undefined) out.push(...pathOnlyProblems(set, v.paths, v.exclude, at));
    if (v.architectures !== undefined) {
      const ptr = `/fileSets/${pointerSegment(set)}`;
      if (v.packages !== undefined) {
        out.push({
          path: `fileSets.${set}.architectures`,
          detail: `file set ${JSON.stringify(set)} names "packages": scope each of them instead (a set's own "architectures" is for a set of paths alone)`,
          hint: 'write the package as {"name": "NAME", "architectures": ["amd64"]}, or remove "architectures"',
          at: at(`${ptr}/architectures`),
        });
      } else scopeProblems({ name: set, architectures: v.architectures }, `fileSets.${set}`, ptr);
    }
    const names = new Map<string, number>();
    (v.packages ?? []).forEach((entry, i) => {
      const p = `fileSets.${set}.packages[${i}]`;
      const ptr = `/fileSets/${pointerSegment(set)}/packages/${i}`;
      scopeProblems(entry, p, ptr);
      const name = typeof entry === "string" ? entry : entry.name;
      const prev = names.get(name);
      if (prev !== undefined) out.push({ path: p, detail: `package ${JSON.stringify(name)} is listed twice (also fileSets.${set}.packages[${prev}]); keep one entry`, at: at(ptr) });
      else names.set(name, i);
    });
  }

  const seenPkg = new Map<string, number>();
  (raw.packages ?? []).forEach((entry, i) => {
    const { name, version } = packageSpecOf(entry);
    const p = `packages[${i}]`;
    const where = at(`/packages/${i}`);
    scopeProblems(entry, p, `/packages/${i}`);
    if (typeof entry !== "string" && version !== undefined && !isValidVersion(version)) {
      out.push({ path: `${p}.version`, detail: `${JSON.stringify(version)} is not a valid Debian version for ${name}; write "[epoch:]upstream[-revision]", e.g. "1:1.2.13.dfsg-1"`, at: at(`/packages/${i}/version`) });
      return;
    }
    if (!isPackageName(name)) {
      out.push({ path: p, detail: `${JSON.stringify(name)} is not a valid Debian package name: use ${PACKAGE_NAME_RULE}; write "name" or "name=version"`, at: where });
      return;
    }
    if (version !== undefined && !isValidVersion(version)) {
      out.push({ path: p, detail: `${JSON.stringify(version)} is not a valid Debian version for ${name}; write "name=[epoch:]upstream[-revision]", e.g. "zlib1g=1:1.2.13.dfsg-1"`, at: where });
      return;
    }
    const prev = seenPkg.get(name);
    if (prev !== undefined) {
      out.push({ path: p, detail: `package ${JSON.stringify(name)} is listed twice (also packages[${prev}]); keep one entry`, at: where });
    } else seenPkg.set(name, i);
  });
  return out;
}

/**
 * A set without "packages" names each path's package through the Contents index, which lists
 * exact paths: a glob would have to be matched against every line of every index (and could take
 * any number of packages), so it is refused, as is "exclude", which has nothing to leave out.
 */
function pathOnlyProblems(set: string, paths: string[], exclude: string[] | undefined, at: (ptr: string) => number): Problem[] {
  const out: Problem[] = [];
  const ptr = `/fileSets/${pointerSegment(set)}`;
  paths.forEach((p, i) => {
    const why = exactPathProblem(p);
    if (why === undefined) return;
    out.push({
      path: `fileSets.${set}.paths[${i}]`,
      detail: `file set ${JSON.stringify(set)} names no "packages", so its paths must be exact file paths for the archive's Contents index to look up, and ${JSON.stringify(p)} ${why}`,
      hint: `write the exact path (e.g. "/usr/lib/x86_64-linux-gnu/libssl.so.3"), or add "packages" to take a glob from named packages`,
      at: at(`${ptr}/paths/${i}`),
    });
  });
  if (exclude !== undefined && exclude.length > 0) {
    out.push({
      path: `fileSets.${set}.exclude`,
      detail: `file set ${JSON.stringify(set)} names no "packages": its exact paths leave nothing to exclude`,
      hint: 'remove "exclude", or the paths it would leave out',
      at: at(`${ptr}/exclude`),
    });
  }
  return out;
}

/** Why `p` is not an exact file path (picomatch would read it as a glob, or it is not normal), or undefined. */
function exactPathProblem(p: string): string | undefined {
  // Loaded only for a path-only set: a warm lock of any other manifest does not pay for it.
  const picomatch = createRequire(import.meta.url)("picomatch") as typeof import("picomatch");
  if (picomatch.scan(p).isGlob || p.includes("\\")) return "is a glob (it has glob syntax or a backslash)";
  if (!isNormalFilePath(p)) return 'is not a normal absolute file path (no trailing "/", no empty, "." or ".." segment)';
  return undefined;
}

/** Why a source URL is unusable, or undefined when it is fine. */
export function checkUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a valid URL; use an http(s) base URL such as "https://mirror.example/debian"`;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `${JSON.stringify(url)} must use http or https`;
  if (u.hostname === "") return `${JSON.stringify(url)} has no host name`;
  if (u.search !== "" || u.hash !== "" || url.includes("?") || url.includes("#")) return `${JSON.stringify(url)} must not have a query or fragment; give the archive's base URL`;
  if (u.username !== "" || u.password !== "") return `${JSON.stringify(url)} contains credentials; remove them (the URL is recorded in scratch.lock)`;
  return undefined;
}

export function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function normalise(raw: RawManifest): Manifest {
  const sources: ManifestSource[] = raw.sources.map((s) => ({
    name: s.name,
    url: stripTrailingSlash(s.url),
    suites: [...s.suites],
    components: s.components ? [...s.components] : ["main"],
    keyring: path.posix.normalize(s.keyring),
    allowExpired: s.allowExpired ?? false,
  }));
  const fileSets: FileSet[] = Object.keys(raw.fileSets ?? {})
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name): FileSet => {
      const v = raw.fileSets![name]!;
      switch (name) {
        case "libc":
        case "ca-certs":
        case "base":
          return { kind: name, name };
        case "tzdata":
          return { kind: "tzdata", name: "tzdata", timezone: v.timezone ?? "UTC" };
        default:
          return {
            kind: "user",
            name,
            ...(v.packages ? { packages: v.packages.map(setPackageOf) } : {}),
            paths: [...v.paths!],
            exclude: [...(v.exclude ?? [])],
            ...(v.architectures ? { architectures: [...v.architectures] } : {}),
          };
      }
    });
  return {
    sources,
    architectures: [...raw.architectures],
    policy: raw.policy ?? "none",
    fileSets,
    packages: (raw.packages ?? []).map(packageSpecOf),
    dpkgStatus: raw.dpkgStatus ?? true,
    copyright: raw.copyright ?? true,
  };
}
