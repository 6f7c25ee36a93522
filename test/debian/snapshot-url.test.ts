import { describe, expect, it } from "vitest";
import { formatSnapshotTimestamp, parseSnapshotTimestamp, parseSnapshotUrl } from "../../src/debian/snapshot-url.js";

describe("snapshot URLs", () => {
  it("reads the archive name and timestamp of snapshot.debian.org's form, on any host, trailing slash or not", () => {
    expect(parseSnapshotUrl("https://snapshot.debian.org/archive/debian-security/20261122T000000Z/")).toEqual({
      name: "debian-security",
      timestamp: "20261122T000000Z",
      at: new Date(Date.UTC(2026, 10, 22, 0, 0, 0)),
    });
    expect(parseSnapshotUrl("http://127.0.0.1:8080/archive/debian/20240229T235959Z")?.at).toEqual(new Date(Date.UTC(2024, 1, 29, 23, 59, 59)));
  });

  it("is undefined for other URLs and impossible timestamps", () => {
    for (const url of [
      "https://archive.example/debian",
      "https://snapshot.debian.org/archive/debian",
      "https://snapshot.debian.org/archive/debian/20261122",
      "https://snapshot.debian.org/archive/debian/20261122T000000Z/extra",
      "https://snapshot.debian.org/archive/debian/20230229T000000Z",
      "https://snapshot.debian.org/archive/debian/20261122T246000Z",
    ]) {
      expect(parseSnapshotUrl(url), url).toBeUndefined();
    }
    expect(parseSnapshotTimestamp("20261131T000000Z")).toBeUndefined();
  });

  it("formats an instant rounded down to the second", () => {
    expect(formatSnapshotTimestamp(new Date(Date.UTC(2026, 11, 2, 3, 4, 5, 999)))).toBe("20261202T030405Z");
  });
});
