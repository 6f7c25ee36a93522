/**
 * The Contents line format on small hand-made files: blanks inside paths, several locations,
 * the old preamble, lines split across chunks, and the errors a malformed file gets.
 */
import { describe, expect, it } from "vitest";
import { CONTENTS_LIMITS } from "../../src/debian/contents.js";
import { ContentsQuery, usrMergeAlias } from "../../src/debian/contents-lookup.js";
import { UsageError, VerificationError } from "../../src/model/errors.js";

async function* chunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function lookup(text: string, paths: string[], size = 1 << 16) {
  const q = new ContentsQuery(paths);
  await q.scan(chunks(text, size), "Contents-test");
  return q.answer();
}

const FILE = [
  "usr/bin/tool                                            utils/tool",
  "usr/share/doc/a b/read me.txt                           doc/a-doc",
  "usr/lib/x86_64-linux-gnu/libz.so.1\tlibs/zlib1g,non-free/libs/zlib-extra,libs/zlib1g",
  "usr/share/données/é                                    misc/accents\r",
  "lib/x86_64-linux-gnu/libold.so.1                        libs/libold1",
].join("\n");

describe("Contents lookup", () => {
  it("keeps only the asked paths, split at the last blank field, in any chunking", async () => {
    const paths = ["/usr/bin/tool", "/usr/share/doc/a b/read me.txt", "/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/share/données/é", "/usr/bin/absent"];
    const want = new Map([
      ["/usr/bin/tool", [{ path: "/usr/bin/tool", packages: ["tool"] }]],
      ["/usr/share/doc/a b/read me.txt", [{ path: "/usr/share/doc/a b/read me.txt", packages: ["a-doc"] }]],
      ["/usr/lib/x86_64-linux-gnu/libz.so.1", [{ path: "/usr/lib/x86_64-linux-gnu/libz.so.1", packages: ["zlib-extra", "zlib1g"] }]],
      ["/usr/share/données/é", [{ path: "/usr/share/données/é", packages: ["accents"] }]],
      ["/usr/bin/absent", []],
    ]);
    expect(await lookup(FILE, paths)).toEqual(want);
    expect(await lookup(FILE, paths, 7)).toEqual(want);
  });

  it("answers a path under both merged-/usr spellings and says which one is listed", async () => {
    expect(usrMergeAlias("/lib/x")).toBe("/usr/lib/x");
    expect(usrMergeAlias("/usr/sbin/x")).toBe("/sbin/x");
    expect(usrMergeAlias("/usr/share/x")).toBeUndefined();
    expect(usrMergeAlias("/lib")).toBeUndefined();
    const got = await lookup(FILE, ["/usr/lib/x86_64-linux-gnu/libold.so.1", "/lib/x86_64-linux-gnu/libz.so.1"]);
    expect(got.get("/usr/lib/x86_64-linux-gnu/libold.so.1")).toEqual([{ path: "/lib/x86_64-linux-gnu/libold.so.1", packages: ["libold1"] }]);
    expect(got.get("/lib/x86_64-linux-gnu/libz.so.1")).toEqual([{ path: "/usr/lib/x86_64-linux-gnu/libz.so.1", packages: ["zlib-extra", "zlib1g"] }]);
  });

  it("skips the free-text preamble of old files up to its FILE LOCATION header", async () => {
    const old = "This file maps each file available in the Debian GNU/Linux system to\nthe package from which it originates.\n\nFILE                                                    LOCATION\n" + FILE;
    expect((await lookup(old, ["/usr/bin/tool"])).get("/usr/bin/tool")).toEqual([{ path: "/usr/bin/tool", packages: ["tool"] }]);
    const endless = "Some text without a header\n".repeat(CONTENTS_LIMITS.preambleLines + 1);
    await expect(lookup(endless, ["/usr/bin/tool"])).rejects.toThrow(/Contents-test: line 200: no "FILE LOCATION" header/);
  });

  it("refuses malformed lines with the file and line named", async () => {
    const refused = async (text: string, paths: string[]) => {
      const e = await lookup(text, paths).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(VerificationError);
      return (e as Error).message;
    };
    expect(await refused(FILE + "\nusr/bin/lonely\n", ["/usr/bin/tool"])).toMatch(/^Contents-test: line 6: expected "PATH SECTION\/PACKAGE/);
    expect(await refused("usr/bin/tool   utils/Bad_Name\n", ["/usr/bin/tool"])).toMatch(/line 1: location "utils\/Bad_Name" is not/);
    expect(await refused("usr/bin/tool " + "x".repeat(CONTENTS_LIMITS.lineBytes + 1), ["/usr/bin/tool"])).toMatch(/line 1: line is longer than 1 MiB/);
    await expect(lookup(FILE, ["usr/bin/tool"])).rejects.toBeInstanceOf(UsageError);
    await expect(lookup(FILE, ["/usr/../bin/tool"])).rejects.toBeInstanceOf(UsageError);
  });
});
