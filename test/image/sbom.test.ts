// The SBOM's pure parts: the supplier a Maintainer field gives, and the DEPENDS_ON edges the
// lock's reason chains give. Expected values are written out by hand from the inputs.
import { describe, expect, it } from "vitest";
import { LockfileError } from "../../src/model/errors.js";
import { buildSbom, dependencyEdges } from "../../src/image/sbom.js";
import type { Lockfile, LockedPackage } from "../../src/model/lock.js";
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

describe("where a scoped request applies", () => {
  const pkg = (name: string, reasons: string[]): LockedPackage => ({
    name,
    version: "1.0-1",
    architecture: "amd64",
    source: "debian",
    suite: "bookworm",
    component: "main",
    url: `https://archive.example/debian/pool/main/${name}.deb`,
    size: 1,
    sha256: "0".repeat(64),
    reasons,
    select: [],
  });
  const lock: Lockfile = {
    lockfileVersion: "1.2.0",
    manifest: { file: "scratch.json", sha256: "1".repeat(64) },
    sourceDateEpoch: 0,
    policy: "closure",
    sources: [],
    architectures: {
      amd64: {
        packages: [pkg("cpuid", ["packages[0]"]), pkg("libc6", ["file set libc", "packages[0] → cpuid → libc6"]), pkg("msr-tools", ["file set tools"])],
        skipped: [],
        derivations: [],
        layer: { diffId: `sha256:${"2".repeat(64)}`, size: 0, provenance: { path: "/p", sha256: "3".repeat(64), entries: 0 }, compressed: {} },
      },
    },
    requests: [
      { reason: "file set tools", name: "msr-tools", architectures: ["amd64", "i386"], optional: true },
      { reason: "packages[0]", name: "cpuid", architectures: ["amd64"] },
    ],
  };

  it("the SBOM's package comment gives each chain that starts at one its scope", () => {
    const doc = buildSbom({
      arch: "amd64",
      lock,
      lockName: "scratch.lock",
      lockSha256: "4".repeat(64),
      image: { name: "scratch", manifestDigest: `sha256:${"5".repeat(64)}`, configDigest: `sha256:${"6".repeat(64)}`, tag: undefined },
      licenses: new Map(),
      suppliers: new Map(),
      nodes: [],
      added: [],
    });
    const comments = Object.fromEntries((doc.packages as Array<{ name: string; comment: string }>).map((p) => [p.name, p.comment]));
    expect(comments.cpuid).toBe("From debian bookworm/main; in the lock because: packages[0] (requested for amd64 only)");
    expect(comments.libc6).toBe("From debian bookworm/main; in the lock because: file set libc; packages[0] → cpuid → libc6 (requested for amd64 only)");
    expect(comments["msr-tools"]).toBe("From debian bookworm/main; in the lock because: file set tools (requested for amd64 and i386 only; optional: skipped where missing)");
  });
});
