/**
 * The suite names a Debian archive may serve, for the did-you-mean of a suite no mirror has:
 * over HTTP an archive cannot list its dists/, so the names come from this table of Debian's
 * codenames and aliases, which changes about once every two years (a new codename).
 */

/** Release codenames since the first with the `-updates` and `-security` suites' modern names, then the next ones announced. */
const CODENAMES = ["squeeze", "wheezy", "jessie", "stretch", "buster", "bullseye", "bookworm", "trixie", "forky", "duke"] as const;

/** Aliases that name a release by its role rather than its codename. */
const ALIASES = ["oldoldstable", "oldstable", "stable", "testing"] as const;

/** Suites that exist once, with no companion suites. */
const SINGLE = ["unstable", "sid", "experimental", "rc-buggy"] as const;

/** The companion suites of a release, e.g. bookworm-updates or stable-security. */
const COMPANIONS = ["", "-updates", "-security", "-backports", "-backports-sloppy", "-proposed-updates"] as const;

/** Every suite name of the table, newest releases first (so a tie goes to the newer). */
export function knownDebianSuites(): string[] {
  const releases = [...[...CODENAMES].reverse(), ...ALIASES];
  return [...releases.flatMap((r) => COMPANIONS.map((c) => r + c)), ...SINGLE];
}
