/**
 * Reads and validates scratch.lock. The format version is checked first (with semver against
 * LOCKFILE_SUPPORTED) so a lock from a newer scratch-pkgs gets "upgrade", not a schema error;
 * then the shape (schema.ts), then references between fields. Errors carry field paths.
 */
import { createRequire } from "node:module";
import { FormatError, IOError, LockfileError } from "../model/errors.js";
import { isValidVersion } from "../debian/version.js";
import { parseJsonWithPositions, type PositionedJson } from "../util/json.js";
import { compileSchema, firstProblem } from "../util/json-errors.js";
import { NotRegularFileError, readRegularFile } from "../util/regular-file.js";
import { lockfileSchema } from "./schema.js";
import { packagePath } from "./package-url.js";
import { checkUrl } from "../manifest/validate.js";
import { LOCKFILE_SUPPORTED, LOCKFILE_VERSION, type Lockfile } from "../model/lock.js";

const REGENERATE = "run `scratch-pkgs lock` to write a fresh scratch.lock";

let closedValidator: ReturnType<typeof compileSchema> | undefined;
let openValidator: ReturnType<typeof compileSchema> | undefined;

function fail(file: string, path: string, detail: string, hint = REGENERATE): LockfileError {
  return new LockfileError(`${file}: ${path ? path + ": " : ""}${detail}`, { hint });
}

export async function readLockfile(path: string): Promise<Lockfile> {
  return parseLockfile((await readLockfileBytes(path)).toString("utf8"), path);
}

/**
 * The lock's bytes (`image` hashes them), for every command that needs a lock: the one place
 * where a missing lock becomes a LockfileError (exit 2) and an unreadable one an IOError.
 */
export async function readLockfileBytes(path: string, hint = "run `scratch-pkgs lock` to create it, or pass its path with --lockfile FILE"): Promise<Buffer> {
  const bytes = await readLockfileBytesIfAny(path);
  if (bytes === undefined) throw new LockfileError(`${path}: no such lockfile`, { hint });
  return bytes;
}

/** Like readLockfileBytes, but undefined when there is no file at `path` (plain `lock` then writes one). */
export async function readLockfileBytesIfAny(path: string): Promise<Buffer | undefined> {
  try {
    return await readRegularFile(path);
  } catch (e) {
    if (e instanceof NotRegularFileError) throw new LockfileError(`${path}: is ${e.kind}, not a lockfile`, { hint: "pass the lockfile's path with --lockfile FILE", cause: e });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new IOError(`${path}: cannot read the lockfile: ${(e as Error).message}`, { hint: "check the file's permissions", cause: e });
  }
}

export function parseLockfile(text: string, file: string): Lockfile {
  // JSON.parse is several times faster; the position-keeping parser is only needed to locate
  // a syntax error or to order validation errors, so it runs only then.
  let root: unknown;
  let positioned: PositionedJson | undefined;
  const withPositions = (): PositionedJson => {
    if (positioned) return positioned;
    try {
      positioned = parseJsonWithPositions(text);
      return positioned;
    } catch (e) {
      if (e instanceof FormatError) throw e.asInputError(file, "lockfile", `the lock is written by scratch-pkgs; if it was edited or merged by hand, ${REGENERATE}`);
      throw e;
    }
  };
  try {
    root = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    root = withPositions().value;
  }
  if (root === null || typeof root !== "object" || Array.isArray(root)) throw fail(file, "", "must be a JSON object");
  const version = (root as Record<string, unknown>)["lockfileVersion"];
  if (version === undefined) throw fail(file, "lockfileVersion", 'missing required key "lockfileVersion"; this does not look like a scratch.lock');
  // The format this build writes (LOCKFILE_SUPPORTED includes it: test/lock/read.test.ts) is
  // read the closed way; any other version is judged by semver.
  const closed = version === LOCKFILE_VERSION || checkOtherVersion(version, file);
  const validate = closed ? (closedValidator ??= compileSchema(lockfileSchema(true))) : (openValidator ??= compileSchema(lockfileSchema(false)));
  if (!validate(root)) {
    const doc = withPositions();
    validate(doc.value); // errors whose data refer to the positioned copy
    const p = firstProblem(validate.errors ?? [], doc);
    if (p) throw fail(file, p.path, p.detail, p.hint ?? REGENERATE);
  }
  const lock = root as Lockfile;
  checkReferences(lock, file);
  return lock;
}

/**
 * A lockfileVersion other than LOCKFILE_VERSION: a FormatError unless this build reads it, and
 * whether to read it the closed way (not newer than this build's format). semver is loaded only
 * here (~20 ms of a warm start, which reads this build's own format).
 */
function checkOtherVersion(version: unknown, file: string): boolean {
  const require = createRequire(import.meta.url);
  const valid = require("semver/functions/valid.js") as typeof import("semver/functions/valid.js");
  const satisfies = require("semver/functions/satisfies.js") as typeof import("semver/functions/satisfies.js");
  const major = require("semver/functions/major.js") as typeof import("semver/functions/major.js");
  const gt = require("semver/functions/gt.js") as typeof import("semver/functions/gt.js");
  if (typeof version !== "string" || valid(version) === null) {
    throw fail(file, "lockfileVersion", `${JSON.stringify(version)} is not a valid lockfile version (expected a semantic version such as "${LOCKFILE_VERSION}")`);
  }
  if (!satisfies(version, LOCKFILE_SUPPORTED, { includePrerelease: true })) {
    if (major(version) > major(LOCKFILE_VERSION)) {
      throw fail(file, "lockfileVersion", `format ${version} was made by a newer scratch-pkgs (this one reads ${LOCKFILE_SUPPORTED}); upgrade`, "upgrade scratch-pkgs, or regenerate the lock with this version using `scratch-pkgs lock`");
    }
    throw fail(file, "lockfileVersion", `format ${version} is older than this scratch-pkgs reads (${LOCKFILE_SUPPORTED})`);
  }
  // A newer minor may add optional fields this build does not know; it must still read the rest.
  return !gt(version, LOCKFILE_VERSION);
}

/**
 * Rules between fields: source URLs are base URLs as a manifest gives them, versions parse,
 * packages name a locked source and suite and lie under that source's URL, requests name only
 * the lock's architectures, each path origin names a package of its architecture, and there is
 * at least one architecture (an empty lock would build
 * nothing and audit nothing, with exit 0).
 */
function checkReferences(lock: Lockfile, file: string): void {
  const sources = new Map<string, { url: string; suites: Set<string> }>();
  lock.sources.forEach((s, i) => {
    if (sources.has(s.name)) throw fail(file, `sources[${i}].name`, `duplicate source ${JSON.stringify(s.name)}`);
    const urlProblem = checkUrl(s.url) ?? (s.url.endsWith("/") ? `${JSON.stringify(s.url)} ends with "/", which a lock never writes` : undefined);
    if (urlProblem) throw fail(file, `sources[${i}].url`, `source ${s.name}: ${urlProblem}`);
    sources.set(s.name, { url: s.url, suites: new Set(s.suites.map((x) => x.suite)) });
  });
  const arches = Object.keys(lock.architectures).sort();
  if (arches.length === 0) throw fail(file, "architectures", "lists no architecture, so there is nothing to build or audit");
  (lock.requests ?? []).forEach((r, i) => {
    const unknown = (r.architectures ?? []).find((a) => !lock.architectures[a]);
    if (unknown !== undefined) throw fail(file, `requests[${i}].architectures`, `request ${r.reason} (${r.name}) names architecture ${JSON.stringify(unknown)}, which the lock's "architectures" does not have (it has ${arches.join(", ")})`);
  });
  for (const arch of arches) {
    lock.architectures[arch]!.packages.forEach((p, i) => {
      const where = `architectures.${arch}.packages[${i}]`;
      if (!isValidVersion(p.version)) throw fail(file, `${where}.version`, `${JSON.stringify(p.version)} is not a valid Debian version (package ${p.name})`);
      const known = sources.get(p.source);
      if (!known) throw fail(file, `${where}.source`, `package ${p.name} names source ${JSON.stringify(p.source)}, which the lock's "sources" does not list`);
      if (!known.suites.has(p.suite)) throw fail(file, `${where}.suite`, `package ${p.name} names suite ${JSON.stringify(p.suite)}, which source ${JSON.stringify(p.source)} does not list`);
      const under = packagePath(known.url, p.url);
      if ("problem" in under) throw fail(file, `${where}.url`, `package ${p.name} (${arch}): ${under.problem}`);
    });
    const locked = lock.architectures[arch]!;
    (locked.paths ?? []).forEach((o, i) => {
      if (!locked.packages.some((p) => p.name === o.package)) throw fail(file, `architectures.${arch}.paths[${i}].package`, `path ${o.path} (file set ${o.set}) names package ${JSON.stringify(o.package)}, which architecture ${arch} does not lock`);
    });
  }
}
