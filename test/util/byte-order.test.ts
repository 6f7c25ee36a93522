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

describe("comparePaths without encoding", () => {
  it("agrees with comparing the UTF-8 encodings (Buffer.compare) on strings mixing ASCII, BMP, astral characters and lone surrogates", () => {
    // A fixed-seed generator: every comparison of 4,000 pairs, including prefixes of each other.
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const units = ["a", "b", "/", "\u00e9", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\uff5e", "\uffff", "\u{10000}", "\u{1f600}", "\u{10ffff}", "\ud83d", "\ude00"];
    const word = () => Array.from({ length: next() % 6 }, () => units[next() % units.length]).join("");
    const sign = (v: number) => Math.sign(v);
    for (let k = 0; k < 4000; k++) {
      const a = word();
      const b = next() % 3 === 0 ? a + word() : next() % 5 === 0 ? a : word();
      const want = sign(Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
      expect([a, b, sign(comparePaths(a, b))]).toEqual([a, b, want]);
      expect([b, a, sign(comparePaths(b, a))]).toEqual([b, a, want === 0 ? 0 : -want]);
    }
  });
});
