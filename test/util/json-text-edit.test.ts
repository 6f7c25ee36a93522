// Edits of JSON as text keep every byte they do not change, and write new values in the file's style.
import { describe, expect, it } from "vitest";
import { appendElement, detectStyle, insertMember, replaceValue } from "../../src/util/json-text-edit.js";

describe("JSON text edits", () => {
  it("keep a byte-order mark and four-space indentation", () => {
    const text = '\ufeff{\n    "a": {\n        "x": 1\n    }\n}\n';
    expect(detectStyle(text)).toMatchObject({ indent: "    ", eol: "\n", oneLine: false });
    expect(insertMember(text, "/a", "y", [1, 2])).toBe('\ufeff{\n    "a": {\n        "x": 1,\n        "y": [1, 2]\n    }\n}\n');
    expect(insertMember(text, "/a", "w", true, "x")).toBe('\ufeff{\n    "a": {\n        "w": true,\n        "x": 1\n    }\n}\n');
  });

  it("fill an empty object or array in place", () => {
    expect(insertMember('{\n  "a": {},\n  "b": 1\n}\n', "/a", "k", "v")).toBe('{\n  "a": { "k": "v" },\n  "b": 1\n}\n');
    expect(appendElement('{\n\t"a": [ ],\r\n\t"b": 1\r\n}\r\n', "/a", "x")).toBe('{\n\t"a": ["x"],\r\n\t"b": 1\r\n}\r\n');
  });

  it("write a value too long for one line one member per line, at the value's indentation, with the file's line ends", () => {
    const text = '{\r\n\t"a": 1\r\n}\r\n';
    const long = Array.from({ length: 8 }, (_, i) => `/usr/lib/x86_64-linux-gnu/lib${i}.so`);
    expect(replaceValue(text, "/a", long)).toBe(`{\r\n\t"a": [\r\n${long.map((p) => `\t\t${JSON.stringify(p)}`).join(",\r\n")}\r\n\t]\r\n}\r\n`);
  });

  it("keep the key order and a member's own text when a one-line object grows past its line", () => {
    const text = '{"s": {"b":  2, "a" :1}}';
    expect(insertMember(text, "/s", "c", 3)).toBe('{"s": {"b":  2, "a" :1, "c": 3}}');
    const wide = '{\n  "s": { "b": 2,  "a": 1 }\n}\n';
    const value = "x".repeat(90);
    expect(insertMember(wide, "/s", "c", value)).toBe(`{\n  "s": {\n    "b": 2,\n    "a": 1,\n    "c": ${JSON.stringify(value)}\n  }\n}\n`);
  });
});
