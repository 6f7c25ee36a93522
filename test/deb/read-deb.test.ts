// readDeb against the real tools: every entry kind, long names in pax and GNU form, each
// compression, the recorded ca-certificates .deb; and the refusals a hostile .deb must meet.
import { execFileSync } from "node:child_process";
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readDeb } from "../../src/deb/read-deb.js";
import { readExtent, streamExtent } from "../../src/util/file-extent.js";
import type { NodeType } from "../../src/model/layer.js";
import { buildAr } from "../fixtures/ar.js";
import { heldDuring } from "../fixtures/held-memory.js";
import {
  buildDeb,
  buildTar,
  compress,
  renderControl,
  type ControlCompression,
  type DataCompression,
  type DebEntry,
  type DebSpec,
} from "../fixtures/deb.js";
import { expectMatchesOracle, oracle, sha256, skipReason } from "./oracle.js";

if (skipReason !== undefined) console.warn(`skipping .deb reader oracle tests: ${skipReason}`);

const work = mkdtempSync(join(tmpdir(), "deb-read-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let counter = 0;

function writeBytes(bytes: Uint8Array): string {
  const file = join(work, `pkg${counter++}.deb`);
  writeFileSync(file, bytes);
  return file;
}

async function writeDeb(spec: DebSpec): Promise<string> {
  return writeBytes(await buildDeb(spec));
}

const CONTROL = {
  Package: "hello",
  Version: "1:2.10-3",
  Architecture: "amd64",
  Maintainer: "Fixture Maker <fixtures@example.org>",
  Description: "greet the world\nA longer description.\n\nSecond paragraph.",
};

const LONG_COMPONENT = "c".repeat(120); // cannot be split into ustar prefix+name: pax
const LONG_SPLIT = `./usr/share/${"d".repeat(60)}/${"e".repeat(60)}/file.txt`; // fits ustar's prefix field
const LONG_TARGET = `../share/${"t".repeat(110)}`;
const binary = new Uint8Array(3 * 65536 + 17).map((_, i) => (i * 7919 + (i >> 9)) & 0xff);

/** Every entry kind and attribute a .deb carries. */
function everyKind(): DebEntry[] {
  return [
    { path: "./usr/bin/hello", type: "file", mode: 0o755, content: "#!/bin/sh\necho hello\n" },
    { path: "./usr/bin/sudo-ish", type: "file", mode: 0o4755, uid: 0, gid: 0, content: "setuid\n" },
    { path: "./usr/bin/wall-ish", type: "file", mode: 0o2755, uid: 0, gid: 5, content: "setgid\n" },
    { path: "./usr/lib/x86_64-linux-gnu/libhello.so.1.2", type: "file", content: binary },
    { path: "./usr/lib/x86_64-linux-gnu/libhello.so.1", type: "symlink", target: "libhello.so.1.2" },
    { path: "./usr/lib/abs-link", type: "symlink", target: "/etc/hello.conf" },
    { path: "./usr/lib/long-link", type: "symlink", target: LONG_TARGET },
    { path: "./usr/bin/hello-again", type: "hardlink", target: "./usr/bin/hello" },
    { path: `./usr/share/${LONG_COMPONENT}`, type: "file", content: "pax name\n" },
    { path: `./usr/share/${LONG_COMPONENT}-hardlink`, type: "hardlink", target: `./usr/share/${LONG_COMPONENT}` },
    { path: LONG_SPLIT, type: "file", content: "split name\n" },
    { path: "./etc/hello.conf", type: "file", mode: 0o600, uid: 1234, gid: 5678, content: "greeting=hi\n" },
    { path: "./etc/empty", type: "file", content: "" },
    { path: "./var/empty/", type: "dir", mode: 0o700, uid: 42, gid: 43 },
    { path: "./tmp/", type: "dir", mode: 0o1777 },
    { path: "./usr/share/doc/hello/naïve – ünïcode.txt", type: "file", content: "utf-8 name\n" },
  ];
}

function spec(data: DataCompression, control: ControlCompression): DebSpec {
  return {
    control: CONTROL,
    files: everyKind(),
    dataCompression: data,
    controlCompression: control,
    extraControlFiles: { conffiles: "/etc/hello.conf\n", postinst: "#!/bin/sh\nexit 0\n" },
  };
}

describe.skipIf(skipReason !== undefined)("readDeb agrees with dpkg-deb", () => {
  const combos: Array<[DataCompression, ControlCompression]> = [
    ["xz", "xz"],
    ["gz", "gz"],
    ["zst", "xz"],
    ["none", "none"],
    ["xz", "gz"],
    ["zst", "none"],
    ["gz", "none"],
    ["none", "xz"],
  ];
  for (const [data, control] of combos) {
    it(`data.tar ${data}, control.tar ${control}: every entry kind`, async () => {
      const deb = await writeDeb(spec(data, control));
      const got = await readDeb(deb, { label: "hello_2.10-3_amd64.deb" });
      expectMatchesOracle(got, oracle(deb));
      // The kinds the layer relies on, beyond what the file system shows.
      const byPath = new Map(got.data.map((m) => [m.path, m]));
      expect(byPath.get("/usr/bin/hello-again")).toMatchObject({ type: "hardlink", target: "/usr/bin/hello", member: "./usr/bin/hello-again" });
      expect(byPath.get("/usr/lib/long-link")).toMatchObject({ type: "symlink", target: LONG_TARGET });
      expect(byPath.get("/var/empty")).toMatchObject({ type: "dir", mode: 0o700, uid: 42, gid: 43, member: "./var/empty/" });
      expect(byPath.get("/")).toMatchObject({ type: "dir", member: "./" });
      expect(got.md5sums).toBe(new TextDecoder().decode(got.controlFiles.get("md5sums")));
      expect(got.control).toBe(renderControl(CONTROL));
    });
  }

  it("GNU ar member names (trailing slash)", async () => {
    const deb = await writeDeb({ ...spec("gz", "gz"), arNameStyle: "gnu" });
    expect(execFileSync("ar", ["t", deb], { encoding: "utf8" })).toContain("data.tar.gz");
    expectMatchesOracle(await readDeb(deb, { label: "gnu.deb" }), oracle(deb));
  });

  for (const format of ["gnu", "posix", "ustar"] as const) {
    it(`data.tar written by GNU tar --format=${format} (././@LongLink / pax / ustar)`, async () => {
      const tree = join(work, `tree-${format}`);
      const long = format === "ustar" ? "short" : "l".repeat(150);
      mkdirSync(join(tree, "usr/share/doc/pkg"), { recursive: true });
      writeFileSync(join(tree, "usr/share/doc/pkg", `${long}.txt`), "long name\n");
      writeFileSync(join(tree, "usr/share/doc/pkg/plain"), binary);
      linkSync(join(tree, "usr/share/doc/pkg", `${long}.txt`), join(tree, "usr/share/doc/pkg", `${long}.hard`));
      symlinkSync(format === "ustar" ? "plain" : `../${"s".repeat(140)}`, join(tree, "usr/share/doc/pkg/link"));
      mkdirSync(join(tree, "srv/private"), { recursive: true });
      chmodSync(join(tree, "srv/private"), 0o750);
      chmodSync(join(tree, "usr/share/doc/pkg/plain"), 0o640);
      const dataTar = execFileSync(
        "tar",
        [`--format=${format}`, "-c", "-f", "-", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@1704164645", "-C", tree, "."],
        { env: { ...process.env, LC_ALL: "C" }, maxBuffer: 1 << 28 },
      );
      const tarListing = execFileSync("tar", ["-tv"], { input: dataTar, encoding: "utf8" });
      if (format === "gnu") expect(dataTar.includes(Buffer.from("././@LongLink"))).toBe(true);
      if (format === "posix") expect(dataTar.includes(Buffer.from(" path="))).toBe(true);
      expect(tarListing).toContain("link to");
      const controlTar = await buildTar([
        { path: "./", type: "dir" },
        { path: "./control", type: "file", content: renderControl(CONTROL) },
      ]);
      const deb = writeBytes(
        buildAr([
          { name: "debian-binary", data: new TextEncoder().encode("2.0\n") },
          { name: "control.tar.gz", data: await compress(controlTar, "gz") },
          { name: "data.tar.xz", data: await compress(new Uint8Array(dataTar), "xz") },
        ]),
      );
      const got = await readDeb(deb, { label: `${format}.deb` });
      expectMatchesOracle(got, oracle(deb));
      // tar stores the first of the two names (in --sort=name order) as the file, the other as a link to it.
      expect(got.data.find((m) => m.type === "hardlink")).toMatchObject({
        path: `/usr/share/doc/pkg/${long}.txt`,
        target: `/usr/share/doc/pkg/${long}.hard`,
      });
      expect(got.md5sums).toBeUndefined();
    });
  }

  it("the recorded ca-certificates .deb: every member and the control archive", async () => {
    const dir = "snapshots/debian/pool/main/c/ca-certificates";
    const name = readdirSync(dir).find((f) => f.endsWith(".deb"));
    expect(name).toBeDefined();
    const deb = join(dir, name!);
    const got = await readDeb(deb, { label: name! });
    const o = oracle(deb);
    expectMatchesOracle(got, o);
    expect(got.data.filter((m) => m.type === "file").length).toBeGreaterThan(100);
    for (const field of ["Package", "Version", "Architecture"]) {
      const value = execFileSync("dpkg-deb", ["-f", deb, field], { encoding: "utf8" }).trim();
      expect(got.control).toMatch(new RegExp(`^${field}: ${value.replace(/[.+]/g, "\\$&")}$`, "m"));
    }
    expect(got.md5sums).toBe(new TextDecoder().decode(o.controlFiles.get("md5sums")));
  });
});

describe.skipIf(skipReason !== undefined)("want", () => {
  it("buffers only wanted files, asks only about files and hard links", async () => {
    const deb = await writeDeb(spec("xz", "xz"));
    const asked: Array<[string, NodeType]> = [];
    const got = await readDeb(deb, {
      label: "hello.deb",
      want: (p, t) => {
        asked.push([p, t]);
        return p.startsWith("/etc/");
      },
    });
    const all = await readDeb(deb, { label: "hello.deb" });
    expect(got.data.map((m) => ({ ...m, extent: undefined }))).toEqual(all.data.map((m) => ({ ...m, extent: undefined })));
    for (const m of got.data) {
      if (m.type === "file" && m.path.startsWith("/etc/")) expect(sha256(readExtent(m.extent!))).toBe(sha256(readExtent(all.data.find((a) => a.path === m.path)!.extent!)));
      else expect(m.extent, m.path).toBeUndefined();
    }
    expect(new Set(asked.map(([, t]) => t))).toEqual(new Set(["file", "hardlink"]));
    expect(asked.filter(([, t]) => t === "file").map(([p]) => p)).toEqual(all.data.filter((m) => m.type === "file").map((m) => m.path));
  });

  it("a wanted hard link brings its target file's bytes even when the target is not wanted", async () => {
    const deb = await writeDeb(spec("zst", "gz"));
    const got = await readDeb(deb, { label: "hello.deb", want: (p) => p === "/usr/bin/hello-again" });
    const target = got.data.find((m) => m.path === "/usr/bin/hello")!;
    expect(new TextDecoder().decode(readExtent(target.extent!))).toBe("#!/bin/sh\necho hello\n");
    expect(got.data.filter((m) => m.extent !== undefined).map((m) => m.path)).toEqual(["/usr/bin/hello"]);
  });

  it("a 256 MiB file, wanted or not, is streamed past, not held in memory; a wanted one is an extent of the decoded tar", async () => {
    const size = 256 * 1024 * 1024;
    const deb = writeBytes(await bigFileDeb(size));
    for (const want of [false, true]) {
      const { held: grew, value: got } = await heldDuring(() => readDeb(deb, { label: "big.deb", want: () => want }));
      try {
        const big = got.data.find((m) => m.path === "/big")!;
        expect(big.size).toBe(size);
        expect(got.data.map((m) => m.path)).toEqual(["/", "/big", "/after"]);
        expect(grew, `want ${want}`).toBeLessThan(size / 2);
        if (!want) {
          expect(big.extent).toBeUndefined();
          continue;
        }
        // The bytes are where the extent says (the sha256 of 256 MiB of zeros, taken independently)...
        expect(big.extent!.size).toBe(size);
        expect(big.extent!.sha256).toBe(sha256(new Uint8Array(size)));
        const streamed = await heldDuring(async () => {
          let n = 0;
          streamExtent(big.extent!, (c) => (n += c.length));
          return n;
        });
        expect(streamed.value).toBe(size);
        expect(streamed.held).toBeLessThan(size / 2);
        // ...and the same measurement sees them when they are read whole (so the bounds above mean something).
        // (The buffer is returned, so that it is still alive when the last sample is taken.)
        const whole = await heldDuring(async () => readExtent(big.extent!));
        expect(whole.value.length).toBe(size);
        expect(whole.held).toBeGreaterThan(size / 2);
      } finally {
        await got.release();
      }
    }
  });
});

/** A .deb whose data.tar.gz holds a zero-filled file of `size` bytes, built as a stream. */
async function bigFileDeb(size: number): Promise<Uint8Array> {
  const tar = await import("tar-stream");
  const { createGzip } = await import("node:zlib");
  const pack = tar.pack();
  const gz = createGzip({ level: 1 });
  const out: Buffer[] = [];
  gz.on("data", (c: Buffer) => out.push(c));
  const ended = new Promise((r) => gz.on("end", r));
  pack.on("data", (c: unknown) => {
    if (!gz.write(c as Buffer)) pack.pause();
  });
  gz.on("drain", () => pack.resume());
  pack.on("end", () => gz.end());
  pack.entry({ name: "./", type: "directory", mode: 0o755 });
  const entry = pack.entry({ name: "./big", type: "file", mode: 0o644, size });
  const zeros = Buffer.alloc(1 << 20);
  for (let written = 0; written < size; written += zeros.length) {
    if (!entry.write(zeros)) await new Promise<void>((r) => entry.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => entry.end((err?: Error | null) => (err ? reject(err) : resolve())));
  pack.entry({ name: "./after", type: "file", mode: 0o644 }, "after\n");
  pack.finalize();
  await ended;
  const control = await compress(await buildTar([{ path: "./control", type: "file", content: renderControl(CONTROL) }]), "gz");
  return buildAr([
    { name: "debian-binary", data: new TextEncoder().encode("2.0\n") },
    { name: "control.tar.gz", data: control },
    { name: "data.tar.gz", data: new Uint8Array(Buffer.concat(out)) },
  ]);
}
