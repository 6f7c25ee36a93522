/**
 * The rules that keep a lock honest about snapshot URLs. snapshot.debian.org serves at a
 * timestamp its newest import at or before it, and a release is imported after its `Date`:
 * - a release dated after the timestamp can never be what that URL serves (fetched through a
 *   mirror that follows the live archive, it is the usual case), so the lock refuses the pair;
 * - a timestamp moved to "the state being locked" must be at or after that release's import,
 *   not its Date: `now` (rounded down to the second) is, for whatever snapshot has imported.
 */
import { formatSnapshotTimestamp, parseSnapshotTimestamp, parseSnapshotUrl } from "../debian/snapshot-url.js";
import { SnapshotMismatchError, UsageError } from "../model/errors.js";

/**
 * The timestamp `--snapshot SPEC` asks for: "now" rounded down to the second, or an explicit
 * YYYYMMDDTHHMMSSZ that is not in the future (where snapshot's answer would still change).
 */
export function snapshotTimestampFor(spec: string, now: Date): string {
  if (spec === "now") return formatSnapshotTimestamp(now);
  const at = parseSnapshotTimestamp(spec);
  if (!at) throw new UsageError(`--snapshot ${spec}: not "now" nor a timestamp YYYYMMDDTHHMMSSZ (UTC)`, { hint: 'give e.g. --snapshot now or --snapshot 20261122T000000Z' });
  if (at.getTime() > now.getTime()) {
    throw new UsageError(`--snapshot ${spec} is in the future (now is ${formatSnapshotTimestamp(now)}): snapshot.debian.org would serve different states there as it imports`, { hint: "give a timestamp in the past, or now" });
  }
  return spec;
}

/** What the rule needs of a verified suite. */
export interface SuiteDated {
  source: string;
  /** The manifest's base URL (the one the lock records). */
  url: string;
  suite: string;
  date: Date;
  dateText: string;
}

export interface SnapshotProblem {
  source: string;
  suite: string;
  dateText: string;
  timestamp: string;
}

/** Every suite whose release is newer than the snapshot its source URL names. */
export function snapshotProblems(suites: readonly SuiteDated[]): SnapshotProblem[] {
  const out: SnapshotProblem[] = [];
  for (const s of suites) {
    const snap = parseSnapshotUrl(s.url);
    if (snap && s.date.getTime() > snap.at.getTime()) out.push({ source: s.source, suite: s.suite, dateText: s.dateText, timestamp: snap.timestamp });
  }
  return out;
}

/** Refuses (exit 2) a lock whose snapshot URLs cannot serve its releases, naming each. */
export function checkSnapshots(suites: readonly SuiteDated[]): void {
  const problems = snapshotProblems(suites);
  if (problems.length === 0) return;
  const lines = problems.map((p) => `source "${p.source}" suite ${p.suite}: the release is dated ${p.dateText}, after the snapshot timestamp ${p.timestamp}`);
  throw new SnapshotMismatchError(`the releases fetched are newer than their sources' snapshot URLs can serve:\n  ${lines.join("\n  ")}`, {
    hint: "run scratch-pkgs lock --update --snapshot now to move the snapshot timestamps in scratch.json to the state being locked, or fetch from the snapshot URLs themselves (no --mirror or --apt-sources)",
  });
}

/**
 * The hint for content that a snapshot URL does not serve as the lock records it (another
 * release, an index or .deb missing): with the timestamp at or after the release's `Date`, the
 * likely cause is that snapshot has not imported that release yet. Undefined for other URLs.
 */
export function snapshotLagHint(url: string, releaseDate: string | undefined): string | undefined {
  const snap = parseSnapshotUrl(url);
  const date = releaseDate === undefined ? Number.NaN : Date.parse(releaseDate);
  if (!snap || !(date <= snap.at.getTime())) return undefined;
  return `the snapshot at ${snap.timestamp} may not have imported the release dated ${releaseDate} yet (snapshot imports a release some hours after its Date): re-run later, or re-lock with scratch-pkgs lock --update --snapshot now`;
}
