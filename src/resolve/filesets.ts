/**
 * Built-in file sets: which packages each one takes, which of their paths, and whether their
 * dependencies follow the manifest's policy. Data-only sets (ca-certs, tzdata, base) never pull
 * dependencies: ca-certificates depends on openssl and debconf only for its maintainer
 * scripts, which a FROM-scratch image does not run; the files those scripts would generate are
 * derivations instead (see the layer stage).
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

export interface FileSetPackage {
  name: string;
  include: string[];
  exclude: string[];
  /** Optional packages may be absent on some architectures without failing the lock. */
  optional?: boolean;
}

export interface FileSetPlan {
  name: string;
  builtin: boolean;
  packages: FileSetPackage[];
  /** Whether the dependencies of these packages are resolved by the manifest's policy. */
  followDependencies: boolean;
  /**
   * Whether `lock` fails when one of the include globs takes nothing from the set's packages on
   * some architecture (as chisel refuses "no content at …"). True for user sets: such a glob is
   * a typo or names the wrong package, and the layer would silently lack what was asked for.
   * False for built-in sets: their globs are written once for every architecture's layout
   * (libc's /lib64/** has the loader on amd64 and nothing on arm64), so an empty match there is
   * expected; what each built-in set takes is checked by its own tests instead.
   */
  everyGlobMustMatch: boolean;
}

const LIBC_INCLUDE = ["/lib/**", "/lib64/**", "/lib32/**", "/usr/lib/**", "/usr/lib64/**", "/usr/lib32/**"];
/** The whole of a package, as taken for dependencies and for `packages` entries. */
export const WHOLE_PACKAGE = ["/**"];

export function builtinFileSet(name: string): FileSetPlan | undefined {
  switch (name) {
    case "libc":
      return {
        name,
        builtin: true,
        everyGlobMustMatch: false,
        followDependencies: true,
        packages: [{ name: "libc6", include: LIBC_INCLUDE, exclude: [...DEFAULT_EXCLUDE] }],
      };
    case "ca-certs":
      return {
        name,
        builtin: true,
        everyGlobMustMatch: false,
        followDependencies: false,
        packages: [{ name: "ca-certificates", include: ["/usr/share/ca-certificates/**"], exclude: [...DEFAULT_EXCLUDE] }],
      };
    case "tzdata":
      return {
        name,
        builtin: true,
        everyGlobMustMatch: false,
        followDependencies: false,
        packages: [{ name: "tzdata", include: ["/usr/share/zoneinfo/**"], exclude: [...DEFAULT_EXCLUDE] }],
      };
    case "base":
      return {
        name,
        builtin: true,
        everyGlobMustMatch: false,
        followDependencies: false,
        packages: [
          { name: "base-files", include: ["/etc/os-release", "/usr/lib/os-release"], exclude: [] },
          { name: "netbase", include: ["/etc/services", "/etc/protocols", "/etc/rpc", "/etc/ethertypes"], exclude: [] },
        ],
      };
    default:
      return undefined;
  }
}

export function userFileSet(name: string, packages: string[], paths: string[], exclude: string[]): FileSetPlan {
  return {
    name,
    builtin: false,
    everyGlobMustMatch: true,
    followDependencies: true,
    packages: packages.map((p) => ({ name: p, include: [...paths], exclude: [...exclude] })),
  };
}
