import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { compareBytes, comparePaths } from "../../src/util/byte-order.js";

describe("byte order", () => {
  it("orders paths as LC_ALL=C sort does, not as JavaScript's UTF-16 order", () => {
    // U+FF5E is one UTF-16 unit, U+1F600 two (surrogates D83D DE00): `<` puts the emoji first,
    // byte order (EF BD 9E < F0 9F 98 80) puts it last.
    const paths = ["/a/\u{1F600}", "/a/\uFF5E", "/a", "/a/b", "/a-b", "/a/B", "/"];
    const sorted = execFileSync("sort", [], { input: paths.join("\n") + "\n", env: { ...process.env, LC_ALL: "C" } }).toString("utf8").trimEnd().split("\n");
    expect([...paths].sort(comparePaths)).toEqual(sorted);
    expect([...paths].sort()).not.toEqual(sorted);
  });

  it("compares bytes unsigned, a shorter prefix first", () => {
    expect(compareBytes(Uint8Array.of(0x7f), Uint8Array.of(0x80))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(0);
    const shared = Uint8Array.of(9, 1, 2, 9);
    expect(compareBytes(shared.subarray(1, 3), Uint8Array.of(1, 2))).toBe(0);
  });
});
