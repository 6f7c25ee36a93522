import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Deb822SyntaxError, field, parseDeb822 } from "../../src/debian/deb822.js";

describe("parseDeb822", () => {
  it("splits paragraphs on blank (or blank-looking) lines and keeps field order and line numbers", () => {
    const ps = parseDeb822("\nA: 1\nB:  two words \n\n \t\nC: 3\n");
    expect(ps.map((p) => p.fields)).toEqual([
      [
        ["A", "1"],
        ["B", "two words"],
      ],
      [["C", "3"]],
    ]);
    expect(ps.map((p) => p.line)).toEqual([2, 6]);
  });

  it("joins continuation lines with \\n, drops one leading blank, and reads ' .' as an empty line", () => {
    const [p] = parseDeb822("Description: short\n long line\n .\n \tindented\nSHA256:\n abc 12 main/x\n def 34 main/y\n");
    expect(field(p!, "Description")).toBe("short\nlong line\n\n\tindented");
    expect(field(p!, "SHA256")).toBe("abc 12 main/x\ndef 34 main/y");
  });

  it("looks fields up case-insensitively; the first of two spellings wins", () => {
    const [p] = parseDeb822("Package: a\npackage: b\nVersion: 1\n");
    expect(field(p!, "PACKAGE")).toBe("a");
    expect(field(p!, "version")).toBe("1");
    expect(field(p!, "Missing")).toBeUndefined();
  });

  it("tolerates CRLF", () => {
    expect(parseDeb822("A: 1\r\n B\r\n\r\nC: 2\r\n").map((p) => p.fields)).toEqual([[["A", "1\nB"]], [["C", "2"]]]);
  });

  it("allows # comments only when asked", () => {
    const text = "# a comment\nTypes: deb\n# another\nSuites: bookworm\n";
    expect(parseDeb822(text, { comments: true })[0]!.fields).toEqual([
      ["Types", "deb"],
      ["Suites", "bookworm"],
    ]);
    expect(() => parseDeb822(text)).toThrow(Deb822SyntaxError);
  });

  it("reports the line of a syntax error", () => {
    expect(() => parseDeb822("A: 1\nno colon here\n")).toThrow(/^invalid deb822 syntax at line 2: expected "Field: value"/);
    expect(() => parseDeb822(" starts with a continuation\n")).toThrow(/^invalid deb822 syntax at line 1: continuation line without a field/);
    expect(() => parseDeb822(": no name\n")).toThrow(/^invalid deb822 syntax at line 1:/);
  });

  it("round-trips generated paragraphs", () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,12}$/);
    const firstLine = fc.stringMatching(/^[!-~]([ -~]{0,20}[!-~])?$/);
    const contLine = fc.stringMatching(/^[!-9;-~][ -~]{0,20}$/).filter((s) => s !== ".");
    const value = fc.tuple(firstLine, fc.array(contLine, { maxLength: 3 })).map(([f, rest]) => [f, ...rest].join("\n"));
    const para = fc.uniqueArray(fc.tuple(name, value), { minLength: 1, maxLength: 6, selector: ([k]) => k.toLowerCase() });
    fc.assert(
      fc.property(fc.array(para, { maxLength: 4 }), (paras) => {
        const text = paras.map((p) => p.map(([k, v]) => `${k}: ${v.replaceAll("\n", "\n ")}\n`).join("")).join("\n");
        expect(parseDeb822(text).map((p) => p.fields)).toEqual(paras);
      }),
    );
  });
});
