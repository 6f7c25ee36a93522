// The ar reader against archives made by the fixture writer and by binutils' ar itself.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readArMembers } from "../../src/deb/ar.js";
import { DebFormatError } from "../../src/deb/errors.js";
import { buildAr, type ArMember } from "../fixtures/ar.js";
import { hasCommand } from "../fixtures/deb.js";

const work = mkdtempSync(join(tmpdir(), "deb-ar-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let counter = 0;
function write(bytes: Uint8Array): string {
  const file = join(work, `a${counter++}.ar`);
  writeFileSync(file, bytes);
  return file;
}

const bytes = (n: number, seed: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

async function readAll(path: string): Promise<Array<{ name: string; size: number; offset: number; data: Buffer }>> {
  const out = [];
  for await (const m of readArMembers(path, "t.deb")) {
    const chunks: Uint8Array[] = [];
    for await (const c of m.stream()) chunks.push(c);
    out.push({ name: m.name, size: m.size, offset: m.offset, data: Buffer.concat(chunks) });
  }
  return out;
}

async function failure(path: string): Promise<DebFormatError> {
  const e = await readAll(path).catch((err: unknown) => err);
  expect(e).toBeInstanceOf(DebFormatError);
  return e as DebFormatError;
}

describe("readArMembers", () => {
  const members: ArMember[] = [
    { name: "debian-binary", data: new TextEncoder().encode("2.0\n") },
    { name: "odd", data: bytes(7, 1) },
    { name: "big", data: bytes(200_001, 2) }, // several read chunks, odd size
    { name: "empty", data: new Uint8Array(0) },
    { name: "control.tar.xz", data: bytes(3, 3) },
  ];

  for (const nameStyle of ["dpkg", "gnu"] as const) {
    it(`${nameStyle}-style names, odd sizes padded to even offsets`, async () => {
      const got = await readAll(write(buildAr(members, { nameStyle })));
      expect(got.map((m) => m.name)).toEqual(members.map((m) => m.name));
      for (const [i, m] of got.entries()) {
        expect(m.size).toBe(members[i]!.data.length);
        expect(m.offset % 2).toBe(0);
        expect(Buffer.compare(m.data, Buffer.from(members[i]!.data))).toBe(0);
      }
    });
  }

  it.skipIf(!hasCommand("ar", "--version"))("reads what binutils ar writes, and agrees with ar t/p", async () => {
    const dir = mkdtempSync(join(work, "binutils-"));
    const files = ["debian-binary", "one", "three.tar.gz"];
    files.forEach((f, i) => writeFileSync(join(dir, f), bytes(101 + i * 1000, i)));
    const archive = join(dir, "x.a");
    execFileSync("ar", ["rcD", archive, ...files], { cwd: dir });
    const got = await readAll(archive);
    expect(got.map((m) => m.name)).toEqual(execFileSync("ar", ["t", archive], { encoding: "utf8" }).trim().split("\n"));
    for (const m of got) expect(Buffer.compare(m.data, execFileSync("ar", ["p", archive, m.name]))).toBe(0);
  });

  it("members can be skipped without reading their data", async () => {
    const path = write(buildAr(members));
    const names: string[] = [];
    for await (const m of readArMembers(path, "t.deb")) names.push(m.name);
    expect(names).toEqual(members.map((m) => m.name));
  });

  it("a member's stream cannot be read after the reader moved on", async () => {
    const streams: Array<() => AsyncIterable<Uint8Array>> = [];
    for await (const m of readArMembers(write(buildAr(members)), "t.deb")) streams.push(m.stream);
    expect(() => streams[0]!()).toThrow(/moved on/);
  });

  it("tolerates a missing pad byte after the last member", async () => {
    const whole = buildAr([{ name: "a", data: bytes(5, 9) }]);
    expect(whole.length % 2).toBe(0);
    const got = await readAll(write(whole.subarray(0, whole.length - 1)));
    expect(got.map((m) => [m.name, m.size])).toEqual([["a", 5]]);
  });

  it("refuses bad magic, bad headers and truncation, naming the .deb", async () => {
    const good = buildAr(members);
    const notAr = await failure(write(new TextEncoder().encode("PK\x03\x04 not an ar archive at all")));
    expect(notAr.message).toMatch(/^t\.deb: not an ar archive/);
    const badTerminator = new Uint8Array(good);
    badTerminator[8 + 58] = 0x21;
    expect((await failure(write(badTerminator))).message).toContain("bad terminator");
    const badSize = new Uint8Array(good);
    badSize.set(new TextEncoder().encode("12x4      "), 8 + 48);
    expect((await failure(write(badSize))).message).toContain("size field");
    const cut = await failure(write(good.subarray(0, 8 + 60 + 4 + 60 + 3)));
    expect([cut.member, cut.message]).toEqual(["odd", "t.deb: odd: truncated: the member needs 7 bytes but the file has 3 left"]);
    expect((await failure(write(good.subarray(0, 8 + 30)))).message).toContain("stray bytes");
  });
});
