// A real path as a glob matches that path and no other, through the lock's own matcher
// (layer/select's selector, picomatch with dot: true), whatever characters the path has.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { selector } from "../../src/layer/select.js";
import { escapeGlob, isLiteralGlob } from "../../src/util/glob-literal.js";

const segment = fc.stringMatching(/^[a-z.+@!*?[\]{}()|,^$\\ -]{1,6}$/);
const path = fc
  .array(segment, { minLength: 1, maxLength: 4 })
  .map((s) => "/" + s.join("/"))
  .filter((p) => !p.includes("\\\\")); // picomatch reads two escaped backslashes as one: refused, see below
const matches = (glob: string, p: string) => selector([{ set: "t", include: [glob], exclude: [] }])(p);

describe("escapeGlob", () => {
  it("matches exactly the path it was made from", () => {
    fc.assert(
      fc.property(path, path, (p, q) => {
        const glob = escapeGlob(p)!;
        expect(matches(glob, p)).toBe(true);
        expect(matches(glob, q)).toBe(p === q);
        expect(isLiteralGlob(glob)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses a path with two backslashes in a row, which picomatch cannot match alone", () => {
    const p = "/a\\\\b";
    expect(escapeGlob(p)).toBeUndefined();
    // Why: the escaped form matches the path with one backslash, not the path itself.
    expect([matches("/a\\\\\\\\b", p), matches("/a\\\\\\\\b", "/a\\b")]).toEqual([false, true]);
  });

  it("leaves a path with nothing picomatch reads specially as it is, and tells globs from literal paths", () => {
    expect(escapeGlob("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")).toBe("/usr/lib/x86_64-linux-gnu/libstdc++.so.6");
    expect(["/usr/lib/*/libssl.so.*", "/usr/share/zoneinfo/**", "/a/{b,c}", "/a/[ab]", "/a\\"].map(isLiteralGlob)).toEqual([false, false, false, false, false]);
  });
});
