/**
 * The OCI image configuration of one architecture, as pure functions: the user's flags plus
 * what the lock implies (nonroot user with the base set, SSL_CERT_FILE with ca-certificates,
 * TZ with tzdata), serialised with a fixed key order so the same inputs give the same bytes.
 */
import type { Lockfile } from "../model/lock.js";
import { UsageError } from "../model/errors.js";
import { GROUP, PASSWD } from "../derive/base-files.js";
import { accountNames, checkImageUser, type Accounts } from "./user.js";
import { ARCHITECTURES, architecture } from "../debian/architectures.js";
import { BASE_RECIPE, CA_CERTS_RECIPE, TZDATA_RECIPE } from "../model/builtin-file-sets.js";

/** The OCI/Go name of a Debian architecture, with the ARM variant where one applies. */
export interface OciPlatform {
  architecture: string;
  os: "linux";
  variant?: string;
}

export function ociPlatform(debianArch: string): OciPlatform {
  const p = architecture(debianArch)?.oci;
  if (!p) {
    throw new UsageError(`no OCI platform is known for the Debian architecture ${debianArch}`, {
      hint: `images can be made for ${Object.keys(ARCHITECTURES).filter((a) => ARCHITECTURES[a]!.oci).join(", ")}; pick those with --arch`,
    });
  }
  return { architecture: p.architecture, os: "linux", ...(p.variant ? { variant: p.variant } : {}) };
}

/** The variant an OCI platform means when it names none, as containerd normalises it. */
const DEFAULT_VARIANT: Readonly<Record<string, string>> = { arm: "v7", arm64: "v8" };

/**
 * The Debian architecture of an OCI platform, "linux/arm64" or "linux/arm/v7", so that
 * --platform picks the same image --arch does.
 */
export function debianArchOfPlatform(platform: string): string {
  const [os, arch, variant, ...rest] = platform.split("/");
  const known = Object.keys(ARCHITECTURES)
    .filter((a) => ARCHITECTURES[a]!.oci)
    .map((a) => platformName(ociPlatform(a)));
  const hint = `give linux/ARCH[/VARIANT] of a Debian architecture: ${known.join(", ")}; or the Debian name with --arch`;
  if (os !== "linux" || !arch || rest.length > 0) throw new UsageError(`--platform ${platform} is not an OS/ARCH[/VARIANT] of linux`, { hint });
  const want = variant ?? DEFAULT_VARIANT[arch];
  const found = Object.keys(ARCHITECTURES).find((a) => {
    const oci = ARCHITECTURES[a]!.oci;
    return oci !== undefined && oci.architecture === arch && oci.variant === want;
  });
  if (!found) throw new UsageError(`--platform ${platform} is no platform of a Debian architecture`, { hint });
  return found;
}

/** "linux/arm64/v8": the platform as --platform and docker write it. */
export function platformName(p: OciPlatform): string {
  return [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join("/");
}

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
const NONROOT_USER = "65532:65532";

/**
 * An exec-form command from the flag values: one value that is a JSON array of strings, or
 * several values taken as the argv. A single string with whitespace, or anything that starts
 * with "sh -c", is shell form, which a FROM-scratch image cannot run: refused.
 */
export function parseExecForm(flag: string, values: readonly string[]): string[] | undefined {
  if (values.length === 0) return undefined;
  const shellHint = `give the exec form: --${flag} '["/app","--flag"]' (a JSON array) or repeat --${flag} once per argument; the image has no shell, so a shell-form command cannot run`;
  if (values.length === 1) {
    const v = values[0]!;
    const t = v.trim();
    if (t.startsWith("[")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(t);
      } catch (e) {
        throw new UsageError(`--${flag} ${v} is not valid JSON: ${(e as Error).message}`, { hint: shellHint });
      }
      if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((x) => typeof x === "string")) {
        throw new UsageError(`--${flag} ${v} must be a non-empty JSON array of strings`, { hint: shellHint });
      }
      const argv = parsed as string[];
      if (isShellInvocation(argv)) throw shellForm(flag, v, shellHint);
      return argv;
    }
    if (/\s/.test(v)) throw shellForm(flag, v, shellHint);
    if (v === "") throw new UsageError(`--${flag} is empty`, { hint: shellHint });
    return [v];
  }
  if (isShellInvocation(values)) throw shellForm(flag, values.join(" "), shellHint);
  return [...values];
}

function isShellInvocation(argv: readonly string[]): boolean {
  // ["sh", "-c", …], ["/bin/bash", "-c", …], or one element "sh -c …".
  return /^(\S*\/)?(ba|da|a)?sh\s+-c(\s|$)/.test(argv.join(" ").trim());
}

function shellForm(flag: string, value: string, hint: string): UsageError {
  return new UsageError(`--${flag} ${JSON.stringify(value)} is a shell-form command, but the image has no shell (/bin/sh) to run it`, { hint });
}

/** "K=V" pairs, validated; later values of a key replace earlier ones, in place. */
export function parseKeyValues(flag: string, values: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const kv of values) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${flag} ${JSON.stringify(kv)} is not KEY=VALUE`, { hint: `e.g. --${flag} ${flag === "env" ? "LANG=C.UTF-8" : "org.opencontainers.image.source=https://example.com/app"}` });
    out.push([kv.slice(0, eq), kv.slice(eq + 1)]);
  }
  return out;
}

/** What the lock implies for one architecture: which recipes its derivations include. */
export interface LockFacts {
  hasBase: boolean;
  hasCaCertificates: boolean;
  /** The tzdata recipe's timezone option, when the recipe is present. */
  timezone: string | undefined;
}

/** A file carrier has no lock, so nothing Debian-derived: no nonroot user, no SSL_CERT_FILE, no TZ. */
export const NO_LOCK_FACTS: LockFacts = { hasBase: false, hasCaCertificates: false, timezone: undefined };

export function lockFacts(lock: Lockfile, arch: string): LockFacts {
  const ds = lock.architectures[arch]?.derivations ?? [];
  const tz = ds.find((d) => d.recipe === TZDATA_RECIPE);
  return {
    hasBase: ds.some((d) => d.recipe === BASE_RECIPE),
    hasCaCertificates: ds.some((d) => d.recipe === CA_CERTS_RECIPE),
    timezone: tz ? String(tz.options.timezone ?? "UTC") : undefined,
  };
}

export interface ConfigFlags {
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  /** Undefined: the default (nonroot with the base set, else none). */
  user: string | undefined;
  env: Array<[string, string]>;
  workdir: string | undefined;
  labels: Array<[string, string]>;
}

/** Env: the defaults the lock implies, then each --env replacing a key in place or appending. */
export function imageEnv(facts: LockFacts, overrides: ReadonlyArray<[string, string]>): string[] {
  const env: Array<[string, string]> = [["PATH", DEFAULT_PATH]];
  if (facts.hasCaCertificates) env.push(["SSL_CERT_FILE", CA_BUNDLE]);
  if (facts.timezone !== undefined) env.push(["TZ", facts.timezone]);
  for (const [k, v] of overrides) {
    const at = env.findIndex(([key]) => key === k);
    if (at >= 0) env[at] = [k, v];
    else env.push([k, v]);
  }
  return env.map(([k, v]) => `${k}=${v}`);
}

/** The accounts of the lock's layer: the base set's /etc/passwd and /etc/group, when it has the set. */
export function lockAccounts(facts: LockFacts): Accounts {
  return facts.hasBase ? { users: { names: accountNames(PASSWD) }, groups: { names: accountNames(GROUP) } } : { users: undefined, groups: undefined };
}

/** `accounts`: the image's (accountsOver the --add layers); default: the lock's layer's alone. */
export function imageUser(facts: LockFacts, flag: string | undefined, accounts: Accounts = lockAccounts(facts)): string | undefined {
  if (flag !== undefined) {
    checkImageUser(flag, accounts);
    return flag === "" ? undefined : flag;
  }
  return facts.hasBase ? NONROOT_USER : undefined;
}

export interface HistoryEntry {
  created_by: string;
  comment?: string;
}

export interface ConfigInput {
  platform: OciPlatform;
  /** Seconds since the epoch (the lock's sourceDateEpoch). */
  created: number;
  facts: LockFacts;
  /** The image's /etc/passwd and /etc/group, for --user names; default: the lock's layer's. */
  accounts?: Accounts;
  flags: ConfigFlags;
  diffIds: string[];
  history: HistoryEntry[];
}

/** RFC 3339 UTC, whole seconds: "2024-01-02T03:04:05Z". */
export function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The config JSON object, keys in a fixed order (JSON.stringify keeps insertion order). */
export function imageConfig(input: ConfigInput): Record<string, unknown> {
  const { flags } = input;
  const created = rfc3339(input.created);
  const user = imageUser(input.facts, flags.user, input.accounts);
  const config: Record<string, unknown> = {};
  if (user !== undefined) config.User = user;
  config.Env = imageEnv(input.facts, flags.env);
  if (flags.entrypoint) config.Entrypoint = flags.entrypoint;
  if (flags.cmd) config.Cmd = flags.cmd;
  if (flags.workdir) config.WorkingDir = flags.workdir;
  if (flags.labels.length > 0) config.Labels = Object.fromEntries([...new Map(flags.labels)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const out: Record<string, unknown> = {
    created,
    architecture: input.platform.architecture,
    ...(input.platform.variant ? { variant: input.platform.variant } : {}),
    os: input.platform.os,
    config,
    rootfs: { type: "layers", diff_ids: input.diffIds },
    history: input.history.map((h) => ({ created, created_by: h.created_by, ...(h.comment ? { comment: h.comment } : {}) })),
  };
  return out;
}
