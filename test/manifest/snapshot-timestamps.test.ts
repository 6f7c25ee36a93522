import { describe, expect, it } from "vitest";
import { ManifestError } from "../../src/model/errors.js";
import { moveSnapshotTimestamps } from "../../src/manifest/snapshot-timestamps.js";

describe("moving scratch.json's snapshot timestamps", () => {
  it("changes only the timestamp inside each snapshot URL, keeping the user's layout byte for byte", () => {
    const text =
      '\ufeff{ "sources": [\n' +
      '    {"name": "debian",   "url": "https://snapshot.debian.org/archive/debian/20261122T000000Z/", "note": "20261122T000000Z"},\n' +
      '\t{ "name": "local", "url": "https://deb.example/debian" },\n' +
      '    {"url": "https:\\/\\/snapshot.debian.org/archive/debian-security/20261101T120000Z", "name": "debian-security"}\n' +
      "] }\n";
    const { text: out, moved } = moveSnapshotTimestamps(text, "scratch.json", "20261202T030405Z");
    expect(out).toBe(
      '\ufeff{ "sources": [\n' +
        '    {"name": "debian",   "url": "https://snapshot.debian.org/archive/debian/20261202T030405Z/", "note": "20261122T000000Z"},\n' +
        '\t{ "name": "local", "url": "https://deb.example/debian" },\n' +
        '    {"url": "https:\\/\\/snapshot.debian.org/archive/debian-security/20261202T030405Z", "name": "debian-security"}\n' +
        "] }\n",
    );
    expect(moved).toEqual([
      { source: "debian", from: "20261122T000000Z", to: "20261202T030405Z" },
      { source: "debian-security", from: "20261101T120000Z", to: "20261202T030405Z" },
    ]);
  });

  it("refuses a timestamp written with escapes, naming the field", () => {
    const text = '{"sources": [{"name": "d", "url": "https://snapshot.debian.org/archive/debian/2026112\\u0032T000000Z"}]}';
    expect(() => moveSnapshotTimestamps(text, "scratch.json", "20261202T030405Z")).toThrow(ManifestError);
    expect(() => moveSnapshotTimestamps(text, "scratch.json", "20261202T030405Z")).toThrow(/scratch\.json: sources\[0\]\.url/);
  });
});
