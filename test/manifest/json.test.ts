import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonSyntaxError, parseJsonWithPositions } from "../../src/util/json.js";
import { fieldPath } from "../../src/util/json-errors.js";
import { didYouMean, levenshtein } from "../../src/util/did-you-mean.js";

describe("parseJsonWithPositions", () => {
  it("agrees with JSON.parse on any JSON text, compact or indented", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2, "\t"), (v, indent) => {
        const text = JSON.stringify(v, null, indent);
        expect(parseJsonWithPositions(text).value).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it("rejects what JSON.parse rejects", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (s) => {
        let native = true;
        try {
          JSON.parse(s);
        } catch {
          native = false;
        }
        let ours = true;
        try {
          parseJsonWithPositions(s);
        } catch (e) {
          expect(e).toBeInstanceOf(JsonSyntaxError);
          ours = false;
        }
        expect(ours).toBe(native);
      }),
      { numRuns: 2000 },
    );
  });

  it("records where each value and key starts", () => {
    const text = '{\n  "a": [1, {"b": "x"}],\n  "c/d": true\n}';
    const doc = parseJsonWithPositions(text);
    expect(text.slice(doc.valueAt.get("/a")!).startsWith("[1,")).toBe(true);
    expect(text.slice(doc.valueAt.get("/a/1/b")!).startsWith('"x"')).toBe(true);
    expect(text.slice(doc.keyAt.get("/c~1d")!).startsWith('"c/d"')).toBe(true);
  });

  it("keeps a __proto__ key as plain data", () => {
    const v = parseJsonWithPositions('{"__proto__": {"x": 1}}').value as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(["__proto__"]);
  });

  it("rejects duplicate keys, which JSON.parse would let through", () => {
    expect(() => parseJsonWithPositions('{"x": 1,\n "x": 2}')).toThrow(/line 2, column 2: duplicate key "x"/);
  });
});

describe("error helpers", () => {
  it("turns JSON pointers into field paths", () => {
    const root = { sources: [{ suites: ["a", "b"] }], fileSets: { "1": { x: 1 } } };
    expect(fieldPath(root, "/sources/0/suites/1")).toBe("sources[0].suites[1]");
    expect(fieldPath(root, "/fileSets/1/x")).toBe("fileSets.1.x");
    expect(fieldPath(root, "")).toBe("");
  });

  it("computes edit distance and suggestions", () => {
    expect(levenshtein("suite", "suites")).toBe(1);
    expect(levenshtein("kitten", "sitting")).toBe(3);
    expect(didYouMean("suite", ["name", "suites", "url"])).toBe("suites");
    expect(didYouMean("Keyring", ["keyring"])).toBe("keyring");
    expect(didYouMean("zzz", ["name", "url"])).toBeUndefined();
  });
});
