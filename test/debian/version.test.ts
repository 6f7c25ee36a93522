import { execFile } from "node:child_process";
import { existsSync, readFileSync, createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDeb822, field } from "../../src/debian/deb822.js";
import { decompress } from "../../src/codec/decompress.js";
import { compareVersions, isValidVersion, parseVersion } from "../../src/debian/version.js";

const run = promisify(execFile);
const SNAPSHOT_INDEX = new URL("../../snapshots/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz", import.meta.url);

/** Versions built from the characters that matter to dpkg's ordering. */
const versionArb: fc.Arbitrary<string> = fc
  .record({
    epoch: fc.option(fc.constantFrom("0", "1", "2", "10", "00", "01"), { nil: undefined }),
    first: fc.constantFrom(..."0123456789"),
    upstream: fc.array(fc.constantFrom(..."0019az.A+~~:-"), { maxLength: 8 }),
    revision: fc.option(fc.array(fc.constantFrom(..."0129az.+~"), { minLength: 1, maxLength: 5 }), { nil: undefined }),
  })
  .map(({ epoch, first, upstream, revision }) => {
    let up = first + upstream.join("");
    // ':' in upstream needs an epoch and '-' needs a revision, or the split would change.
    if (epoch === undefined) up = up.replaceAll(":", ".");
    if (revision === undefined) up = up.replaceAll("-", "+");
    return (epoch !== undefined ? epoch + ":" : "") + up + (revision !== undefined ? "-" + revision.join("") : "");
  });

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

describe("parseVersion", () => {
  it("splits epoch, upstream and revision like dpkg", () => {
    expect(parseVersion("1:2.36-9+deb12u4")).toEqual({ epoch: 1, upstream: "2.36", revision: "9+deb12u4" });
    expect(parseVersion("2.36")).toEqual({ epoch: 0, upstream: "2.36", revision: "" });
    // The revision starts after the LAST hyphen; the epoch ends at the FIRST colon.
    expect(parseVersion("1.2-3-4")).toEqual({ epoch: 0, upstream: "1.2-3", revision: "4" });
    expect(parseVersion("2:1:2-3")).toEqual({ epoch: 2, upstream: "1:2", revision: "3" });
    expect(parseVersion(" 1.0 ")).toEqual({ epoch: 0, upstream: "1.0", revision: "" });
  });

  it.each([
    ["", /empty/],
    ["   ", /empty/],
    ["1.0 2", /embedded spaces/],
    [":1.0", /epoch in version is empty/],
    ["a:1.0", /epoch in version is not a number/],
    ["99999999999:1.0", /epoch in version is too big/],
    ["1:", /nothing after colon/],
    ["1.0-", /revision number is empty/],
    ["-1", /version number is empty/],
    ["a1.0", /does not start with digit/],
    ["1.0_2", /invalid character "_" in version number/],
    ["1.0-2_3", /invalid character "_" in revision number/],
    ["1:1.0-2:3", /invalid character ":" in revision number/],
  ])("rejects %j", (v, re) => {
    expect(isValidVersion(v)).toBe(false);
    expect(() => parseVersion(v)).toThrow(re);
    expect(() => parseVersion(v)).toThrow(JSON.stringify(v));
  });
});

describe("compareVersions", () => {
  it.each([
    ["1.0", "1.0", 0],
    ["1.0", "1.0-0", 0], // an absent revision equals "0"
    ["0:1.0", "1.0", 0],
    ["1.0", "1.00", 0], // digit runs compare numerically
    ["1.0~rc1", "1.0", -1], // ~ sorts before the end
    ["1.0~~", "1.0~", -1],
    ["1.0~", "1.0~a", -1],
    ["1.0", "1.0a", -1],
    ["1.0a", "1.0+", -1], // letters sort before other symbols
    ["1.0+", "1.0.", -1], // '+' (43) before '.' (46)
    ["1.0", "1.0.0", -1],
    ["1:1.0", "2.0", 1], // epoch first
    ["2.36-9+deb12u4", "2.36-9+deb12u10", -1],
    ["1.0-1", "1.0-1~bpo1", 1],
    ["10", "9", 1],
    ["1.0a", "1.0B", 1], // ASCII: 'B' < 'a'
  ])("%s vs %s → %i", (a, b, expected) => {
    expect(sign(compareVersions(a, b))).toBe(expected);
    expect(sign(compareVersions(b, a))).toBe(0 - expected || 0);
  });

  it("throws on invalid versions", () => {
    expect(() => compareVersions("1.0", "x")).toThrow(/invalid Debian version "x"/);
  });

  it("generated versions are valid", () => {
    fc.assert(fc.property(versionArb, (v) => isValidVersion(v)));
  });

  it("is reflexive and antisymmetric", () => {
    fc.assert(
      fc.property(versionArb, versionArb, (a, b) => {
        expect(compareVersions(a, a)).toBe(0);
        expect(sign(compareVersions(a, b)) + sign(compareVersions(b, a))).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it("is transitive", () => {
    fc.assert(
      fc.property(versionArb, versionArb, versionArb, (a, b, c) => {
        const [x, y, z] = [a, b, c].sort(compareVersions);
        expect(compareVersions(x!, y!)).toBeLessThanOrEqual(0);
        expect(compareVersions(y!, z!)).toBeLessThanOrEqual(0);
        expect(compareVersions(x!, z!)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });

  it("puts a ~ suffix before the version without it, and anything else after", () => {
    fc.assert(
      fc.property(versionArb, fc.stringMatching(/^[a-z0-9.+~]{0,4}$/), (v, s) => {
        // The suffix lands in the last part (revision, or upstream when there is none).
        expect(compareVersions(`${v}~${s}`, v)).toBeLessThan(0);
        expect(compareVersions(`${v}+${s}`, v)).toBeGreaterThan(0);
        expect(compareVersions(`${v}~${s}`, `${v}+${s}`)).toBeLessThan(0);
      }),
      { numRuns: 1000 },
    );
  });
});

async function readAll(input: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of input) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString("utf8");
}

function versionsOf(text: string): string[] {
  return parseDeb822(text)
    .map((p) => field(p, "Version"))
    .filter((v): v is string => v !== undefined);
}

/** A small deterministic PRNG (mulberry32) so the oracle pairs are the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ask dpkg for each pair's order, a few thousand pairs per shell script. */
async function dpkgOrder(pairs: Array<[string, string]>, dir: string): Promise<number[]> {
  const quote = (v: string): string => `'${v}'`; // valid versions hold no quote or shell metacharacter
  const batches: Array<Array<[string, string]>> = [];
  const per = Math.ceil(pairs.length / 2); // two cores
  for (let i = 0; i < pairs.length; i += per) batches.push(pairs.slice(i, i + per));
  const outputs = await Promise.all(
    batches.map(async (batch, n) => {
      const script = batch
        .map(([a, b]) => {
          const A = quote(a);
          const B = quote(b);
          return `if dpkg --compare-versions ${A} lt ${B}; then echo -1; elif dpkg --compare-versions ${A} eq ${B}; then echo 0; else echo 1; fi`;
        })
        .join("\n");
      const file = join(dir, `batch${n}.sh`);
      await writeFile(file, script + "\n");
      const { stdout, stderr } = await run("sh", [file], { maxBuffer: 1 << 24 });
      expect(stderr).toBe(""); // dpkg warns about versions it finds dubious: we must never feed it any
      return stdout.trim().split("\n").map(Number);
    }),
  );
  return outputs.flat();
}

const hasDpkg = existsSync("/usr/bin/dpkg");
if (!hasDpkg) console.log("skipping the dpkg oracle test: /usr/bin/dpkg is not installed");

describe.skipIf(!hasDpkg)("compareVersions agrees with dpkg --compare-versions", () => {
  it("on real and generated versions", { timeout: 120_000 }, async () => {
    const real = new Set<string>();
    if (existsSync("/var/lib/dpkg/status")) for (const v of versionsOf(readFileSync("/var/lib/dpkg/status", "utf8"))) real.add(v);
    const installed = real.size;
    const index = await readAll(decompress("xz", createReadStream(SNAPSHOT_INDEX)));
    for (const v of versionsOf(index)) real.add(v);
    expect(real.size).toBeGreaterThan(installed); // the snapshot contributed
    for (const v of real) expect(isValidVersion(v), v).toBe(true);

    const generated = fc.sample(versionArb, { numRuns: 1500, seed: 20240601 });
    const tricky = ["1.0~", "1.0~~", "1.0~~a", "1.0", "1.0-0", "1.0+", "1.0.", "1.0a", "1.0A", "1:0", "1:0.9", "0:1.0", "1.00", "1.0-0.1", "1.0-~", "1.0-0~", "9", "10", "1.0+b1", "1.0+~", "1.0~+"];
    const all = [...new Set([...real, ...generated, ...tricky])];
    const rnd = prng(42);
    const pick = (): string => all[Math.floor(rnd() * all.length)]!;
    const pairs: Array<[string, string]> = [];
    // Random pairs, plus neighbours in our own order (where a wrong comparison would show).
    for (let i = 0; i < 1500; i++) pairs.push([pick(), pick()]);
    const sorted = [...all].sort(compareVersions);
    const step = Math.max(1, Math.floor(sorted.length / 1500));
    for (let i = 0; i + 1 < sorted.length; i += step) pairs.push([sorted[i]!, sorted[i + 1]!]);
    for (const t of tricky) for (const u of tricky) pairs.push([t, u]);

    const dir = await mkdtemp(join(tmpdir(), "scratch-pkgs-dpkg-"));
    try {
      const expected = await dpkgOrder(pairs, dir);
      expect(expected.length).toBe(pairs.length);
      const mismatches = pairs.filter(([a, b], i) => sign(compareVersions(a, b)) !== expected[i]);
      expect(mismatches).toEqual([]);
      console.log(`dpkg oracle: ${pairs.length} pairs from ${real.size} real and ${generated.length} generated versions agree`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
