import { describe, expect, it } from "vitest";
import { ResolveError } from "../../src/model/errors.js";
import type { PackageRecord } from "../../src/model/package.js";
import { resolve, type ResolveOptions } from "../../src/resolve/resolver.js";
import type { DependencyPolicy, PackageRequest, ResolveResult } from "../../src/resolve/types.js";
import { Universe } from "../../src/resolve/universe.js";
import { rec, req } from "./helpers.js";

function run(
  records: PackageRecord[],
  requests: PackageRequest[],
  policy: DependencyPolicy = "closure",
  opts?: ResolveOptions,
  arch = "amd64",
): ResolveResult {
  return resolve(new Universe(arch, records), requests, policy, opts);
}

/** name → version of the result, for compact assertions. */
function picked(r: ResolveResult): Record<string, string> {
  return Object.fromEntries(r.packages.map((p) => [p.record.name, p.record.version]));
}

function reasons(r: ResolveResult): Record<string, string[]> {
  return Object.fromEntries(r.packages.map((p) => [p.record.name, p.reasons]));
}

function errorOf(f: () => unknown): ResolveError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ResolveError);
    return e as ResolveError;
  }
  throw new Error("expected a ResolveError");
}

const libcWorld = (): PackageRecord[] => [
  rec("libc6", "2.36-9", { depends: "libgcc-s1", multiArch: "same" }),
  rec("libgcc-s1", "12.2.0-14", { depends: "gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)", multiArch: "same" }),
  rec("gcc-12-base", "12.2.0-14", { multiArch: "same" }),
  rec("unrelated", "1", { essential: true }),
];

describe("policy none", () => {
  it("installs only the requested packages", () => {
    const r = run(libcWorld(), [req("libc6", "file set libc")], "none");
    expect(picked(r)).toEqual({ libc6: "2.36-9" });
    expect(reasons(r)).toEqual({ libc6: ["file set libc"] });
    expect(r.architecture).toBe("amd64");
    expect(r.skipped).toEqual([]);
  });

  it("resolves a virtual name with exactly one provider to it", () => {
    const r = run([rec("mawk", "1.3", { provides: "awk" })], [req("awk")], "none");
    expect(picked(r)).toEqual({ mawk: "1.3" });
    expect(reasons(r)).toEqual({ mawk: ["packages: awk"] });
  });

  it("refuses a virtual name with several providers and lists them", () => {
    const e = errorOf(() =>
      run([rec("mawk", "1", { provides: "awk" }), rec("gawk", "1", { provides: "awk" })], [req("awk")], "none"),
    );
    expect(e.message).toBe(
      "cannot resolve for amd64: packages: awk → awk → awk is a virtual package provided by gawk, mawk; name the one you want instead",
    );
  });

  it("accepts a virtual request when one of its providers is requested by name", () => {
    const recs = [rec("mawk", "1", { provides: "awk" }), rec("gawk", "1", { provides: "awk" })];
    const r = run(recs, [req("awk", "a"), req("mawk", "m")], "none");
    expect(reasons(r)).toEqual({ mawk: ["a", "m"] });
  });

  it("does not add essential packages", () => {
    expect(picked(run(libcWorld(), [req("gcc-12-base")], "none"))).toEqual({ "gcc-12-base": "12.2.0-14" });
  });
});

describe("closure", () => {
  it("adds transitive Depends and Pre-Depends, through cycles, with shortest reasons", () => {
    const recs = [...libcWorld(), rec("app", "1", { preDepends: "libc6 (>= 2.34)", depends: "gcc-12-base" })];
    const r = run(recs, [req("libc6", "file set libc"), req("app", "packages[0]")]);
    expect(picked(r)).toEqual({ app: "1", "gcc-12-base": "12.2.0-14", libc6: "2.36-9", "libgcc-s1": "12.2.0-14" });
    expect(reasons(r)).toEqual({
      app: ["packages[0]"],
      // Shortest chain per request: app → gcc-12-base directly, not via libc6 → libgcc-s1.
      "gcc-12-base": ["file set libc → libc6 → libgcc-s1 → gcc-12-base", "packages[0] → app → gcc-12-base"],
      libc6: ["file set libc", "packages[0] → app → libc6"],
      "libgcc-s1": ["file set libc → libc6 → libgcc-s1", "packages[0] → app → libc6 → libgcc-s1"],
    });
    expect(r.packages.map((p) => p.record.name)).toEqual(["app", "gcc-12-base", "libc6", "libgcc-s1"]);
  });

  it("deduplicates reasons when one reason names several packages", () => {
    const r = run(libcWorld(), [req("libc6", "file set libc"), req("libgcc-s1", "file set libc")]);
    expect(reasons(r)).toEqual({
      "gcc-12-base": ["file set libc → libgcc-s1 → gcc-12-base"],
      libc6: ["file set libc"],
      "libgcc-s1": ["file set libc"],
    });
  });

  it("takes the highest version across suites, honouring epochs and ~", () => {
    const recs = [
      rec("app", "1", { depends: "lib (>= 1.0~rc1)" }),
      rec("lib", "1.0~rc1", { suite: "bookworm" }),
      rec("lib", "1.0~rc2", { suite: "bookworm-updates" }),
      rec("lib", "0.9", { suite: "bookworm-backports" }),
    ];
    expect(picked(run(recs, [req("app")]))).toEqual({ app: "1", lib: "1.0~rc2" });
    const epochs = [rec("app", "1", { depends: "lib (>= 1:0)" }), rec("lib", "2.0"), rec("lib", "1:0.1")];
    expect(picked(run(epochs, [req("app")]))).toEqual({ app: "1", lib: "1:0.1" });
  });

  it("checks every operator against the candidate version", () => {
    const libs = ["1.0", "1.5", "2.0"].map((v) => rec("lib", v));
    const pick = (dep: string): string => picked(run([rec("app", "1", { depends: dep }), ...libs], [req("app")]))["lib"]!;
    expect(pick("lib (<< 1.5)")).toBe("1.0");
    expect(pick("lib (<= 1.5)")).toBe("1.5");
    expect(pick("lib (= 1.0)")).toBe("1.0");
    expect(pick("lib (>= 1.5)")).toBe("2.0");
    expect(pick("lib (>> 1.5)")).toBe("2.0");
    expect(pick("lib (<< 2.0~)")).toBe("1.5");
  });

  it("applies request constraints", () => {
    const libs = ["1.0", "2.0"].map((v) => rec("lib", v));
    expect(picked(run(libs, [req("lib", "r", { constraint: { op: "<<", version: "2" } })]))).toEqual({ lib: "1.0" });
    const e = errorOf(() => run(libs, [req("lib", "packages[1]", { constraint: { op: ">=", version: "3" } })]));
    expect(e.message).toBe("cannot resolve for amd64: packages[1] → lib (>= 3) → no version of lib satisfies >= 3 (available: 2.0, 1.0)");
  });

  describe("alternatives", () => {
    it("takes the first alternative that can be satisfied, left to right", () => {
      const recs = [rec("app", "1", { depends: "missing | bb (>= 2) | cc | dd" }), rec("bb", "1"), rec("cc", "1"), rec("dd", "1")];
      const r = run(recs, [req("app")]);
      expect(picked(r)).toEqual({ app: "1", cc: "1" });
      expect(reasons(r)["cc"]).toEqual(["packages: app → app → cc"]);
    });

    it("prefers an alternative that is already selected", () => {
      const recs = [rec("app", "1", { depends: "cc | dd" }), rec("cc", "1"), rec("dd", "1")];
      const r = run(recs, [req("app"), req("dd")]);
      expect(picked(r)).toEqual({ app: "1", dd: "1" });
      expect(reasons(r)["dd"]).toEqual(["packages: app → app → dd", "packages: dd"]);
    });

    it("counts a selection made earlier by another request's dependencies", () => {
      // aa is handled before bb (both requests); aa pulls in yy, then bb's "xx | yy" keeps yy.
      const recs = [
        rec("aa", "1", { depends: "yy" }),
        rec("bb", "1", { depends: "xx | yy" }),
        rec("xx", "1"),
        rec("yy", "1"),
      ];
      expect(picked(run(recs, [req("bb"), req("aa")]))).toEqual({ aa: "1", bb: "1", yy: "1" });
    });

    it("explains every alternative when none works", () => {
      const recs = [rec("app", "1", { depends: "debconf (>= 0.5) | debconf-2.0" }), rec("debconf", "0.4")];
      const e = errorOf(() => run(recs, [req("app", "packages[0]")]));
      expect(e.message).toBe(
        "cannot resolve for amd64: packages[0] → app → debconf (>= 0.5) | debconf-2.0 → no alternative can be installed: " +
          "debconf (>= 0.5): no version of debconf satisfies >= 0.5 (available: 0.4); debconf-2.0: nothing provides debconf-2.0",
      );
    });
  });

  describe("Provides", () => {
    it("satisfies an unversioned dependency with an unversioned Provides", () => {
      const recs = [rec("app", "1", { depends: "awk" }), rec("mawk", "1.3", { provides: "awk" })];
      const r = run(recs, [req("app")]);
      expect(picked(r)).toEqual({ app: "1", mawk: "1.3" });
      expect(reasons(r)["mawk"]).toEqual(["packages: app → app → mawk"]);
    });

    it("needs a versioned Provides that fits for a versioned dependency on a virtual name", () => {
      const recs = [
        rec("app", "1", { depends: "virt (>= 2)" }),
        rec("aaa", "1", { provides: "virt" }),
        rec("bbb", "1", { provides: "virt (= 1)" }),
        rec("ccc", "5", { provides: "virt (= 2.5)" }),
      ];
      expect(picked(run(recs, [req("app")]))).toEqual({ app: "1", ccc: "5" });
      const e = errorOf(() => run(recs.slice(0, 3), [req("app", "packages[0]")]));
      expect(e.message).toBe(
        "cannot resolve for amd64: packages[0] → app → virt (>= 2) → no provider of virtual package virt satisfies >= 2 (aaa provides it unversioned, bbb provides 1)",
      );
    });

    it("prefers a real package of the same name, falling back to providers when its version does not fit", () => {
      const recs = [
        rec("app", "1", { depends: "foo" }),
        rec("foo", "1"),
        rec("afoo", "1", { provides: "foo (= 9)" }),
      ];
      expect(picked(run(recs, [req("app")]))).toEqual({ app: "1", foo: "1" });
      recs[0] = rec("app", "1", { depends: "foo (>= 2)" });
      expect(picked(run(recs, [req("app")]))).toEqual({ afoo: "1", app: "1" });
    });

    it("breaks a tie between equally ranked providers by name, and keeps one already selected", () => {
      const recs = [
        rec("app", "1", { depends: "mta" }),
        rec("postfix", "3", { provides: "mta" }),
        rec("exim4", "4", { provides: "mta" }),
        rec("exim4", "3", { provides: "mta" }),
      ];
      expect(picked(run(recs, [req("app")]))).toEqual({ app: "1", exim4: "4" });
      expect(picked(run(recs, [req("app"), req("postfix")]))).toEqual({ app: "1", postfix: "3" });
    });

    it("keeps a pinned provider when it still provides the name", () => {
      const recs = [
        rec("app", "1", { depends: "mta" }),
        rec("postfix", "3", { provides: "mta" }),
        rec("exim4", "4", { provides: "mta" }),
      ];
      expect(picked(run(recs, [req("app")], "closure", { prefer: new Map([["postfix", "3"]]) }))).toEqual({ app: "1", postfix: "3" });
    });
  });

  describe("as apt computes it", () => {
    it("ranks providers: Essential, then Important, then Priority, then name (awk: mawk, not gawk)", () => {
      const awk = [
        rec("app", "1", { depends: "awk" }),
        rec("gawk", "1:5.2.1-2", { provides: "awk", priority: "optional" }),
        rec("mawk", "1.3.4", { provides: "awk", priority: "required" }),
        rec("original-awk", "2012", { provides: "awk", priority: "optional" }),
      ];
      expect(picked(run(awk, [req("app")]))).toEqual({ app: "1", mawk: "1.3.4" });
      const v = (name: string, fields: Parameters<typeof rec>[2]) => rec(name, "1", { provides: "vv", ...fields });
      const pick = (...providers: PackageRecord[]): string =>
        Object.keys(picked(run([rec("app", "1", { depends: "vv" }), ...providers], [req("app")]))).find((n) => n !== "app")!;
      expect(pick(v("aa", { priority: "required" }), v("zz", { essential: true, priority: "optional" }))).toBe("zz");
      expect(pick(v("aa", { priority: "required" }), v("zz", { important: true, priority: "extra" }))).toBe("zz");
      expect(pick(v("aa", { important: true }), v("zz", { essential: true }))).toBe("zz");
      expect(pick(v("aa", { priority: "extra" }), v("zz", { priority: "standard" }))).toBe("zz");
      expect(pick(v("aa", { priority: "no-such-word" }), v("zz", { priority: "optional" }))).toBe("zz"); // unknown ranks as extra
      expect(pick(v("bb", { priority: "optional" }), v("aa", { priority: "optional" }))).toBe("aa");
    });

    it("walks depth-first in field order, so a provider selected on the way satisfies a later group (libsql-translator-perl)", () => {
      const perl = [
        rec("libsql-translator-perl", "1.63", { depends: "perl, libscalar-list-utils-perl" }),
        rec("perl", "5.36.0", { depends: "perl-base (= 5.36.0)" }),
        rec("perl-base", "5.36.0", { provides: "libscalar-list-utils-perl (= 1:1.62)", essential: true, priority: "required" }),
        rec("libscalar-list-utils-perl", "1:1.63"),
      ];
      expect(picked(run(perl, [req("libsql-translator-perl")]))).toEqual({ "libsql-translator-perl": "1.63", perl: "5.36.0", "perl-base": "5.36.0" });
      const order = [rec("app", "1", { depends: "bb, cc | dd" }), rec("bb", "1", { depends: "dd" }), rec("cc", "1"), rec("dd", "1")];
      expect(picked(run(order, [req("app")]))).toEqual({ app: "1", bb: "1", dd: "1" });
    });

    it("tries the next candidate when one's own dependencies fail, and drops what that attempt selected", () => {
      const recs = [
        rec("app", "1", { depends: "xx | yy" }),
        rec("xx", "1", { depends: "zz, missing" }),
        rec("yy", "1"),
        rec("zz", "1"),
      ];
      expect(picked(run(recs, [req("app")]))).toEqual({ app: "1", yy: "1" });
    });

    it("tries pinned candidates of every alternative before new ones, as apt tries installed ones", () => {
      const recs = [rec("app", "1", { depends: "aa | bb" }), rec("aa", "1"), rec("bb", "1")];
      expect(picked(run(recs, [req("app")], "closure", { prefer: new Map([["bb", "1"]]) }))).toEqual({ app: "1", bb: "1" });
    });

    it("satisfies a dependency with the newest version only, and takes an older one only where apt would give up", () => {
      const recs = [rec("app", "1", { depends: "lib (<< 2) | other" }), rec("lib", "1"), rec("lib", "2"), rec("other", "1")];
      expect(picked(run(recs, [req("app")]))).toEqual({ app: "1", other: "1" });
      // curl=<older>: apt refuses (libcurl4 (= older) is not the candidate); we take the older libcurl4.
      const curl = [
        rec("curl", "7.88.1-10+deb12u5", { depends: "libcurl4 (= 7.88.1-10+deb12u5)" }),
        rec("curl", "7.88.1-10+deb12u14", { depends: "libcurl4 (= 7.88.1-10+deb12u14)" }),
        rec("libcurl4", "7.88.1-10+deb12u5"),
        rec("libcurl4", "7.88.1-10+deb12u14"),
      ];
      const old = { constraint: { op: "=" as const, version: "7.88.1-10+deb12u5" } };
      expect(picked(run(curl, [req("curl", "packages[0]", old)]))).toEqual({ curl: "7.88.1-10+deb12u5", libcurl4: "7.88.1-10+deb12u5" });
    });
  });

  describe("Multi-Arch and architectures", () => {
    it("satisfies :any and :native with the same-arch package", () => {
      const recs = [
        rec("app", "1", { depends: "python3:any (>= 3.11), perl:native" }),
        rec("python3", "3.11.2", { multiArch: "allowed" }),
        rec("python3", "3.12", { multiArch: "allowed", architecture: "arm64" }),
        rec("perl", "5.36", { multiArch: "allowed" }),
      ];
      expect(picked(run(recs, [req("app")]))).toEqual({ app: "1", perl: "5.36", python3: "3.11.2" });
    });

    it("uses arch all packages and never foreign-arch ones, even Multi-Arch: foreign", () => {
      const recs = [
        rec("app", "1", { depends: "data, tool" }),
        rec("data", "1", { architecture: "all", multiArch: "foreign" }),
        rec("tool", "1", { architecture: "i386", multiArch: "foreign" }),
      ];
      const e = errorOf(() => run(recs, [req("app", "packages[0]")], "closure", { otherArches: new Map([["tool", ["i386"]]]) }));
      expect(e.message).toBe("cannot resolve for amd64: packages[0] → app → tool → nothing provides tool (tool exists only for i386)");
      recs.push(rec("tool", "1", { multiArch: "foreign" }));
      const r = run(recs, [req("app")]);
      expect(r.packages.map((p) => [p.record.name, p.record.architecture])).toEqual([
        ["app", "amd64"],
        ["data", "all"],
        ["tool", "amd64"],
      ]);
    });

    it("installs Multi-Arch: same libraries of the target architecture only", () => {
      const recs = [
        rec("app", "1", { depends: "libfoo1", architecture: "arm64" }),
        rec("libfoo1", "1", { multiArch: "same", architecture: "arm64" }),
        rec("libfoo1", "1", { multiArch: "same", architecture: "amd64" }),
      ];
      const r = run(recs, [req("app", "r")], "closure", undefined, "arm64");
      expect(r.packages.find((p) => p.record.name === "libfoo1")!.record.architecture).toBe("arm64");
      expect(r.architecture).toBe("arm64");
    });

    it("cannot satisfy a dependency on another architecture", () => {
      const recs = [rec("app", "1", { depends: "libx:i386" }), rec("libx", "1", { multiArch: "same" })];
      const e = errorOf(() => run(recs, [req("app", "r")]));
      expect(e.message).toBe(
        'cannot resolve for amd64: r → app → libx:i386 → libx:i386 asks for an i386 package, but the amd64 layer holds only amd64 and "all" packages',
      );
      // Naming the target architecture explicitly is fine.
      recs[0] = rec("app", "1", { depends: "libx:amd64" });
      expect(picked(run(recs, [req("app")]))).toEqual({ app: "1", libx: "1" });
    });

    it("skips dependencies whose arch restriction excludes the target", () => {
      const recs = [
        rec("app", "1", { depends: "libwin [!amd64 !arm64], libamd [amd64], libx [linux-any] | liby" }),
        rec("libamd", "1"),
        rec("libx", "1"),
        rec("liby", "1"),
      ];
      expect(picked(run(recs, [req("app")]))).toEqual({ app: "1", libamd: "1", libx: "1" });
      const arm = recs.map((r) => ({ ...r, architecture: r.architecture === "amd64" ? "arm64" : r.architecture }));
      expect(picked(run(arm, [req("app")], "closure", undefined, "arm64"))).toEqual({ app: "1", libx: "1" });
    });
  });

  describe("prefer pins", () => {
    const libs = [rec("app", "1", { depends: "lib (>= 1.1)" }), ...["1.0", "1.1", "1.2", "1.3"].map((v) => rec("lib", v))];

    it("keeps a pinned version that is available and satisfies", () => {
      expect(picked(run(libs, [req("app")], "closure", { prefer: new Map([["lib", "1.2"]]) }))).toEqual({ app: "1", lib: "1.2" });
      // Pins apply to requested packages too.
      expect(picked(run(libs, [req("lib")], "none", { prefer: new Map([["lib", "1.0"]]) }))).toEqual({ lib: "1.0" });
    });

    it("drops a pin that is no longer available or no longer satisfies", () => {
      expect(picked(run(libs, [req("app")], "closure", { prefer: new Map([["lib", "1.1.5"]]) }))).toEqual({ app: "1", lib: "1.3" });
      expect(picked(run(libs, [req("app")], "closure", { prefer: new Map([["lib", "1.0"]]) }))).toEqual({ app: "1", lib: "1.3" });
      expect(picked(run(libs, [req("app")], "closure", { prefer: new Map([["lib", "not a version"]]) }))).toEqual({ app: "1", lib: "1.3" });
    });
  });

  describe("errors", () => {
    it("names the whole chain for an unsatisfiable version", () => {
      const recs = [
        rec("libc6", "2.36-9", { depends: "libgcc-s1 (>= 3.0)" }),
        rec("libgcc-s1", "2.1", { architecture: "arm64" }),
      ];
      const e = errorOf(() => run(recs.map((r) => ({ ...r, architecture: "arm64" })), [req("libc6", "file set libc")], "closure", undefined, "arm64"));
      expect(e.message).toBe(
        "cannot resolve for arm64: file set libc → libc6 → libgcc-s1 (>= 3.0) → no version of libgcc-s1 satisfies >= 3.0 (available: 2.1)",
      );
      expect(e.exitCode).toBe(2);
      expect(e.hint).toMatch(/scratch\.json/);
    });

    it("says when nothing provides a dependency", () => {
      const e = errorOf(() => run([rec("aa", "1", { depends: "bb" }), rec("bb", "1", { depends: "foo" })], [req("aa", "file set x")]));
      expect(e.message).toBe("cannot resolve for amd64: file set x → aa → bb → foo → nothing provides foo");
    });

    it("says when a requested package exists only for other architectures", () => {
      const e = errorOf(() =>
        run([rec("a", "1")], [req("grub-pc", "packages[3]")], "none", { otherArches: new Map([["grub-pc", ["i386", "amd64"]]]) }, "arm64"),
      );
      expect(e.message).toBe("cannot resolve for arm64: packages[3] → grub-pc → nothing provides grub-pc (grub-pc exists only for amd64, i386)");
      // The hint gives the manifest's per-architecture request syntax, filled in.
      expect(e.hint).toContain('write it in packages[3] as {"name": "grub-pc", "architectures": ["amd64", "i386"]}');
    });

    it("returns missing optional requests in skipped", () => {
      const r2 = run(
        [rec("a", "1", { architecture: "arm64" })],
        [req("a"), req("zz", "packages[2]", { optional: true }), req("grub-pc", "packages[1]", { optional: true })],
        "closure",
        { otherArches: new Map([["grub-pc", ["amd64"]]]) },
        "arm64",
      );
      expect(picked(r2)).toEqual({ a: "1" });
      expect(r2.skipped).toEqual([
        { name: "grub-pc", reason: "packages[1]: no package grub-pc for arm64 (grub-pc exists only for amd64)" },
        { name: "zz", reason: "packages[2]: no package zz for arm64" },
      ]);
    });

    it("reports a version conflict with both chains", () => {
      const recs = [
        rec("aa", "1", { depends: "xx" }),
        rec("bb", "1", { depends: "xx (<< 2)" }),
        rec("xx", "1"),
        rec("xx", "3"),
      ];
      const e = errorOf(() => run(recs, [req("aa", "packages[0]"), req("bb", "packages[1]")]));
      expect(e.message).toBe(
        "cannot resolve for amd64: packages[1] → bb → xx (<< 2) → xx 3 was already chosen for packages[0] → aa → xx, and it does not satisfy << 2",
      );
      expect(e.hint).toMatch(/request a version of xx/);
      // A request naming a version that satisfies both settles it.
      expect(picked(run(recs, [req("aa"), req("bb"), req("xx", "pin", { constraint: { op: "=", version: "1" } })]))).toEqual({ aa: "1", bb: "1", xx: "1" });
    });

    it("reports a conflict between two requests", () => {
      const recs = [rec("x", "1"), rec("x", "3")];
      const e = errorOf(() =>
        run(recs, [req("x", "r1"), req("x", "r2", { constraint: { op: "<<", version: "2" } })]),
      );
      expect(e.message).toBe("cannot resolve for amd64: r2 → x (<< 2) → x 3 was already chosen for r1 → x, and it does not satisfy << 2");
    });

    it("refuses packages that Conflict or Break, by name, version or a provided virtual name, as apt does", () => {
      const both = errorOf(() => run([rec("curl-openssl", "8", { conflicts: "curl-gnutls" }), rec("curl-gnutls", "8")], [req("curl-openssl", "packages[0]"), req("curl-gnutls", "packages[1]")]));
      expect(both.message).toBe(
        "cannot resolve for amd64: curl-openssl 8 and curl-gnutls 8 cannot be installed together (curl-openssl Conflicts: curl-gnutls); curl-openssl comes from packages[0], curl-gnutls from packages[1]",
      );
      expect(both.hint).toMatch(/^apt would refuse this set too/);
      // Through the closure: the chain of the dependency is named.
      const deep = errorOf(() => run([rec("app", "1", { depends: "old-lib" }), rec("old-lib", "1"), rec("new-lib", "2", { breaks: "old-lib (<< 2)" })], [req("app", "packages[0]"), req("new-lib", "packages[1]")]));
      expect(deep.message).toContain("new-lib 2 and old-lib 1 cannot be installed together (new-lib Breaks: old-lib (<< 2)); new-lib comes from packages[1], old-lib from packages[0] → app → old-lib");
      // A version the relation does not cover, an architecture it is restricted from, and the
      // one-provider idiom (Provides and Conflicts the same virtual name) are fine.
      expect(picked(run([rec("new-lib", "2", { breaks: "old-lib (<< 2)" }), rec("old-lib", "2")], [req("new-lib"), req("old-lib")]))).toEqual({ "new-lib": "2", "old-lib": "2" });
      expect(picked(run([rec("aa", "1", { conflicts: "bb [arm64]" }), rec("bb", "1")], [req("aa"), req("bb")]))).toEqual({ aa: "1", bb: "1" });
      expect(picked(run([rec("exim", "4", { provides: "mail-transport-agent", conflicts: "mail-transport-agent" })], [req("exim")]))).toEqual({ exim: "4" });
      const mta = errorOf(() => run([rec("exim", "4", { provides: "mail-transport-agent", conflicts: "mail-transport-agent" }), rec("postfix", "3", { provides: "mail-transport-agent" })], [req("exim"), req("postfix")]));
      expect(mta.message).toContain("exim 4 and postfix 3 cannot be installed together (exim Conflicts: mail-transport-agent)");
      // Policy none (exactly the requests) is held to the same rule.
      expect(() => run([rec("aa", "1", { conflicts: "bb" }), rec("bb", "1")], [req("aa"), req("bb")], "none")).toThrow(/aa 1 and bb 1 cannot be installed together/);
      expect(errorOf(() => run([rec("aa", "1", { breaks: "bb (<< )" })], [req("aa")])).message).toMatch(/^package aa 1 \(amd64\) from debian stable\/main: Breaks: invalid relationship/);
    });

    it("names the package and field of a malformed Depends", () => {
      const e = errorOf(() => run([rec("a", "1", { depends: "b (>= )" })], [req("a")]));
      expect(e.message).toMatch(/^package a 1 \(amd64\) from debian stable\/main: Depends: invalid relationship/);
    });
  });
});
