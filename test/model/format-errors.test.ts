// The format errors of every parser share one base, which is not itself user-facing: it becomes
// a verification error (exit 1) or an input error (exit 2) that names where the bytes came from.
import { describe, expect, it } from "vitest";
import { DecompressError } from "../../src/codec/decompress.js";
import { ZstdDecompressError } from "../../src/codec/zstd.js";
import { TarFormatError } from "../../src/deb/tar-reader.js";
import { Deb822SyntaxError, parseDeb822 } from "../../src/debian/deb822.js";
import { FormatError, LockfileError, ManifestError, UsageError, VerificationError, isScratchError } from "../../src/model/errors.js";
import { JsonSyntaxError, parseJsonWithPositions } from "../../src/util/json.js";

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("FormatError", () => {
  const samples: Array<[string, FormatError]> = [
    ["xz", new DecompressError("xz", "corrupt data")],
    ["gzip", new DecompressError("gz", "unexpected end of file")],
    ["zstd", new ZstdDecompressError("input is empty")],
    ["tar", new TarFormatError("Invalid tar header")],
    ["JSON", thrown(() => parseJsonWithPositions('{"a": }')) as FormatError],
    ["deb822", thrown(() => parseDeb822("A: 1\nno colon\n")) as FormatError],
  ];

  it.each(samples)("%s: a FormatError, not a ScratchError (it cannot know its source)", (_, e) => {
    expect(e).toBeInstanceOf(FormatError);
    expect(isScratchError(e)).toBe(false);
    expect(e.name).toBe(e.constructor.name);
  });

  it("keeps what was malformed and where", () => {
    const json = samples[4]![1] as JsonSyntaxError;
    expect(json).toBeInstanceOf(JsonSyntaxError);
    expect([json.format, json.position, json.line, json.column]).toEqual(["JSON", "line 1, column 7", 1, 7]);
    expect(json.message).toBe(`invalid JSON at line 1, column 7: ${json.detail}`);
    const deb822 = samples[5]![1] as Deb822SyntaxError;
    expect([deb822.format, deb822.position, deb822.line]).toEqual(["deb822", "line 2", 2]);
    expect(samples[0]![1]).toMatchObject({ format: "xz data", detail: "corrupt data", position: undefined, message: "xz decompression failed: corrupt data" });
  });

  it("in pinned or signed input: a VerificationError (exit 1) naming the source", () => {
    const e = samples[0]![1].asVerificationError("http://127.0.0.1/dists/s/main/binary-amd64/Packages.xz", "report it");
    expect(e).toBeInstanceOf(VerificationError);
    expect([e.exitCode, e.kind, e.hint]).toEqual([1, "verification", "report it"]);
    expect(e.message).toBe("http://127.0.0.1/dists/s/main/binary-amd64/Packages.xz: xz decompression failed: corrupt data");
    expect(e.cause).toBe(samples[0]![1]);
  });

  it("in the user's files: a ManifestError, LockfileError or UsageError (exit 2) naming the file", () => {
    const json = samples[4]![1];
    const cases = [
      ["manifest", ManifestError, "manifest"],
      ["lockfile", LockfileError, "lockfile"],
      ["argument", UsageError, "usage"],
    ] as const;
    for (const [input, type, kind] of cases) {
      const e = json.asInputError("dir/file.json", input, "fix it");
      expect(e).toBeInstanceOf(type);
      expect([e.exitCode, e.kind, e.hint, e.cause]).toEqual([2, kind, "fix it", json]);
      expect(e.message).toBe(`dir/file.json: ${json.message}`);
    }
  });
});
