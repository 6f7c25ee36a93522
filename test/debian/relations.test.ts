import { createReadStream } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { field, parseDeb822 } from "../../src/debian/deb822.js";
import { decompress } from "../../src/codec/decompress.js";
import {
  archRestrictionMatches,
  formatRelation,
  parseRelations,
  satisfiesVersion,
  type Relation,
  type RelOp,
} from "../../src/debian/relations.js";

const SNAPSHOT_INDEX = new URL("../../snapshots/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz", import.meta.url);

describe("parseRelations", () => {
  it("parses groups, alternatives, versions, qualifiers and restrictions", () => {
    expect(parseRelations("libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any, foo [amd64 arm64]")).toEqual([
      [{ name: "libc6", op: ">=", version: "2.34" }],
      [{ name: "debconf", op: ">=", version: "0.5" }, { name: "debconf-2.0" }],
      [{ name: "python3", archQualifier: "any" }],
      [{ name: "foo", archRestriction: ["amd64", "arm64"] }],
    ]);
  });

  it("accepts free whitespace, newlines and no space before '('", () => {
    expect(parseRelations("  aa(<<1:2.0-1)  ,\n bb ( = 1.0 ) |cc\t")).toEqual([
      [{ name: "aa", op: "<<", version: "1:2.0-1" }],
      [{ name: "bb", op: "=", version: "1.0" }, { name: "cc" }],
    ]);
  });

  it("reads every operator, and the obsolete < and > as <= and >=", () => {
    const ops = (s: string): Array<RelOp | undefined> => parseRelations(s).map((g) => g[0]!.op);
    expect(ops("aa (<< 1), aa (<= 1), aa (= 1), aa (>= 1), aa (>> 1), aa (< 1), aa (> 1)")).toEqual(["<<", "<=", "=", ">=", ">>", "<=", ">="]);
  });

  it("parses and drops build profiles", () => {
    expect(parseRelations("foo:native (>= 1) [!i386] <!nocheck> <stage1 cross>, bar <!nodoc>")).toEqual([
      [{ name: "foo", archQualifier: "native", op: ">=", version: "1", archRestriction: ["!i386"] }],
      [{ name: "bar" }],
    ]);
  });

  it("gives [] for an empty field", () => {
    expect(parseRelations("")).toEqual([]);
    expect(parseRelations("  \n ")).toEqual([]);
  });

  it.each([
    ["aa,", /empty entry between commas/],
    ["aa, , bb", /empty entry/],
    ["aa | | bb", /missing package name/],
    ["aa (>= 1.0", /not closed with '\)'/],
    ["aa (1.0)", /without a relation operator/],
    ["aa (>= )", /empty version/],
    ["aa (>= x1)", /invalid version "x1"/],
    ["aa [amd64", /not closed with '\]'/],
    ["aa []", /empty architecture restriction/],
    ["aa [amd64 !i386]", /mixed negated/],
    ["aa <!nocheck", /not closed with '>'/],
    ["aa <>", /empty build profile/],
    ["Foo_bar", /invalid package name/],
    ["Libc6", /invalid package name/],
    ["x (>= 1)", /invalid package name "x"/],
    ["aa:", /invalid architecture qualifier/],
    ["aa bb", /unexpected "bb"/],
    ["aa (>= 1) x", /unexpected "x"/],
  ])("rejects %j, naming the fragment", (text, re) => {
    expect(() => parseRelations(text)).toThrow(re);
    expect(() => parseRelations(text)).toThrow(/invalid relationship "/);
  });

  it("names the bad fragment, not the whole field", () => {
    expect(() => parseRelations("libc6 (>= 2.36), libfoo (>= ), zlib1g")).toThrow('invalid relationship "libfoo (>= )"');
  });

  it("round-trips through formatRelation", () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{1,10}$/);
    const version = fc.stringMatching(/^([1-9]:)?[0-9][a-z0-9.+~]{0,5}(-[a-z0-9.+~]{1,4})?$/);
    const rel: fc.Arbitrary<Relation> = fc
      .record({
        name,
        archQualifier: fc.option(fc.constantFrom("any", "native", "amd64"), { nil: undefined }),
        ver: fc.option(fc.tuple(fc.constantFrom<RelOp>("<<", "<=", "=", ">=", ">>"), version), { nil: undefined }),
        archRestriction: fc.option(fc.constantFrom<string[]>(["amd64"], ["!i386", "!armel"], ["linux-any"]), { nil: undefined }),
      })
      .map(({ name, archQualifier, ver, archRestriction }) => {
        const r: Relation = { name };
        if (archQualifier) r.archQualifier = archQualifier;
        if (ver) [r.op, r.version] = ver;
        if (archRestriction) r.archRestriction = archRestriction;
        return r;
      });
    fc.assert(
      fc.property(fc.array(fc.array(rel, { minLength: 1, maxLength: 3 }), { maxLength: 4 }), (groups) => {
        const text = groups.map((g) => g.map(formatRelation).join(" | ")).join(", ");
        expect(parseRelations(text)).toEqual(groups);
      }),
    );
  });

  it("parses every relationship field of the real bookworm-updates index", async () => {
    const parts: Buffer[] = [];
    for await (const c of decompress("xz", createReadStream(SNAPSHOT_INDEX))) parts.push(Buffer.from(c));
    const stanzas = parseDeb822(Buffer.concat(parts).toString("utf8"));
    let count = 0;
    for (const p of stanzas) {
      for (const f of ["Depends", "Pre-Depends", "Provides", "Recommends", "Suggests", "Breaks", "Conflicts", "Replaces"]) {
        const text = field(p, f);
        if (text === undefined) continue;
        const groups = parseRelations(text);
        count++;
        // Independent check: as many groups as commas allow, names as the raw text spells them.
        expect(groups.length).toBe(text.split(",").length);
        const names = text.split(/[,|]/).map((s) => s.trim().split(/[\s:(]/)[0]);
        expect(groups.flat().map((r) => r.name)).toEqual(names);
        // Re-formatting and re-parsing is stable.
        expect(parseRelations(groups.map((g) => g.map(formatRelation).join(" | ")).join(", "))).toEqual(groups);
      }
    }
    expect(count).toBeGreaterThan(20);
    const libc = stanzas.find((p) => field(p, "Package") === "tzdata");
    expect(libc).toBeDefined();
    expect(parseRelations(field(libc!, "Depends")!)).toEqual([[{ name: "debconf", op: ">=", version: "0.5" }, { name: "debconf-2.0" }]]);
  });
});

describe("satisfiesVersion", () => {
  it.each([
    ["2.36-9", ">=", "2.36", true],
    ["2.36-9", ">>", "2.36-9", false],
    ["2.36-9", "<=", "2.36-9", true],
    ["2.36-9", "<<", "2.36-10", true],
    ["1:1.0", "=", "1:1.0-0", true],
    ["1.0~rc1", ">=", "1.0", false],
  ] as const)("%s %s %s → %s", (v, op, ref, expected) => {
    expect(satisfiesVersion(v, op, ref)).toBe(expected);
  });
});

describe("archRestrictionMatches", () => {
  it.each([
    [undefined, "amd64", true],
    [[], "amd64", true],
    [["amd64", "arm64"], "arm64", true],
    [["amd64"], "i386", false],
    [["!i386"], "amd64", true],
    [["!i386", "!amd64"], "amd64", false],
    [["any"], "s390x", true],
    [["linux-any"], "amd64", true],
    [["linux-any"], "hurd-i386", false],
    [["hurd-any"], "hurd-i386", true],
    [["any-i386"], "hurd-i386", true],
    [["any-amd64"], "amd64", true],
    [["any-amd64"], "arm64", false],
    [["!linux-any"], "arm64", false],
  ] as const)("%j on %s → %s", (r, arch, expected) => {
    expect(archRestrictionMatches(r as string[] | undefined, arch)).toBe(expected);
  });
});

describe("formatRelation", () => {
  it("writes the dpkg form", () => {
    expect(formatRelation({ name: "libc6", op: ">=", version: "2.36" })).toBe("libc6 (>= 2.36)");
    expect(formatRelation({ name: "python3", archQualifier: "any" })).toBe("python3:any");
    expect(formatRelation({ name: "foo", archRestriction: ["amd64", "!i386"] })).toBe("foo [amd64 !i386]");
  });
});
