import { describe, expect, it } from "vitest";
import { ResolveError } from "../../src/model/errors.js";
import { Universe } from "../../src/resolve/universe.js";
import { rec } from "./helpers.js";

describe("Universe", () => {
  it("keeps only the target architecture and arch all", () => {
    const u = new Universe("arm64", [
      rec("a", "1", { architecture: "amd64" }),
      rec("a", "1", { architecture: "arm64" }),
      rec("b", "1", { architecture: "all" }),
      rec("c", "1", { architecture: "i386", multiArch: "foreign" }),
    ]);
    expect(u.arch).toBe("arm64");
    expect(u.candidates("a").map((r) => r.architecture)).toEqual(["arm64"]);
    expect(u.candidates("b").map((r) => r.architecture)).toEqual(["all"]);
    expect(u.candidates("c")).toEqual([]);
    expect(u.knows("c")).toBe(false);
    expect(u.names()).toEqual(["a", "b"]);
  });

  it("sorts candidates by dpkg version order, highest first (epochs and ~)", () => {
    const versions = ["1.0", "1.0~rc1", "1:0.5", "1.0-1", "0.9", "1.0+b1", "1.0~~"];
    const u = new Universe("amd64", versions.map((v) => rec("p", v)));
    // Order checked against `dpkg --compare-versions` semantics: epoch beats all, ~ sorts before the end.
    expect(u.candidates("p").map((r) => r.version)).toEqual(["1:0.5", "1.0+b1", "1.0-1", "1.0", "1.0~rc1", "1.0~~", "0.9"]);
  });

  it("keeps the first record seen for an identical name, version and architecture", () => {
    const u = new Universe("amd64", [
      rec("p", "2", { suite: "bookworm-updates" }),
      rec("p", "2", { suite: "bookworm" }),
      rec("p", "1", { suite: "bookworm" }),
      rec("p", "0:2", { suite: "third" }), // same version as "2" in dpkg terms
    ]);
    const c = u.candidates("p");
    expect(c.map((r) => [r.version, r.origin.suite])).toEqual([
      ["2", "bookworm-updates"],
      ["1", "bookworm"],
    ]);
  });

  it("puts the target architecture before arch all for the same version", () => {
    const u = new Universe("amd64", [rec("p", "1", { architecture: "all" }), rec("p", "1", { architecture: "amd64" })]);
    expect(u.candidates("p").map((r) => r.architecture)).toEqual(["amd64", "all"]);
  });

  it("indexes Provides, versioned and not, sorted by provider then version", () => {
    const u = new Universe("amd64", [
      rec("zz", "1", { provides: "virt" }),
      rec("aa", "2", { provides: "virt (= 7), other" }),
      rec("aa", "1", { provides: "virt (= 6)" }),
      rec("x", "1", { provides: "virt", architecture: "i386" }),
    ]);
    expect(u.providers("virt").map((p) => [p.record.name, p.record.version, p.version])).toEqual([
      ["aa", "2", "7"],
      ["aa", "1", "6"],
      ["zz", "1", undefined],
    ]);
    expect(u.providers("other").map((p) => p.record.name)).toEqual(["aa"]);
    expect(u.knows("virt")).toBe(true);
    expect(u.candidates("virt")).toEqual([]);
  });

  it("does not let a shadowed duplicate provide anything", () => {
    const u = new Universe("amd64", [rec("p", "1", { suite: "a" }), rec("p", "1", { suite: "b", provides: "virt" })]);
    expect(u.providers("virt")).toEqual([]);
  });

  it("rejects an invalid version or Provides with a message naming the package and origin", () => {
    expect(() => new Universe("amd64", [rec("p", "not-a-version")])).toThrow(ResolveError);
    expect(() => new Universe("amd64", [rec("p", "not-a-version")])).toThrow(/package p not-a-version \(amd64\) from debian stable\/main/);
    expect(() => new Universe("amd64", [rec("p", "1", { provides: "a (= )" })])).toThrow(/p 1 .*Provides:/);
    // Records of other architectures are not even looked at.
    expect(() => new Universe("amd64", [rec("p", "bad version", { architecture: "arm64" })])).not.toThrow();
  });
});
