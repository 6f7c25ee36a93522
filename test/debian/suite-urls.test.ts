// The archive layout as Debian's mirrors serve it: files below dists/<suite>/, and each by-hash
// copy in the directory of the file the Release lists (…/main/binary-amd64/by-hash/SHA256/<sha>).
import { describe, expect, it } from "vitest";
import { byHashUrl, suitePath, suiteUrl } from "../../src/debian/suite-urls.js";

const BASE = "http://127.0.0.1:8080/debian";
const SHA = "ab".repeat(32);

describe("suite URLs", () => {
  it("places a suite's files below dists/<suite>/", () => {
    expect(suitePath("bookworm-updates", "InRelease")).toBe("dists/bookworm-updates/InRelease");
    expect(suiteUrl(BASE, "bookworm", "main/binary-amd64/Packages.xz")).toBe(`${BASE}/dists/bookworm/main/binary-amd64/Packages.xz`);
  });

  it("puts the by-hash copy in the directory of the listed file", () => {
    expect(byHashUrl(BASE, "bookworm", "main/binary-amd64/Packages.xz", SHA)).toBe(`${BASE}/dists/bookworm/main/binary-amd64/by-hash/SHA256/${SHA}`);
    expect(byHashUrl(BASE, "trixie", "main/Contents-all.gz", SHA)).toBe(`${BASE}/dists/trixie/main/by-hash/SHA256/${SHA}`);
    expect(byHashUrl(BASE, "trixie", "Contents-amd64.gz", SHA)).toBe(`${BASE}/dists/trixie/by-hash/SHA256/${SHA}`);
  });
});
