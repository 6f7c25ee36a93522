import { describe, expect, it } from "vitest";
import { sourceDifferences } from "../../src/audit/sources.js";
import type { LockedSource, LockedSuite } from "../../src/model/lock.js";
import type { ManifestSource } from "../../src/model/manifest.js";

const suite = (name: string): LockedSuite => ({ suite: name, release: { path: "InRelease", sha256: "a".repeat(64), size: 1 }, date: "d", validUntil: null, signedBy: "B".repeat(40), indexes: [] });
const locked = (name: string, url: string, suites: string[]): LockedSource => ({ name, url, suites: suites.map(suite) });
const wanted = (name: string, url: string, suites: string[]): ManifestSource => ({ name, url, suites, components: ["main"], keyring: "k.asc", allowExpired: false });

describe("sourceDifferences", () => {
  it("is empty when names, URLs and suites agree (suite order aside)", () => {
    expect(sourceDifferences([locked("debian", "https://a.example/debian", ["b", "a"])], [wanted("debian", "https://a.example/debian", ["a", "b"])])).toEqual([]);
  });

  it("names each source that differs, and how", () => {
    const lock = [locked("debian", "https://moved.example/debian", ["bookworm", "extra"]), locked("gone", "https://a.example/gone", ["x"])];
    const manifest = [wanted("debian", "https://a.example/debian", ["bookworm", "bookworm-updates"]), wanted("new", "https://a.example/new", ["x"])];
    expect(sourceDifferences(lock, manifest)).toEqual([
      "source debian: the lock says URL https://moved.example/debian, the manifest https://a.example/debian",
      "source debian: suites bookworm-updates of the manifest are not in the lock",
      "source debian: suites extra of the lock are not in the manifest",
      "source gone: in the lock, not in the manifest",
      "source new: in the manifest, not in the lock",
    ]);
  });
});
