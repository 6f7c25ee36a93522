/**
 * The built-in file sets, in one table that the manifest, the resolver, the layer's
 * derivations and the image configuration read: per set, the packages and paths it takes,
 * whether their dependencies follow the manifest's policy, the options it takes in
 * scratch.json, and the derivation it adds to the layer. Data-only sets (ca-certs, tzdata,
 * base) never pull dependencies: ca-certificates depends on openssl and debconf only for its
 * maintainer scripts, which a FROM-scratch image does not run; what those scripts would
 * generate is a derivation instead.
 */

/** Paths nobody wants in a scratch image unless they ask for them. */
export const DEFAULT_EXCLUDE: readonly string[] = [
  "/usr/share/doc/**",
  "/usr/share/doc-base/**",
  "/usr/share/man/**",
  "/usr/share/info/**",
  "/usr/share/lintian/**",
  "/usr/share/bug/**",
];

export interface BuiltinPackage {
  name: string;
  include: readonly string[];
  exclude: readonly string[];
}

export interface BuiltinFileSetSpec {
  packages: readonly BuiltinPackage[];
  /** Whether the dependencies of these packages are resolved by the manifest's policy. */
  followDependencies: boolean;
  /** The options the set takes in scratch.json ("fileSets": {"tzdata": {"timezone": …}}). */
  options: readonly string[];
  /** The derivation recipes the set adds to the layer, in order, each with its lock options from the set's. */
  derivations: readonly SetDerivation[];
}

export interface SetDerivation {
  recipe: string;
  options(set: { timezone?: string }): Record<string, string | number | boolean>;
}

const LIBC_INCLUDE = ["/lib/**", "/lib64/**", "/lib32/**", "/usr/lib/**", "/usr/lib64/**", "/usr/lib32/**"];

/** Keys in byte order: derivations run in this order (base, ca-certs, tzdata), each set's in its list's. */
export const BUILTIN_FILE_SET_TABLE = {
  base: {
    packages: [
      // /etc/os-release is a link to ../usr/lib/os-release; /etc/debian_version is what scanners
      // such as Trivy read to know the layer is Debian, and which release.
      { name: "base-files", include: ["/etc/debian_version", "/etc/os-release", "/usr/lib/os-release"], exclude: [] },
      { name: "netbase", include: ["/etc/services", "/etc/protocols", "/etc/rpc", "/etc/ethertypes"], exclude: [] },
    ],
    followDependencies: false,
    options: [],
    derivations: [{ recipe: "base", options: () => ({}) }],
  },
  "ca-certs": {
    packages: [{ name: "ca-certificates", include: ["/usr/share/ca-certificates/**"], exclude: DEFAULT_EXCLUDE }],
    followDependencies: false,
    options: [],
    // openssl-paths: OpenSSL's default CA paths (/usr/lib/ssl/…) when the layer has libssl or libcrypto.
    derivations: [
      { recipe: "ca-certificates", options: () => ({ links: true }) },
      { recipe: "openssl-paths", options: () => ({}) },
    ],
  },
  libc: {
    packages: [{ name: "libc6", include: LIBC_INCLUDE, exclude: DEFAULT_EXCLUDE }],
    followDependencies: true,
    options: [],
    derivations: [],
  },
  tzdata: {
    packages: [{ name: "tzdata", include: ["/usr/share/zoneinfo/**"], exclude: DEFAULT_EXCLUDE }],
    followDependencies: false,
    options: ["timezone"],
    derivations: [{ recipe: "tzdata", options: (set) => ({ timezone: set.timezone ?? "UTC" }) }],
  },
} as const satisfies Record<string, BuiltinFileSetSpec>;

/** The names, sorted. */
export const BUILTIN_FILE_SETS: readonly string[] = Object.keys(BUILTIN_FILE_SET_TABLE).sort();

/** The built-in set of this name, if it is one. */
export function builtinFileSetSpec(name: string): BuiltinFileSetSpec | undefined {
  return Object.hasOwn(BUILTIN_FILE_SET_TABLE, name) ? (BUILTIN_FILE_SET_TABLE as Record<string, BuiltinFileSetSpec>)[name] : undefined;
}

/** The recipe names of the sets' derivations, for the recipes and for what the image infers. */
export const BASE_RECIPE = BUILTIN_FILE_SET_TABLE.base.derivations[0].recipe;
export const CA_CERTS_RECIPE = BUILTIN_FILE_SET_TABLE["ca-certs"].derivations[0].recipe;
export const OPENSSL_PATHS_RECIPE = BUILTIN_FILE_SET_TABLE["ca-certs"].derivations[1].recipe;
export const TZDATA_RECIPE = BUILTIN_FILE_SET_TABLE.tzdata.derivations[0].recipe;
