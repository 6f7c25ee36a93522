/**
 * snapshot.debian.org's archive URLs: `<base>/archive/<name>/<YYYYMMDDTHHMMSSZ>`. The server
 * answers a timestamp with its newest import at or before it, so such a URL names a fixed state
 * of the archive. Any host with this path form counts (a local copy, a test server).
 */

export interface SnapshotUrl {
  /** The archive's name on the snapshot server: "debian", "debian-security", … */
  name: string;
  /** The timestamp as written in the URL. */
  timestamp: string;
  /** That timestamp as an instant. */
  at: Date;
}

const FORM = /\/archive\/([A-Za-z0-9][A-Za-z0-9._-]*)\/(\d{8}T\d{6}Z)$/;
const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The snapshot a base URL names (trailing slashes ignored), or undefined for any other URL. */
export function parseSnapshotUrl(url: string): SnapshotUrl | undefined {
  const m = FORM.exec(url.replace(/\/+$/, ""));
  if (!m) return undefined;
  const at = parseSnapshotTimestamp(m[2]!);
  return at && { name: m[1]!, timestamp: m[2]!, at };
}

/** "20261122T000000Z" → that instant; undefined unless it is a real UTC date and time. */
export function parseSnapshotTimestamp(text: string): Date | undefined {
  const m = STAMP.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const at = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 31 Feb over into March: a round trip shows whether every field was in range.
  return formatSnapshotTimestamp(at) === text ? at : undefined;
}

/** An instant as a snapshot timestamp, rounded down to the second. */
export function formatSnapshotTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

