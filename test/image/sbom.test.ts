// The SBOM's pure parts: the supplier a Maintainer field gives, and the DEPENDS_ON edges the
// lock's reason chains give. Expected values are written out by hand from the inputs.
import { describe, expect, it } from "vitest";
import { LockfileError } from "../../src/model/errors.js";
import { dependencyEdges } from "../../src/image/sbom.js";
import { supplierOf } from "../../src/image/supplier.js";

const control = (maintainer: string | undefined): string => `Package: libc6\nVersion: 2.36-9\n${maintainer === undefined ? "" : `Maintainer: ${maintainer}\n`}Description: x\n`;

describe("supplierOf", () => {
  it("writes a team's Maintainer in SPDX's Organization form", () => {
    expect(supplierOf(control("GNU Libc Maintainers <glibc-team@lists.example.org>"))).toBe("Organization: GNU Libc Maintainers (glibc-team@lists.example.org)");
  });

  it("keeps a name without an address, and a bare address", () => {
    expect(supplierOf(control("Some Team"))).toBe("Organization: Some Team");
    expect(supplierOf(control("<team@example.org>"))).toBe("Organization: team@example.org (team@example.org)");
  });

  it("says NOASSERTION without a Maintainer or a control file", () => {
    expect(supplierOf(control(undefined))).toBe("NOASSERTION");
    expect(supplierOf(undefined)).toBe("NOASSERTION");
  });
});

describe("dependencyEdges", () => {
  const pkgs = [
    { name: "libc6", reasons: ["file set libc"] },
    { name: "libgcc-s1", reasons: ["file set libc → libc6 → libgcc-s1", "packages[0] → libstdc++6 → libgcc-s1"] },
    { name: "libstdc++6", reasons: ["file set libc → libc6 → libgcc-s1 → libstdc++6", "packages[0]"] },
  ];

  it("gives one edge per chain step, each once, sorted by dependent then dependency", () => {
    expect(dependencyEdges(pkgs, "scratch.lock (amd64)")).toEqual([
      ["libc6", "libgcc-s1"],
      ["libgcc-s1", "libstdc++6"],
      ["libstdc++6", "libgcc-s1"],
    ]);
  });

  it("gives none when every package was asked for directly", () => {
    expect(dependencyEdges([{ name: "a", reasons: ["packages[0]"] }], "x")).toEqual([]);
  });

  it("refuses a chain that names a package the lock does not hold, or ends elsewhere", () => {
    const stray = () => dependencyEdges([{ name: "libc6", reasons: ["file set libc → base-files → libc6"] }], "scratch.lock (amd64)");
    expect(stray).toThrow(LockfileError);
    expect(stray).toThrow(/scratch\.lock \(amd64\): libc6's reason .* names base-files, which is not locked/);
    expect(() => dependencyEdges([{ name: "a", reasons: ["r → b"] }, { name: "b", reasons: ["r"] }], "x")).toThrow(/ends at b, not at a/);
  });
});
