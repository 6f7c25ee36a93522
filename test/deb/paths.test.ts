// Member path normalisation: the accepted forms, the refusals, and properties over random names.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normaliseName } from "../../src/deb/member-rules.js";

/** The normal form, or throws the refusal (the text callers put in their error). */
const norm = (p: string): string => {
  const r = normaliseName(p);
  if ("refused" in r) throw new Error(r.refused);
  return r.path;
};

describe("normaliseName", () => {
  it.each([
    ["./usr/bin/x", "/usr/bin/x"],
    ["./", "/"],
    [".", "/"],
    ["usr/bin/x", "/usr/bin/x"],
    ["./usr//lib///x", "/usr/lib/x"],
    ["./usr/lib/", "/usr/lib"],
    ["./usr/./lib/./x", "/usr/lib/x"],
    ["./...", "/..."],
    ["./a..b/..c", "/a..b/..c"],
  ])("%j → %j", (input, expected) => {
    expect(norm(input)).toBe(expected);
  });

  it.each([
    ["", "empty name"],
    ["/etc/passwd", "absolute"],
    ["//etc/passwd", "absolute"],
    ["..", '".."'],
    ["../x", '".."'],
    ["./usr/../../x", '".."'],
    ["./usr/..", '".."'],
    ["./a\0b", "NUL"],
  ])("refuses %j", (input, why) => {
    expect(() => norm(input)).toThrow(why);
  });

  const segment = fc.oneof(
    fc.constantFrom(".", "", "..", "a", "usr", "lib", "...", "x.so.1"),
    fc.string({ unit: fc.constantFrom("a", ".", "-", "é", "/", " ") , minLength: 1, maxLength: 6 }),
  );
  const name = fc.array(segment, { minLength: 1, maxLength: 8 }).map((s) => s.join("/"));

  it("accepts exactly the names without '..', NUL, a leading '/' or emptiness; results are canonical", () => {
    fc.assert(
      fc.property(name, (n) => {
        const bad = n === "" || n.startsWith("/") || n.split("/").includes("..");
        let out: string | undefined;
        const r = normaliseName(n);
        if ("path" in r) out = r.path;
        expect(out === undefined).toBe(bad);
        if (out === undefined) return;
        expect(out.startsWith("/")).toBe(true);
        expect(out === "/" || !out.endsWith("/")).toBe(true);
        const segs = out.split("/").slice(1);
        if (out !== "/") for (const s of segs) expect(["", ".", ".."]).not.toContain(s);
        expect(norm("." + out)).toBe(out); // idempotent through the "./" form
      }),
      { numRuns: 2000 },
    );
  });
});
