import { readFileSync, statSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VerificationError } from "../../src/model/errors.js";
import { loadKeyring } from "../../src/sources/keyring.js";
import { checkValidUntil, parseRelease, parseReleaseDate } from "../../src/sources/release.js";
import { verifyClearsigned } from "../../src/sources/signature.js";
import { sha256Hex } from "../../src/util/hash.js";

const SNAP = "snapshots/debian/dists/bookworm-updates";
const LABEL = "https://deb.example.test/debian/dists/stable/InRelease";

function thrown(f: () => unknown): VerificationError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(VerificationError);
    return e as VerificationError;
  }
  throw new Error("expected a VerificationError");
}

const HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
function release(extra: string[] = [], sha: string[] = [` ${HASH} 0 main/binary-amd64/Packages`]): string {
  return ["Origin: Test", "Suite: stable", "Codename: demo", "Date: Sat, 21 Nov 2026 02:10:46 UTC", ...extra, "SHA256:", ...sha].join("\n") + "\n";
}

describe("parseRelease on the real bookworm-updates InRelease", () => {
  it("reads the fields, and its SHA256 entry for Packages.xz matches the recorded file", async () => {
    const keyring = await loadKeyring("keys/debian-archive-bookworm.asc");
    const v = await verifyClearsigned(readFileSync(`${SNAP}/InRelease`), keyring, {
      label: `${SNAP}/InRelease`,
      at: new Date("2026-11-22T00:00:00Z"),
    });
    const info = parseRelease(v.text, `${SNAP}/InRelease`);
    expect(info.dateText).toBe("Sat, 21 Nov 2026 02:10:46 UTC");
    expect(info.date.getTime()).toBe(Date.UTC(2026, 10, 21, 2, 10, 46));
    expect(info.validUntil).toBeUndefined();
    expect(info.suite).toBe("oldstable-updates");
    expect(info.codename).toBe("bookworm-updates");
    expect(info.acquireByHash).toBe(true);
    expect(info.noArchAllPackages).toBe(true);
    expect(info.architectures).toEqual(["all", "amd64", "arm64", "armel", "armhf", "i386", "mips64el", "mipsel", "ppc64el", "s390x"]);
    expect(info.components).toEqual(["main", "contrib", "non-free-firmware", "non-free"]);
    // Independent check: the snapshot's Packages.xz bytes hash to what Release lists.
    const xz = readFileSync(`${SNAP}/main/binary-amd64/Packages.xz`);
    expect(info.files.get("main/binary-amd64/Packages.xz")).toEqual({ size: statSync(`${SNAP}/main/binary-amd64/Packages.xz`).size, sha256: sha256Hex(xz) });
    // Every line of the SHA256 section became an entry (paths are unique in Debian's Release).
    const section = v.text.slice(v.text.indexOf("\nSHA256:\n") + 9).split("\n").filter((l) => l.startsWith(" "));
    expect(info.files.size).toBe(section.length);
  });
});

describe("parseRelease", () => {
  it("parses a minimal Release", () => {
    const info = parseRelease(release(["Valid-Until: Sat, 28 Nov 2026 02:10:46 UTC", "Acquire-By-Hash: no"]), LABEL);
    expect(info.validUntil?.getTime()).toBe(Date.UTC(2026, 10, 28, 2, 10, 46));
    expect(info.validUntilText).toBe("Sat, 28 Nov 2026 02:10:46 UTC");
    expect(info.acquireByHash).toBe(false);
    expect(info.noArchAllPackages).toBe(false);
    expect(info.architectures).toEqual([]);
    expect([...info.files]).toEqual([["main/binary-amd64/Packages", { size: 0, sha256: HASH }]]);
  });

  it("requires Date and SHA256, naming the URL and the field", () => {
    const noDate = thrown(() => parseRelease(release().replace(/^Date:.*\n/m, ""), LABEL));
    expect(noDate.message).toContain(LABEL);
    expect(noDate.message).toContain('"Date"');
    const noSha = thrown(() => parseRelease(release([], []).replace("SHA256:\n", "MD5Sum:\n d41d8cd98f00b204e9800998ecf8427e 0 x\n"), LABEL));
    expect(noSha.message).toContain(LABEL);
    expect(noSha.message).toContain('"SHA256"');
    expect(noSha.exitCode).toBe(1);
  });

  it("rejects malformed SHA256 lines, unsafe paths and conflicting duplicates", () => {
    for (const [line, why] of [
      [" abc 12 main/x", /malformed line/],
      [` ${HASH} -1 main/x`, /malformed line/],
      [` ${HASH} 1 ../../etc/passwd`, /unsafe path/],
      [` ${HASH} 1 /etc/passwd`, /unsafe path/],
      [` ${HASH} 1 main//x`, /unsafe path/],
      [` ${HASH} 99999999999999999999 main/x`, /too large/],
    ] as const) {
      expect(thrown(() => parseRelease(release([], [line]), LABEL)).message).toMatch(why);
    }
    const dup = [` ${HASH} 0 main/x`, ` ${HASH.replace("e3", "ff")} 0 main/x`];
    expect(thrown(() => parseRelease(release([], dup), LABEL)).message).toMatch(/listed twice/);
  });

  it("rejects more than one paragraph and deb822 syntax errors", () => {
    expect(thrown(() => parseRelease(release() + "\nOrigin: Evil\n", LABEL)).message).toMatch(/one Release paragraph/);
    expect(thrown(() => parseRelease("not a field\n", LABEL)).message).toMatch(/line 1/);
  });

  it("refuses a field past 1 MiB and a paragraph past 4 MiB, naming the URL, line and field", () => {
    const longLine = release(["Description: " + "d".repeat(1 << 20)]);
    expect(thrown(() => parseRelease(longLine, LABEL)).message).toBe(
      `${LABEL}: invalid deb822 syntax at line 5: field "Description" is longer than 1 MiB (the limit per field)`,
    );
    const entries = Array.from({ length: 12_000 }, (_, i) => ` ${HASH} ${i} main/binary-amd64/Packages-${"x".repeat(300)}-${i}`);
    expect(thrown(() => parseRelease(release([], entries), LABEL)).message).toMatch(new RegExp(`^${LABEL}: invalid deb822 syntax at line \\d+: field "SHA256" is longer than 1 MiB`));
    const manyFields = release(Array.from({ length: 5 }, (_, i) => `X-Big-${i}: ${"b".repeat(1000 * 1000)}`));
    expect(thrown(() => parseRelease(manyFields, LABEL)).message).toMatch(/line 9: paragraph starting at line 1 is longer than 4 MiB \(the limit per paragraph\)$/);
  });
});

describe("parseReleaseDate", () => {
  it("reads Debian's format in UTC whatever TZ says", () => {
    const saved = process.env.TZ;
    try {
      for (const tz of ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]) {
        process.env.TZ = tz;
        expect(parseReleaseDate("Sat, 21 Nov 2026 02:10:46 UTC", LABEL, "Date").toISOString()).toBe("2026-11-21T02:10:46.000Z");
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it("accepts numeric offsets, GMT, a missing weekday and one-digit days", () => {
    expect(parseReleaseDate("Sat, 21 Nov 2026 04:10:46 +0200", LABEL, "Date").toISOString()).toBe("2026-11-21T02:10:46.000Z");
    expect(parseReleaseDate("Fri, 20 Nov 2026 21:40:46 -0430", LABEL, "Date").toISOString()).toBe("2026-11-21T02:10:46.000Z");
    expect(parseReleaseDate("1 Nov 2026 00:00:00 GMT", LABEL, "Date").toISOString()).toBe("2026-11-01T00:00:00.000Z");
  });

  it("round-trips every instant formatted by Date#toUTCString (an independent RFC 1123 formatter)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4102444800 }), fc.constantFrom("GMT", "UTC", "+0000"), (secs, zone) => {
        const text = new Date(secs * 1000).toUTCString().replace(/GMT$/, zone);
        expect(parseReleaseDate(text, LABEL, "Date").getTime()).toBe(secs * 1000);
      }),
    );
  });

  it("is strict", () => {
    for (const text of [
      "21 Nov 2026 02:10:46", // no zone: would be local time
      "2026-11-21T02:10:46Z",
      "Sat, 31 Nov 2026 02:10:46 UTC",
      "Sun, 21 Nov 2026 02:10:46 UTC", // wrong weekday
      "Sat, 21 Nov 2026 24:00:00 UTC",
      "Sat, 21 Foo 2026 02:10:46 UTC",
      "Sat, 21 Nov 2026 02:10:46 EST",
      "Sat, 21 Nov 2026 02:10:46 UTC trailing",
    ]) {
      const e = thrown(() => parseReleaseDate(text, LABEL, "Valid-Until"));
      expect(e.message).toContain(LABEL);
      expect(e.message).toContain('"Valid-Until"');
    }
  });
});

describe("checkValidUntil", () => {
  const info = parseRelease(release(["Valid-Until: Sat, 28 Nov 2026 02:10:46 UTC"]), LABEL);
  const after = new Date(Date.UTC(2026, 10, 28, 2, 10, 47));
  const before = new Date(Date.UTC(2026, 10, 28, 2, 10, 46));

  it("passes until Valid-Until and fails after it, with a hint about allowExpired", () => {
    checkValidUntil(info, before, false, LABEL);
    const e = thrown(() => checkValidUntil(info, after, false, LABEL));
    expect(e.message).toContain(LABEL);
    expect(e.message).toContain("Valid-Until");
    expect(e.hint).toContain("allowExpired");
  });

  it("lets snapshot sources through with allowExpired, and ignores a missing Valid-Until", () => {
    checkValidUntil(info, after, true, LABEL);
    checkValidUntil(parseRelease(release(), LABEL), new Date(Date.UTC(2100, 0, 1)), false, LABEL);
  });
});
