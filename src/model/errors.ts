/**
 * Typed errors. Every error a user can see is a ScratchError: it carries the exit code the
 * README's "Commands" section documents and a message that names the file, field, package or URL involved
 * and says what to do. Anything else reaching the CLI is a bug (exit 70).
 */

export const EXIT = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  network: 3,
  /** Anything that is not a ScratchError: a bug in scratch-pkgs (BSD sysexits' EX_SOFTWARE). */
  internal: 70,
} as const;

export abstract class ScratchError extends Error {
  abstract readonly exitCode: number;
  /** A short machine-readable kind for --json output. */
  abstract readonly kind: string;
  /** Optional hint: what the user should do about it. */
  readonly hint: string | undefined;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** Bad command-line usage. Exit 2. */
export class UsageError extends ScratchError {
  readonly exitCode = EXIT.usage;
  readonly kind = "usage";
}

/** scratch.json is unreadable or invalid; `path` is the field path, e.g. `sources[1].suites[0]`. Exit 2. */
export class ManifestError extends ScratchError {
  readonly exitCode = EXIT.usage;
  readonly kind = "manifest";
  constructor(
    readonly file: string,
    readonly fieldPath: string,
    detail: string,
    options?: { hint?: string; cause?: unknown },
  ) {
    super(`${file}: ${fieldPath ? fieldPath + ": " : ""}${detail}`, options);
  }
}

/** scratch.lock is unreadable, invalid, or of an unsupported format version. Exit 2. */
export class LockfileError extends ScratchError {
  readonly exitCode = EXIT.usage;
  readonly kind = "lockfile";
}

/** The request cannot be satisfied by the archive (nothing provides a package, …). Exit 2. */
export class ResolveError extends ScratchError {
  readonly exitCode = EXIT.usage;
  readonly kind = "resolve";
}

/**
 * A security check failed: bad or missing signature, unknown/expired/revoked key, expired
 * Valid-Until, hash or size mismatch, a path escaping the layer. Never downgraded to a warning.
 * Exit 1.
 */
export class VerificationError extends ScratchError {
  readonly exitCode = EXIT.checkFailed;
  /** Subclasses name what failed more precisely (a .deb: "deb"). */
  readonly kind: string = "verification";
}

/**
 * A snapshot URL that cannot serve what the lock would pin (a release newer than its timestamp).
 * Exit 2: the manifest's URL is wrong for the state locked, not the archive.
 */
export class SnapshotMismatchError extends ScratchError {
  readonly exitCode = EXIT.usage;
  readonly kind = "snapshot";
}

/** A `--check` found a difference (stale lock, digest mismatch). Exit 1. */
export class CheckFailedError extends ScratchError {
  readonly exitCode = EXIT.checkFailed;
  readonly kind = "check";
}

/** Network failure after retries, HTTP error status, or a missing file in --offline mode. Exit 3. */
export class NetworkError extends ScratchError {
  readonly exitCode = EXIT.network;
  readonly kind = "network";
  constructor(
    message: string,
    readonly url: string | undefined,
    options?: { hint?: string; cause?: unknown; status?: number },
  ) {
    super(message, options);
    this.status = options?.status;
  }
  readonly status: number | undefined;
}

/** Local file-system failure (cannot read/write a file). Exit 3. */
export class IOError extends ScratchError {
  readonly exitCode = EXIT.network;
  readonly kind = "io";
}

/**
 * Bytes that break the rules of their format: corrupt compressed data, a malformed tar, a JSON
 * or deb822 syntax error. Deliberately not a ScratchError: the parser knows neither where the
 * bytes came from nor whether they were pinned by a hash or signature (a security failure) or
 * written by the user (an input error). The code where the bytes entered knows both and turns
 * the error into one of the two with `asVerificationError` or `asInputError`; a FormatError
 * that reaches the CLI unconverted is a bug (exit 70).
 */
export abstract class FormatError extends Error {
  constructor(
    /** What was malformed, as a user would call it: "xz data", "tar", "JSON", "deb822". */
    readonly format: string,
    /** What is wrong, e.g. "unterminated string". */
    readonly detail: string,
    /** Where in the bytes, e.g. "line 3, column 5"; undefined when the format has no positions. */
    readonly position: string | undefined,
    /** The whole message, standing alone (it names no file: that is the converter's job). */
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
  }

  /**
   * For bytes that passed their sha256 or signature check (an index, a Release): the source
   * itself is bad, retrying will not help. `source` is its URL or label. Exit 1.
   */
  asVerificationError(source: string, hint: string): VerificationError {
    return new VerificationError(`${source}: ${this.message}`, { hint, cause: this });
  }

  /** For the user's own files: scratch.json, scratch.lock, or a file named on the command line. Exit 2. */
  asInputError(file: string, input: "manifest" | "lockfile" | "argument", hint: string): ManifestError | LockfileError | UsageError {
    const options = { hint, cause: this };
    switch (input) {
      case "manifest":
        return new ManifestError(file, "", this.message, options);
      case "lockfile":
        return new LockfileError(`${file}: ${this.message}`, options);
      case "argument":
        return new UsageError(`${file}: ${this.message}`, options);
    }
  }
}

export function isScratchError(e: unknown): e is ScratchError {
  return e instanceof ScratchError;
}
