import { describe, expect, it } from "vitest";
import { SnapshotMismatchError, UsageError } from "../../src/model/errors.js";
import { checkSnapshots, snapshotProblems, snapshotTimestampFor } from "../../src/sources/snapshot-rule.js";

const SNAP = "https://snapshot.debian.org/archive/debian/20261122T000000Z";
const suite = (url: string, iso: string, dateText = iso) => ({ source: "debian", url, suite: "bookworm-updates", date: new Date(iso), dateText });

describe("a snapshot URL serves only releases dated at or before its timestamp", () => {
  it("accepts a release dated up to the timestamp, and any release of a URL that is not a snapshot", () => {
    expect(snapshotProblems([suite(SNAP, "2026-11-21T02:10:46Z"), suite(SNAP, "2026-11-22T00:00:00Z"), suite("https://deb.example/debian", "2026-11-30T00:00:00Z")])).toEqual([]);
  });

  it("refuses a newer one with exit 2, naming the source, suite, Date and timestamp and the flag that fixes it", () => {
    const late = suite(SNAP, "2026-11-30T08:00:00Z", "Mon, 30 Nov 2026 08:00:00 UTC");
    let err: unknown;
    try {
      checkSnapshots([suite(SNAP, "2026-11-21T02:10:46Z"), late]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SnapshotMismatchError);
    expect((err as SnapshotMismatchError).exitCode).toBe(2);
    expect((err as Error).message).toContain('source "debian" suite bookworm-updates: the release is dated Mon, 30 Nov 2026 08:00:00 UTC, after the snapshot timestamp 20261122T000000Z');
    expect((err as SnapshotMismatchError).hint).toContain("lock --update --snapshot now");
  });
});

describe("--snapshot's timestamp", () => {
  const now = new Date(Date.UTC(2026, 11, 2, 3, 4, 5, 678));
  it("now is the current time rounded down to the second; an explicit one is kept", () => {
    expect(snapshotTimestampFor("now", now)).toBe("20261202T030405Z");
    expect(snapshotTimestampFor("20261122T000000Z", now)).toBe("20261122T000000Z");
  });
  it("refuses a malformed or future timestamp (exit 2)", () => {
    expect(() => snapshotTimestampFor("2026-11-22", now)).toThrow(UsageError);
    expect(() => snapshotTimestampFor("20261202T030406Z", now)).toThrow(/in the future/);
  });
});
