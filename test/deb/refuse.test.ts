// A hostile or broken .deb is refused with a DebFormatError naming the .deb and the member.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DebFormatError, readDeb } from "../../src/deb/read-deb.js";
import { readExtent } from "../../src/util/file-extent.js";
import { buildAr, type ArMember } from "../fixtures/ar.js";
import { buildDeb, buildTar, compress, hasCommand, maliciousEntries, renderControl, type DataCompression } from "../fixtures/deb.js";
import { HOSTILE_TARS } from "../fixtures/hostile-tars.js";
import { paxRecords, rawTar, type RawEntry } from "./raw-tar.js";

const haveCompressors = hasCommand("xz") && hasCommand("zstd");
if (!haveCompressors) console.warn("skipping .deb refusal tests that need xz and zstd to build fixtures");

const work = mkdtempSync(join(tmpdir(), "deb-refuse-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let counter = 0;
function write(bytes: Uint8Array): string {
  const file = join(work, `bad${counter++}.deb`);
  writeFileSync(file, bytes);
  return file;
}

const CONTROL = { Package: "evil", Version: "1.0", Architecture: "all", Maintainer: "M <m@example.org>", Description: "d" };
const enc = new TextEncoder();

async function controlMember(): Promise<ArMember> {
  return { name: "control.tar.gz", data: await compress(await buildTar([{ path: "./control", type: "file", content: renderControl(CONTROL) }]), "gz") };
}

/** A .deb around a hand-made data.tar. */
async function debWithDataTar(tar: Uint8Array, kind: DataCompression = "gz"): Promise<string> {
  return write(
    buildAr([
      { name: "debian-binary", data: enc.encode("2.0\n") },
      await controlMember(),
      { name: kind === "none" ? "data.tar" : `data.tar.${kind}`, data: await compress(tar, kind) },
    ]),
  );
}

async function refused(path: string, ...mentions: string[]): Promise<DebFormatError> {
  const label = "evil_1.0_all.deb";
  const e = await readDeb(path, { label }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DebFormatError);
  const err = e as DebFormatError;
  expect(err.message.startsWith(`${label}: `)).toBe(true);
  for (const m of mentions) expect(err.message).toContain(m);
  expect([err.exitCode, err.kind]).toEqual([1, "deb"]);
  return err;
}

describe.skipIf(!haveCompressors)("hostile data.tar entries", () => {
  const cases = [
    ["dotdot", "../escaped", ".."],
    ["absolute", "/etc/passwd", "absolute"],
    ["hardlinkEscape", "./etc/shadow-abs", "hard link target"],
    ["deviceNodes", "./etc/fifo", "fifo"],
  ] as const;
  for (const [kind, member, why] of cases) {
    for (const data of ["xz", "zst"] as const) {
      it(`${kind} (${data}) is refused, naming ${member}`, async () => {
        const deb = write(await buildDeb({ control: CONTROL, files: maliciousEntries(kind), exactFiles: true, dataCompression: data }));
        const err = await refused(deb, member, why);
        expect(err.member).toBe(member);
      });
    }
  }

  it("a '..' hidden after a legitimate prefix is refused", async () => {
    const entries = maliciousEntries("dotdot").filter((e) => e.path !== "../escaped");
    await refused(write(await buildDeb({ control: CONTROL, files: entries, exactFiles: true })), "./usr/../../etc/escaped");
  });

  it("a relative hard link climbing out is refused", async () => {
    const entries = maliciousEntries("hardlinkEscape").filter((e) => e.path !== "./etc/shadow-abs");
    await refused(write(await buildDeb({ control: CONTROL, files: entries, exactFiles: true })), "./etc/shadow-rel", "../../etc/shadow");
  });

  it("a character device is refused", async () => {
    const entries = maliciousEntries("deviceNodes").filter((e) => e.type !== "fifo");
    await refused(write(await buildDeb({ control: CONTROL, files: entries, exactFiles: true })), "./etc/mem", "character device");
  });

  // An escape through the package's own symlink is refused where the .deb is read (one
  // through another package's symlink is the layer tree's to refuse).
  for (const kind of ["symlinkEscape", "relativeSymlinkEscape"] as const) {
    it(`${kind} is refused, naming the member written through the link`, async () => {
      const entries = maliciousEntries(kind);
      const link = entries.find((e) => e.type === "symlink")!;
      const through = entries.find((e) => e.type === "file")!;
      const err = await refused(write(await buildDeb({ control: CONTROL, files: entries, exactFiles: true })), through.path, `written through ${link.path.slice(1)}, a symlink to ${link.target}`);
      expect(err.member).toBe(through.path);
    });
  }
});

// The very tars `image --add` refuses (test/image/add-tar-rules.test.ts): one rule for both.
describe("the hostile tars an --add is refused for, as a .deb's data.tar", () => {
  for (const h of HOSTILE_TARS) {
    it(`refuses ${h.what}, naming ${h.member}`, async () => {
      const err = await refused(await debWithDataTar(await h.tar()), h.member, h.why);
      expect(err.member).toBe(h.member);
    });
  }
});

describe("hand-made hostile tar headers", () => {
  const hostile: Array<[string, RawEntry[], string[]]> = [
    ["an empty name", [{ name: "", typeflag: "0", data: "x" }], ["empty name"]],
    ["a block device", [{ name: "./dev/sda", typeflag: "4" }], ["./dev/sda", "block device"]],
    ["a sparse file", [{ name: "./sparse", typeflag: "S", magic: "gnu" }], ["./sparse", "unsupported tar type"]],
    ["a NUL in a pax path", [{ name: "././@PaxHeader", typeflag: "x", data: paxRecords({ path: "./etc/a\0b" }) }, { name: "./x", typeflag: "0", data: "x" }], ["NUL"]],
    ["a pax path climbing out", [{ name: "././@PaxHeader", typeflag: "x", data: paxRecords({ path: "./usr/../../x" }) }, { name: "./x", typeflag: "0" }], ["./usr/../../x", ".."]],
    ["a pax linkpath that is absolute", [{ name: "./a", typeflag: "0", data: "a" }, { name: "././@PaxHeader", typeflag: "x", data: paxRecords({ linkpath: "/a" }) }, { name: "./b", typeflag: "1", linkname: "./a" }], ["./b", "hard link target"]],
    ["a GNU long name that is absolute", [{ name: "././@LongLink", typeflag: "L", magic: "gnu", data: `/etc/${"p".repeat(120)}\0` }, { name: "./x", typeflag: "0", magic: "gnu", data: "x" }], [`/etc/${"p".repeat(120)}`, "absolute"]],
    ["a hard link to a file not in the archive", [{ name: "./b", typeflag: "1", linkname: "./missing" }], ["./b", "not an earlier regular file"]],
    ["a hard link to a directory", [{ name: "./d/", typeflag: "5", mode: 0o755 }, { name: "./b", typeflag: "1", linkname: "./d" }], ["./b", "not an earlier regular file"]],
    ["a hard link to a later file", [{ name: "./b", typeflag: "1", linkname: "./a" }, { name: "./a", typeflag: "0", data: "a" }], ["./b"]],
    ["a symlink with no target", [{ name: "./l", typeflag: "2", linkname: "" }], ["./l", "symlink"]],
    ["a header with a bad checksum", [], ["data.tar.gz", "malformed tar"]],
  ];
  for (const [what, entries, mentions] of hostile) {
    it(`refuses ${what}`, async () => {
      let tar = rawTar(entries);
      if (entries.length === 0) {
        tar = rawTar([{ name: "./x", typeflag: "0", data: "x" }]);
        tar[0] = "y".charCodeAt(0); // name changed after the checksum was computed
      }
      await refused(await debWithDataTar(tar), ...mentions);
    });
  }

  it("accepts what the hostile cases are variations of (the raw builder makes valid tars)", async () => {
    const tar = rawTar([
      { name: "./", typeflag: "5", mode: 0o755 },
      { name: "./a", typeflag: "0", data: "a" },
      { name: "./b", typeflag: "1", linkname: "./a" },
      { name: "./l", typeflag: "2", linkname: "a" },
      { name: "././@PaxHeader", typeflag: "x", data: paxRecords({ path: `./${"q".repeat(150)}`, uid: "4242", gid: "77" }) },
      { name: "./ignored", typeflag: "0", data: "pax" },
      { name: "././@LongLink", typeflag: "L", magic: "gnu", data: `./${"g".repeat(120)}\0` },
      { name: "./ignored", typeflag: "0", magic: "gnu", data: "gnu" },
      { name: "./contiguous", typeflag: "7", data: "c" },
    ]);
    const got = await readDeb(await debWithDataTar(tar, "none"), { label: "ok.deb" });
    expect(got.data.map((m) => [m.path, m.type, m.target, m.uid, m.gid, m.extent && new TextDecoder().decode(readExtent(m.extent))])).toEqual([
      ["/", "dir", undefined, 0, 0, undefined],
      ["/a", "file", undefined, 0, 0, "a"],
      ["/b", "hardlink", "/a", 0, 0, undefined],
      ["/l", "symlink", "a", 0, 0, undefined],
      [`/${"q".repeat(150)}`, "file", undefined, 4242, 77, "pax"],
      [`/${"g".repeat(120)}`, "file", undefined, 0, 0, "gnu"],
      ["/contiguous", "file", undefined, 0, 0, "c"],
    ]);
  });
});

describe.skipIf(!haveCompressors)("broken archives", () => {
  const base = () => buildDeb({ control: CONTROL, files: [{ path: "./usr/share/doc/x", type: "file", content: "y".repeat(50_000) }] });

  it("a .deb truncated anywhere is refused", async () => {
    const whole = await base();
    for (const cut of [0, 3, 8, 30, 68, 100, Math.floor(whole.length / 2), whole.length - 1]) {
      const err = await refused(write(whole.subarray(0, cut)));
      expect(err.message).toMatch(/truncated|not an ar archive|empty|no control|no data/);
    }
  });

  for (const kind of ["xz", "gz", "zst"] as const) {
    it(`a corrupt ${kind} data stream is refused, naming data.tar.${kind}`, async () => {
      const deb = await buildDeb({ control: CONTROL, files: [{ path: "./usr/share/doc/x", type: "file", content: "y".repeat(50_000) }], dataCompression: kind });
      const text = Buffer.from(deb).toString("latin1");
      const start = text.indexOf(`data.tar.${kind}`) + 60;
      const corrupt = new Uint8Array(deb);
      const at = start + Math.floor((deb.length - start) / 2);
      for (let i = at; i < at + 8; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
      await refused(write(corrupt), `data.tar.${kind}`);
    });

    it(`a truncated ${kind} data stream inside a well-formed ar is refused`, async () => {
      const tar = await buildTar([{ path: "./x", type: "file", content: "z".repeat(100_000) }]);
      const data = await compress(tar, kind);
      const deb = buildAr([{ name: "debian-binary", data: enc.encode("2.0\n") }, await controlMember(), { name: `data.tar.${kind}`, data: data.subarray(0, data.length - 10) }]);
      await refused(write(deb), `data.tar.${kind}`);
    });
  }

  it("a tar that ends inside a member is refused", async () => {
    const tar = await buildTar([{ path: "./x", type: "file", content: "z".repeat(10_000) }]);
    await refused(await debWithDataTar(tar.subarray(0, 4096), "none"), "data.tar", "Unexpected end");
  });

  it("an unsupported format version, unknown members and bzip2 are refused with what to do", async () => {
    const control = await controlMember();
    const data = { name: "data.tar.gz", data: await compress(rawTar([{ name: "./", typeflag: "5" }]), "gz") };
    const v = (s: string): ArMember => ({ name: "debian-binary", data: enc.encode(s) });
    await refused(write(buildAr([v("3.0\n"), control, data])), "debian-binary", "format version 3.0");
    await refused(write(buildAr([v("two\n"), control, data])), "debian-binary", "malformed format version");
    await refused(write(buildAr([control, v("2.0\n"), data])), "control.tar.gz", "debian-binary");
    await refused(write(buildAr([v("2.0\n"), data, control])), "data.tar.gz", "expected control.tar");
    await refused(write(buildAr([v("2.0\n"), control])), "no data.tar");
    await refused(write(buildAr([v("2.0\n"), control, { name: "data.tar.bz2", data: enc.encode("BZh9") }])), "data.tar.bz2", "not supported");
    const noControlFile = { name: "control.tar", data: rawTar([{ name: "./md5sums", typeflag: "0", data: "" }]) };
    await refused(write(buildAr([v("2.0\n"), noControlFile, data])), 'no "control" file');
  });

  it("accepts format 2.x, reserved _members, and ignores members after data.tar (deb(5))", async () => {
    const control = await controlMember();
    const data = { name: "data.tar.gz", data: await compress(rawTar([{ name: "./", typeflag: "5", mode: 0o755 }]), "gz") };
    const deb = buildAr([
      { name: "debian-binary", data: enc.encode("2.1\nextra\n") },
      { name: "_gpgorigin", data: enc.encode("sig") },
      control,
      { name: "_extra", data: enc.encode("x") },
      data,
      { name: "whatever", data: enc.encode("later member") },
    ]);
    const got = await readDeb(write(deb), { label: "ok.deb" });
    expect(got.control).toBe(renderControl(CONTROL));
    expect(got.data.map((m) => m.path)).toEqual(["/"]);
  });

  it("a missing file is an IOError naming the path", async () => {
    const e = await readDeb(join(work, "nope.deb"), { label: "nope.deb" }).catch((err: unknown) => err);
    expect((e as Error).constructor.name).toBe("IOError");
    expect((e as Error).message).toContain("nope.deb");
  });
});
