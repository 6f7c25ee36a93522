import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VerificationError } from "../../src/model/errors.js";
import { field, parseDeb822, type Paragraph } from "../../src/debian/deb822.js";
import { decompress } from "../../src/codec/decompress.js";
import { parsePackages, readPackages } from "../../src/debian/packages.js";
import { parseRelations } from "../../src/debian/relations.js";
import type { PackageOrigin, PackageRecord } from "../../src/model/package.js";

const SNAPSHOT_INDEX = fileURLToPath(new URL("../../snapshots/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz", import.meta.url));
const ORIGIN: PackageOrigin = { source: "debian", suite: "bookworm-updates", component: "main" };
const LABEL = "https://mirror.invalid/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz";
const SHA = "a".repeat(64);

async function* chunks(data: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let i = 0;
  let k = 0;
  while (i < data.length) {
    const n = sizes[k++ % sizes.length]!;
    yield data.subarray(i, i + n);
    i += n;
  }
}

const parse = (text: string | Uint8Array, sizes: number[] = [1 << 16]): Promise<PackageRecord[]> =>
  readPackages(chunks(typeof text === "string" ? Buffer.from(text) : text, sizes), ORIGIN, LABEL);

/** The record an independent, whole-text deb822 parse implies for a stanza. */
function expectedRecord(p: Paragraph): PackageRecord {
  const name = field(p, "Package")!;
  return {
    name,
    version: field(p, "Version")!,
    architecture: field(p, "Architecture")!,
    multiArch: (field(p, "Multi-Arch") ?? "no") as PackageRecord["multiArch"],
    essential: field(p, "Essential") === "yes",
    important: field(p, "Important") === "yes" || field(p, "Protected") === "yes",
    priority: field(p, "Priority") ?? "",
    depends: field(p, "Depends") ?? "",
    preDepends: field(p, "Pre-Depends") ?? "",
    provides: field(p, "Provides") ?? "",
    conflicts: field(p, "Conflicts") ?? "",
    breaks: field(p, "Breaks") ?? "",
    sourcePackage: (field(p, "Source") ?? name).split(" ")[0]!,
    filename: field(p, "Filename")!,
    size: Number(field(p, "Size")),
    sha256: field(p, "SHA256")!,
    origin: ORIGIN,
  };
}

const stanza = (over: Record<string, string | undefined> = {}): string => {
  const fields: Record<string, string | undefined> = {
    Package: "foo",
    Version: "1.0-1",
    Architecture: "amd64",
    Maintainer: "Jörg Ünicode <j@example.invalid>",
    Filename: "pool/main/f/foo/foo_1.0-1_amd64.deb",
    Size: "1234",
    SHA256: SHA,
    Description: "a package\n multi-line\n .\n description",
    ...over,
  };
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join("");
};

describe("parsePackages on the real snapshot index", () => {
  const text = execFileSync("xz", ["-dc", SNAPSHOT_INDEX], { maxBuffer: 1 << 26 });
  const paragraphs = parseDeb822(text.toString("utf8"));

  it("agrees with an independent parse (xz -dc + parseDeb822) on every record", async () => {
    const records = await readPackages(decompress("xz", chunks(readFileSync(SNAPSHOT_INDEX), [4096])), ORIGIN, LABEL);
    expect(paragraphs.length).toBeGreaterThan(20);
    expect(records).toEqual(paragraphs.map(expectedRecord));
    // Spot checks that do not go through the same field lookups.
    const lines = text.toString("utf8").split("\n");
    expect(records.map((r) => `Package: ${r.name}`)).toEqual(lines.filter((l) => l.startsWith("Package: ")));
    expect(records.map((r) => `SHA256: ${r.sha256}`)).toEqual(lines.filter((l) => l.startsWith("SHA256: ")));
    for (const r of records) {
      expect(r.filename).toMatch(new RegExp(`^pool/main/.*/${r.name.replace(/[+.]/g, "\\$&")}_`));
      parseRelations(r.depends);
      parseRelations(r.preDepends);
      parseRelations(r.provides);
    }
    expect(records.some((r) => r.sourcePackage !== r.name)).toBe(true);
    expect(records.some((r) => r.multiArch === "same")).toBe(true);
  });

  it("yields identical records however the input is split", async () => {
    const whole = await parse(text);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 10 }), async (sizes) => {
        expect(await parse(text, sizes)).toEqual(whole);
      }),
      { numRuns: 25 },
    );
  });
});

describe("parsePackages details", () => {
  it("defaults Multi-Arch to no, reads Essential, strips the Source version", async () => {
    const [a, b] = await parse(
      stanza() + "\n" + stanza({ Package: "bar", "Multi-Arch": "same", Essential: "yes", Source: "glibc (2.36-9+deb12u4)" }),
    );
    expect(a).toMatchObject({ name: "foo", multiArch: "no", essential: false, sourcePackage: "foo", size: 1234, depends: "" });
    expect(b).toMatchObject({ name: "bar", multiArch: "same", essential: true, sourcePackage: "glibc" });
    expect(b!.origin).toEqual(ORIGIN);
  });

  it("keeps Priority and the Important / Protected flags apt ranks providers by", async () => {
    const [a, b, c] = await parse(
      stanza({ Priority: "required" }) + "\n" + stanza({ Package: "bar", Important: "yes" }) + "\n" + stanza({ Package: "baz", Protected: "yes", Priority: "optional" }),
    );
    expect(a).toMatchObject({ name: "foo", priority: "required", important: false });
    expect(b).toMatchObject({ name: "bar", priority: "", important: true });
    expect(c).toMatchObject({ name: "baz", priority: "optional", important: true });
    await expect(parse(stanza({ Important: "maybe" }))).rejects.toThrow(/package "foo" \(stanza at line 1\): invalid Important "maybe" \(expected yes or no\)/);
  });

  it("reads field names case-insensitively and joins continuation lines", async () => {
    const [r] = await parse("package: foo\nVERSION: 1.0\narchitecture: all\nfilename: pool/f.deb\nsize: 0\nsha256: " + SHA + "\ndepends: aa,\n bb (>= 1),\n cc\n");
    expect(r).toMatchObject({ name: "foo", version: "1.0", architecture: "all", size: 0, depends: "aa,\nbb (>= 1),\ncc" });
    expect(parseRelations(r!.depends).map((g) => g[0]!.name)).toEqual(["aa", "bb", "cc"]);
  });

  it("tolerates CRLF line ends", async () => {
    const [r] = await parse(stanza({ Depends: "a,\n b" }).replaceAll("\n", "\r\n"));
    expect(r).toMatchObject({ name: "foo", sha256: SHA, size: 1234, depends: "a,\nb" });
  });

  it("accepts extra blank lines and a last stanza without a trailing newline", async () => {
    const text = "\n\n" + stanza() + "\n\n\n" + stanza({ Package: "bar" }).trimEnd();
    expect((await parse(text)).map((r) => r.name)).toEqual(["foo", "bar"]);
    expect(await parse("")).toEqual([]);
  });

  it("decodes UTF-8 in kept fields even when a chunk boundary splits a character", async () => {
    const text = Buffer.from(stanza({ Filename: "pool/main/f/foo/fööbär_1.0_amd64.deb" }));
    for (let cut = 1; cut < 40; cut++) {
      const [r] = await parse(text, [text.indexOf("ö") + (cut % 3), cut]);
      expect(r!.filename).toBe("pool/main/f/foo/fööbär_1.0_amd64.deb");
    }
  });

  it("streams: records come out before the input ends", async () => {
    let ended = false;
    async function* input(): AsyncGenerator<Uint8Array> {
      yield Buffer.from(stanza() + "\n");
      yield Buffer.from(stanza({ Package: "bar" }));
      ended = true;
    }
    const it = parsePackages(input(), ORIGIN, LABEL)[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ name: "foo" });
    expect(ended).toBe(false);
    expect((await it.next()).value).toMatchObject({ name: "bar" });
    expect((await it.next()).done).toBe(true);
  });

  it.each([
    [{ Package: undefined }, /stanza at line 1: missing Package field/],
    [{ Version: undefined }, /package "foo".*missing Version field/],
    [{ Architecture: undefined }, /package "foo".*missing Architecture field/],
    [{ Filename: undefined }, /package "foo".*missing Filename field/],
    [{ Size: undefined }, /package "foo".*missing Size field/],
    [{ SHA256: undefined }, /package "foo".*missing SHA256 field/],
    [{ Size: "-1" }, /package "foo".*Size "-1" is not a non-negative integer/],
    [{ Size: "12.5" }, /Size "12.5" is not a non-negative integer/],
    [{ Size: "99999999999999999999" }, /Size .* is not a non-negative integer/],
    [{ SHA256: SHA.toUpperCase() }, /package "foo".*SHA256 .* is not 64 lowercase hex digits/],
    [{ SHA256: SHA.slice(1) }, /SHA256 .* is not 64 lowercase hex digits/],
    [{ Filename: "/etc/passwd" }, /package "foo".*Filename "\/etc\/passwd" must be a relative path/],
    [{ Filename: "pool/../../x.deb" }, /Filename .* without "\.\." segments/],
    [{ Filename: "../x.deb" }, /Filename .* without "\.\." segments/],
    [{ Filename: "pool/%2e%2e/%2E%2E/x.deb" }, /Filename .* path segment "%2e%2e" leaves or hides its place/],
    [{ Filename: "pool/x.deb?y" }, /Filename .* has characters a pool file name does not use/],
    [{ Version: "x1.0" }, /package "foo".*invalid Version "x1.0"/],
    [{ Package: "Foo_Bar" }, /invalid Package name "Foo_Bar"/],
    [{ "Multi-Arch": "maybe" }, /package "foo".*invalid Multi-Arch "maybe"/],
    [{ Essential: "sure" }, /package "foo".*invalid Essential "sure"/],
    [{ Source: "glibc (2.36" }, /package "foo".*invalid Source/],
  ])("rejects a stanza with %j", async (over, re) => {
    const err = await parse(stanza(over as Record<string, string | undefined>)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toContain(LABEL);
    expect((err as Error).message).toMatch(re);
  });

  it("rejects duplicate fields, lines that are not fields, and stray continuation lines", async () => {
    await expect(parse(stanza() + "Version: 2.0\n")).rejects.toThrow(/line 12 \(package "foo"\): duplicate Version field/);
    await expect(parse(stanza() + "this is not a field\n")).rejects.toThrow(/line 12 \(package "foo"\): expected "Field: value", got "this is not a field"/);
    await expect(parse(" continuation\n" + stanza())).rejects.toThrow(/line 1: continuation line without a field/);
    await expect(parse(stanza() + "\n" + stanza({ Size: "x" }))).rejects.toThrow(/package "foo" \(stanza at line 13\): Size "x"/);
  });
});

describe("parsePackages limits on long lines", () => {
  const MiB = 1 << 20;
  /** `head`, then `fill` repeated in 64 KiB chunks up to `bytes`, then `tail`: made as read, so a parser that stops early reads little. */
  async function* generated(head: string, fill: string, bytes: number, tail: string): AsyncGenerator<Uint8Array> {
    yield Buffer.from(head);
    const piece = Buffer.from(fill.repeat(Math.ceil((64 * 1024) / fill.length)));
    for (let sent = 0; sent < bytes; sent += piece.length) yield piece;
    yield Buffer.from(tail);
  }
  const refusal = (input: AsyncIterable<Uint8Array>): Promise<unknown> =>
    readPackages(input, ORIGIN, LABEL).then(
      () => undefined,
      (e: unknown) => e,
    );

  it("refuses a 64 MiB line as soon as it passes 1 MiB, naming the index, package, line and field", async () => {
    const before = stanza();
    const err = await refusal(generated(before + "\n" + stanza({ Description: undefined }) + "Description: ", "x", 64 * MiB, "\n"));
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toBe(`${LABEL}: line 20 (package "foo"): field "Description" is longer than 1 MiB (the limit per field)`);
  });

  it("refuses a field that grows past 1 MiB through continuation lines, and a long line delivered in one chunk", async () => {
    const lines = stanza({ Depends: "a" }) + " b,\n".repeat(MiB / 2);
    await expect(parse(lines)).rejects.toThrow(/: line \d+ \(package "foo"\): field "Depends" is longer than 1 MiB \(the limit per field\)$/);
    await expect(parse(stanza({ Provides: "p, ".repeat(MiB / 2) }), [8 * MiB])).rejects.toThrow(/: line 12 \(package "foo"\): field "Provides" is longer than 1 MiB/);
  });

  it("refuses a line without a field name that never ends, and a stanza past 4 MiB", async () => {
    const err = await refusal(generated(stanza() + "\n", "y", 8 * MiB, ""));
    expect((err as Error).message).toBe(`${LABEL}: line 13: line is longer than 1 MiB (the limit per field)`);
    const big = (i: number): string => `X-Field-${i}: ${"z".repeat(MiB - 100)}\n`;
    const text = stanza() + [0, 1, 2, 3, 4].map(big).join("");
    await expect(parse(text)).rejects.toThrow(/: package "foo" \(stanza at line 1\): stanza is longer than 4 MiB \(the limit per stanza\)$/);
  });

  it("keeps a long but legal field whole (a 900 KiB Provides, across chunk boundaries)", async () => {
    const provides = Array.from({ length: 60_000 }, (_, i) => `virtual-${i}`).join(", ");
    expect(provides.length).toBeGreaterThan(800 * 1024);
    expect(provides.length).toBeLessThan(MiB);
    const [a, b] = await parse(stanza({ Provides: provides }) + "\n" + stanza({ Package: "bar" }), [4096, 65536, 7]);
    expect(a!.provides).toBe(provides);
    expect(b!.name).toBe("bar");
  });
});

/** The machine's full bookworm main amd64 index from `apt-get update`, if any (kept lz4-compressed by apt). */
function aptIndex(): string | undefined {
  const dir = "/var/lib/apt/lists";
  try {
    const name = readdirSync(dir).find((f) => /_dists_bookworm_main_binary-amd64_Packages\.lz4$/.test(f));
    if (name === undefined) return undefined;
    execFileSync("lz4", ["--version"], { stdio: "ignore" });
    return `${dir}/${name}`;
  } catch {
    return undefined;
  }
}
const full = aptIndex();
if (full === undefined) console.log("skipping the full-index test: no lz4-compressed bookworm main amd64 index in the apt lists, or no lz4 tool");

describe.skipIf(full === undefined)("parsePackages on the machine's full bookworm main index", () => {
  it("parses every stanza", { timeout: 120_000 }, async () => {
    const child = spawn("lz4", ["-dc", full!], { stdio: ["ignore", "pipe", "inherit"] });
    let count = 0;
    const names = new Set<string>();
    for await (const r of parsePackages(child.stdout, ORIGIN, "apt lists index")) {
      count++;
      names.add(`${r.name}:${r.architecture}`);
    }
    const expected = Number(execFileSync("sh", ["-c", 'lz4 -dc "$1" | grep -c "^Package: "', "sh", full!]).toString().trim());
    expect(count).toBe(expected);
    expect(count).toBeGreaterThan(50_000);
    expect(names.has("libc6:amd64")).toBe(true);
  });
});
