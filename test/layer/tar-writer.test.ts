// The layer tar writer, checked against independent readers: GNU tar (listing, extraction and,
// for trees ustar can hold, byte-for-byte equality with `tar --format=ustar`), and Python's
// tarfile for header fields. Determinism: shuffled input and a child process under another
// TZ / locale / umask give the same bytes.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { streamLayerTar, writeLayerTar } from "../../src/layer/tar-writer.js";
import { compareBytes } from "../../src/util/byte-order.js";
import { createDigestSink, digestBytes } from "../../src/layer/digest.js";
import type { LayerNode, NodeType } from "../../src/model/layer.js";

const MTIME = 1_700_000_000;
const utf8 = new TextEncoder();
const isRoot = process.getuid?.() === 0;

function node(p: string, type: NodeType, extra: Partial<LayerNode> = {}): LayerNode {
  const base: LayerNode = {
    path: p,
    type,
    mode: type === "dir" ? 0o755 : type === "symlink" ? 0o777 : 0o644,
    uid: 0,
    gid: 0,
    origin: { kind: "implicit", reason: "test" },
  };
  if (type === "file") base.content = utf8.encode(`content of ${p}\n`);
  return { ...base, ...extra };
}

const seg60 = "s".repeat(58) + "60";
const LONG_SPLITTABLE = `/usr/share/${"a".repeat(80)}/${"b".repeat(90)}`; // > 100, fits prefix/name
const LONG_DEEP = `/deep/${seg60}/${seg60}/${seg60}/${seg60}/${seg60}`; // > 255 bytes
const LONG_SEGMENT = `/usr/${"c".repeat(120)}`; // one component > 100: cannot split
const LONG_TARGET = `../${"t".repeat(150)}`;

/** Parent directories for every path, then the given nodes. */
function withParents(nodes: LayerNode[], dirExtra: (p: string) => Partial<LayerNode> = () => ({})): LayerNode[] {
  const have = new Set(nodes.map((n) => n.path));
  const out = [...nodes];
  for (const n of nodes) {
    let p = n.path;
    for (;;) {
      p = p.slice(0, p.lastIndexOf("/")) || "/";
      if (p === "/" || have.has(p)) break;
      have.add(p);
      out.push(node(p, "dir", dirExtra(p)));
    }
  }
  return out;
}

/** A tree with every feature the writer must handle. */
function sampleTree(): LayerNode[] {
  const big = new Uint8Array(70_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
  return withParents([
    node("/", "dir"),
    node("/etc/passwd", "file", { content: utf8.encode("root:x:0:0:root:/root:/sbin/nologin\n") }),
    node("/tmp", "dir", { mode: 0o1777 }),
    node("/home/nonroot", "dir", { mode: 0o700, uid: 65532, gid: 65532 }),
    node("/home/nonroot/.profile", "file", { mode: 0o600, uid: 65532, gid: 65532 }),
    node("/usr/bin/su", "file", { mode: 0o4755, content: big }),
    node("/usr/bin/sg", "file", { mode: 0o2755 }),
    node("/usr/bin/zz", "file", { mode: 0o755, content: utf8.encode("hard-linked content\n") }),
    node("/usr/bin/aa", "hardlink", { target: "/usr/bin/zz", mode: 0o600 /* ignored: one inode */ }),
    node("/usr/bin/mm", "hardlink", { target: "/usr/bin/aa" }), // chain through a hard link
    node("/usr/lib/libx.so", "symlink", { target: "libx.so.1" }),
    node("/usr/lib/libx.so.1", "file", { content: new Uint8Array(512).fill(1) }),
    node("/usr/lib/liby.so.1", "file", { content: new Uint8Array(513).fill(2) }),
    node("/usr/lib/empty", "file", { content: new Uint8Array(0) }),
    node("/usr/lib-extra/abs", "symlink", { target: "/usr/lib/libx.so.1" }),
    node("/usr/share/zoneinfo/América/São_Paulo", "file"),
    node("/usr/share/日本語/ファイル", "file"),
    node("/x/\uFF5E", "file"), // UTF-16 order puts this after the emoji, UTF-8 byte order before
    node("/x/😀", "file"),
    node("/x/Z", "file"),
    node("/x/a", "file"),
    node(LONG_SPLITTABLE, "file"),
    node(LONG_DEEP, "file"),
    node(`${LONG_DEEP}-hardlink`, "hardlink", { target: LONG_DEEP }),
    node(LONG_SEGMENT, "file"),
    node("/usr/long-target", "symlink", { target: LONG_TARGET }),
    node(`/deep/${seg60}/${seg60}/${seg60}/${"é".repeat(80)}`, "dir"), // > 255 bytes, non-ASCII
  ]);
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tar-writer-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

function writeTemp(name: string, bytes: Uint8Array): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, bytes);
  return f;
}

const byteOrder = (a: string, b: string): number => compareBytes(utf8.encode(a), utf8.encode(b));

describe("writeLayerTar: GNU tar as the reader", () => {
  const nodes = sampleTree();
  let tarFile: string;
  beforeAll(() => {
    tarFile = writeTemp("sample.tar", writeLayerTar(nodes, { mtime: MTIME }));
  });

  it("lists members in UTF-8 byte order with relative names, dirs ending in '/', no root", () => {
    const out = execFileSync("tar", ["-tf", tarFile], { env: { ...process.env, LC_ALL: "C.UTF-8" } });
    const names = out.toString("utf8").split("\n").filter((l) => l !== "");
    const expected = nodes
      .filter((n) => n.path !== "/")
      .map((n) => n.path)
      .sort(byteOrder)
      .map((p) => p.slice(1) + (nodes.find((n) => n.path === p)!.type === "dir" ? "/" : ""));
    expect(names).toEqual(expected);
    // The byte order differs from JS string order here, so the test tells the two apart.
    expect(names.indexOf("x/\uFF5E")).toBeLessThan(names.indexOf("x/😀"));
    expect("x/\uFF5E" < "x/😀").toBe(false);
  });

  it("shows numeric owners, modes and mtime in `tar --numeric-owner -tvf`", () => {
    const out = execFileSync("tar", ["--numeric-owner", "--utc", "-tvf", tarFile], { env: { ...process.env, LC_ALL: "C.UTF-8" } }).toString("utf8");
    const line = (name: string): string => out.split("\n").find((l) => l.endsWith(` ${name}`) || l.includes(` ${name} `))!;
    expect(line("home/nonroot/")).toMatch(/^drwx------ 65532\/65532 +0 2023-11-14 22:13 home\/nonroot\/$/);
    expect(line("usr/bin/su")).toMatch(/^-rwsr-xr-x 0\/0 +70000 2023-11-14 22:13 usr\/bin\/su$/);
    expect(line("usr/bin/sg")).toMatch(/^-rwxr-sr-x 0\/0 /);
    expect(line("tmp/")).toMatch(/^drwxrwxrwt 0\/0 /);
    expect(line("usr/lib/libx.so")).toMatch(/^lrwxrwxrwx 0\/0 +0 .* usr\/lib\/libx.so -> libx.so.1$/);
    expect(line("usr/bin/mm")).toMatch(/^hrwxr-xr-x 0\/0 +0 .* usr\/bin\/mm link to usr\/bin\/aa$/);
  });

  it("extracts to the same files, modes, owners, link targets and shared inodes", () => {
    const dest = fs.mkdtempSync(path.join(tmp, "x-"));
    const args = ["--numeric-owner", "-xpf", tarFile, "-C", dest];
    if (isRoot) args.unshift("--same-owner");
    execFileSync("tar", args);

    for (const n of nodes) {
      if (n.path === "/") continue;
      const f = path.join(dest, n.path);
      const st = fs.lstatSync(f);
      const file = n.type === "hardlink" ? resolveFile(nodes, n) : n;
      if (n.type !== "symlink") expect(st.mode & 0o7777, n.path).toBe(file.mode & 0o7777);
      if (isRoot) expect([st.uid, st.gid], n.path).toEqual([file.uid, file.gid]);
      switch (n.type) {
        case "dir":
          expect(st.isDirectory(), n.path).toBe(true);
          break;
        case "symlink":
          expect(st.isSymbolicLink(), n.path).toBe(true);
          expect(fs.readlinkSync(f), n.path).toBe(n.target);
          break;
        case "file":
        case "hardlink":
          expect(st.isFile(), n.path).toBe(true);
          expect(Buffer.compare(fs.readFileSync(f), Buffer.from(file.content!)), n.path).toBe(0);
          expect(st.mtimeMs, n.path).toBe(MTIME * 1000);
          expect(st.ino, n.path).toBe(fs.statSync(path.join(dest, file.path)).ino);
          break;
      }
    }
    // Nothing extra was extracted.
    const found: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        found.push("/" + path.relative(dest, p));
        if (e.isDirectory()) walk(p);
      }
    };
    walk(dest);
    expect(found.sort()).toEqual(nodes.filter((n) => n.path !== "/").map((n) => n.path).sort());
  });
});

function resolveFile(nodes: LayerNode[], n: LayerNode): LayerNode {
  let cur = n;
  while (cur.type === "hardlink") cur = nodes.find((m) => m.path === cur.target)!;
  return cur;
}

describe("writeLayerTar: header fields as Python's tarfile reads them", () => {
  const script = String.raw`
import json, sys, tarfile
out = []
with tarfile.open(sys.argv[1], "r:", encoding="utf-8") as t:
    for m in t.getmembers():
        out.append(dict(name=m.name, type=m.type.decode(), mode=m.mode, uid=m.uid, gid=m.gid,
                        uname=m.uname, gname=m.gname, mtime=m.mtime, size=m.size,
                        linkname=m.linkname, pax=m.pax_headers))
raw = open(sys.argv[1], "rb").read()
blocks = []
off = 0
while off + 512 <= len(raw):
    h = raw[off:off + 512]
    if h == bytes(512):
        blocks.append(None); off += 512; continue
    size = int(h[124:136].rstrip(b"\0 ") or b"0", 8)
    blocks.append(dict(type=chr(h[156]), name=h[0:100].rstrip(b"\0").decode("utf-8", "replace"),
                       magic=h[257:263].hex(), version=h[263:265].decode(), uname=h[265:297].hex(),
                       gname=h[297:329].hex(), dev=h[329:345].decode("latin-1"),
                       body=raw[off + 512: off + 512 + size].decode("utf-8", "replace") if chr(h[156]) == "x" else None))
    off += 512 + (size + 511) // 512 * 512
print(json.dumps(dict(members=out, headers=blocks, length=len(raw))))
`;
  interface PyMember { name: string; type: string; mode: number; uid: number; gid: number; uname: string; gname: string; mtime: number; size: number; linkname: string; pax: Record<string, string> }
  interface PyHeader { type: string; name: string; magic: string; version: string; uname: string; gname: string; dev: string; body: string | null }
  const nodes = sampleTree();
  let py: { members: PyMember[]; headers: Array<PyHeader | null>; length: number };
  beforeAll(() => {
    const f = writeTemp("py.tar", writeLayerTar(nodes, { mtime: MTIME }));
    py = JSON.parse(execFileSync("python3", ["-c", script, f]).toString("utf8"));
  });

  it("reads every node back with its name, type, mode, ids and mtime, owner names empty", () => {
    const byName = new Map(py.members.map((m) => [m.name, m]));
    expect(py.members).toHaveLength(nodes.length - 1);
    for (const n of nodes) {
      if (n.path === "/") continue;
      const m = byName.get(n.path.slice(1));
      expect(m, n.path).toBeDefined();
      const file = n.type === "hardlink" ? resolveFile(nodes, n) : n;
      expect(m!.mode, n.path).toBe(file.mode & 0o7777);
      expect([m!.uid, m!.gid, m!.uname, m!.gname, m!.mtime], n.path).toEqual([file.uid, file.gid, "", "", MTIME]);
      if (n.type === "symlink") expect([m!.type, m!.linkname]).toEqual(["2", n.target]);
      if (n.type === "dir") expect([m!.type, m!.size]).toEqual(["5", 0]);
    }
    // The hard-link group's first path in byte order carries the content, the others link to it.
    expect([byName.get("usr/bin/aa")!.type, byName.get("usr/bin/aa")!.size]).toEqual(["0", 20]);
    expect([byName.get("usr/bin/mm")!.type, byName.get("usr/bin/mm")!.linkname, byName.get("usr/bin/mm")!.size]).toEqual(["1", "usr/bin/aa", 0]);
    expect([byName.get("usr/bin/zz")!.type, byName.get("usr/bin/zz")!.linkname]).toEqual(["1", "usr/bin/aa"]);
  });

  it("writes ustar headers, PAX only for names that cannot be split, with only path/linkpath", () => {
    const headers = py.headers.filter((h): h is PyHeader => h !== null);
    for (const h of headers) {
      expect(h.magic).toBe(Buffer.from("ustar\0").toString("hex"));
      expect(h.version).toBe("00");
      expect(h.uname).toBe("00".repeat(32));
      expect(h.gname).toBe("00".repeat(32));
      expect(h.dev).toBe("0000000\0".repeat(2));
    }
    const pax = headers.filter((h) => h.type === "x");
    const withPax = py.members.filter((m) => Object.keys(m.pax).length > 0);
    // LONG_DEEP, its parent dir (250 bytes, no slash leaves ≤155 + ≤100), its hard link (path and
    // linkpath), LONG_SEGMENT, the long symlink target, the é dir.
    expect(withPax.map((m) => m.name).sort(byteOrder)).toEqual(
      [LONG_DEEP.slice(0, LONG_DEEP.lastIndexOf("/")), LONG_DEEP, `${LONG_DEEP}-hardlink`, LONG_SEGMENT, "/usr/long-target", `/deep/${seg60}/${seg60}/${seg60}/${"é".repeat(80)}`]
        .map((p) => p.slice(1))
        .sort(byteOrder),
    );
    expect(pax).toHaveLength(withPax.length);
    for (const m of withPax) {
      for (const k of Object.keys(m.pax)) expect(["path", "linkpath"]).toContain(k);
    }
    expect(py.members.find((m) => m.name === "usr/long-target")!.pax).toEqual({ linkpath: LONG_TARGET });
    expect(py.members.find((m) => m.name === `${LONG_DEEP}-hardlink`.slice(1))!.pax).toEqual({
      path: `${LONG_DEEP}-hardlink`.slice(1),
      linkpath: LONG_DEEP.slice(1),
    });
    // The PAX header's own name is fixed text, no pid.
    for (const h of pax) expect(h.name).toMatch(/^PaxHeaders\/[^/]+$/);
    // The splittable long name and the non-ASCII short names stay plain ustar.
    expect(py.members.find((m) => m.name === LONG_SPLITTABLE.slice(1))!.pax).toEqual({});
    expect(py.members.find((m) => m.name === "usr/share/日本語/ファイル")!.pax).toEqual({});
  });

  it("ends with exactly two zero blocks and no record padding", () => {
    expect(py.headers.slice(-2)).toEqual([null, null]);
    expect(py.headers.slice(0, -2)).not.toContain(null);
    expect(py.length % 512).toBe(0);
  });
});

describe("writeLayerTar: byte-for-byte equal to GNU tar --format=ustar for the same tree", () => {
  // GNU tar reads the tree from disk, so this needs chown for the ids (root) and a filesystem.
  // Names are written in our byte order via -T, hard links appear in that order too.
  const segment = fc.constantFrom("a", "b", "B", "a-b", "a.b", "é", "日本", "x".repeat(70), "y".repeat(99), "z".repeat(101), "_");
  const relPath = fc.array(segment, { minLength: 1, maxLength: 4 });
  interface Leaf { path: string[]; kind: "file" | "dir" | "symlink" | "hardlink"; mode: number; owner: number; content: Uint8Array; target: string }
  const leaf: fc.Arbitrary<Leaf> = fc.record({
    path: relPath,
    kind: fc.constantFrom<Leaf["kind"]>("file", "dir", "symlink", "hardlink"),
    mode: fc.constantFrom(0o644, 0o755, 0o4755, 0o2750, 0o1777, 0o600, 0o700),
    owner: fc.constantFrom(0, 65532),
    content: fc.uint8Array({ maxLength: 1100 }),
    target: fc.constantFrom("a", "../b", "/usr/lib/x", "t".repeat(100)),
  });

  function buildTree(leaves: Leaf[]): LayerNode[] {
    const map = new Map<string, LayerNode>();
    for (const l of leaves) {
      const p = "/" + l.path.join("/");
      if (map.has(p)) continue;
      const extra: Partial<LayerNode> = { mode: l.mode, uid: l.owner, gid: l.owner };
      if (l.kind === "file" || l.kind === "hardlink") map.set(p, node(p, "file", { ...extra, content: l.content }));
      else if (l.kind === "dir") map.set(p, node(p, "dir", extra));
      else map.set(p, node(p, "symlink", { ...extra, mode: 0o777, target: l.target }));
    }
    // A path that is some other path's ancestor must be a directory.
    for (const p of [...map.keys()]) {
      for (let q = p.slice(0, p.lastIndexOf("/")); q !== ""; q = q.slice(0, q.lastIndexOf("/"))) {
        const cur = map.get(q);
        if (!cur || cur.type !== "dir") map.set(q, node(q, "dir", { mode: 0o755 }));
      }
    }
    // Turn every second "hardlink" leaf into a link to some file.
    const files = [...map.values()].filter((n) => n.type === "file");
    leaves.forEach((l, i) => {
      const p = "/" + l.path.join("/");
      const n = map.get(p);
      if (l.kind === "hardlink" && n?.type === "file" && files.length > 1) {
        const target = files[i % files.length]!;
        if (target.path !== p) map.set(p, node(p, "hardlink", { target: target.path }));
      }
    });
    // Drop hard links whose target was turned into a link itself (keep this oracle simple).
    for (const n of map.values()) if (n.type === "hardlink" && map.get(n.target!)?.type !== "file") map.delete(n.path);
    return [...map.values()];
  }

  function gnuTar(nodes: LayerNode[]): { status: number | null; stdout: Buffer; stderr: string } {
    const root = fs.mkdtempSync(path.join(tmp, "gnu-"));
    const sorted = [...nodes].sort((a, b) => byteOrder(a.path, b.path));
    // Hard links after every file: a link may sort before its target.
    for (const n of [...sorted].sort((a, b) => Number(a.type === "hardlink") - Number(b.type === "hardlink"))) {
      const f = path.join(root, n.path);
      if (n.type === "dir") fs.mkdirSync(f);
      else if (n.type === "file") fs.writeFileSync(f, n.content!);
      else if (n.type === "symlink") fs.symlinkSync(n.target!, f);
      else fs.linkSync(path.join(root, n.target!), f);
    }
    // Modes and owners last (a 0700 or 1777 dir must not block creating children), deepest first.
    for (const n of [...sorted].reverse()) {
      const f = path.join(root, n.path);
      if (n.type === "symlink") {
        fs.lchownSync(f, n.uid, n.gid);
        continue;
      }
      if (n.type === "hardlink") continue;
      fs.chownSync(f, n.uid, n.gid);
      fs.chmodSync(f, n.mode);
    }
    const list = path.join(root, "..", path.basename(root) + ".list");
    fs.writeFileSync(list, sorted.map((n) => n.path.slice(1) + "\n").join(""));
    const r = spawnSync(
      "tar",
      ["--format=ustar", "--numeric-owner", `--mtime=@${MTIME}`, "-b1", "--no-recursion", "--verbatim-files-from", "-C", root, "-T", list, "-cf", "-"],
      { env: { ...process.env, LC_ALL: "C" }, maxBuffer: 1 << 26 },
    );
    fs.rmSync(root, { recursive: true, force: true });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
  }

  it.runIf(isRoot)("matches GNU tar's ustar output, and uses PAX exactly where GNU tar cannot write ustar", () => {
    fc.assert(
      fc.property(fc.array(leaf, { minLength: 1, maxLength: 12 }), (leaves) => {
        const nodes = buildTree(leaves);
        const ours = writeLayerTar(nodes, { mtime: MTIME });
        const gnu = gnuTar(nodes);
        const hasPax = readHeaders(ours).some((h) => h.type === "x");
        if (gnu.status === 0) {
          expect(hasPax).toBe(false);
          expect(Buffer.compare(Buffer.from(ours), gnu.stdout)).toBe(0);
        } else {
          expect(gnu.stderr).toMatch(/too long/);
          expect(hasPax).toBe(true);
        }
      }),
      {
        numRuns: 60,
        // Fixed cases so both branches and every node kind are always exercised.
        examples: [
          [[
            { path: ["é", "日本"], kind: "file", mode: 0o4755, owner: 65532, content: new Uint8Array(600).fill(7), target: "a" },
            { path: ["a", "b"], kind: "hardlink", mode: 0o644, owner: 0, content: new Uint8Array(0), target: "a" },
            { path: ["B"], kind: "symlink", mode: 0o777, owner: 0, content: new Uint8Array(0), target: "t".repeat(100) },
            { path: ["a-b"], kind: "dir", mode: 0o1777, owner: 0, content: new Uint8Array(0), target: "a" },
            { path: ["x".repeat(70), "y".repeat(99), "_"], kind: "file", mode: 0o600, owner: 0, content: new Uint8Array(512), target: "a" },
          ]],
          [[{ path: ["a", "z".repeat(101)], kind: "file", mode: 0o644, owner: 0, content: new Uint8Array(1), target: "a" }]],
        ],
      },
    );
  });
});

/** Minimal header walk used by assertions (type and name only). */
function readHeaders(tar: Uint8Array): Array<{ type: string; name: string }> {
  const out: Array<{ type: string; name: string }> = [];
  const dec = new TextDecoder();
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(dec.decode(h.subarray(124, 135)), 8);
    out.push({ type: String.fromCharCode(h[156]!), name: dec.decode(h.subarray(0, 100)).replace(/\0.*$/s, "") });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe("writeLayerTar: determinism", () => {
  it("gives the same bytes whatever the input order", () => {
    const nodes = sampleTree();
    const reference = writeLayerTar(nodes, { mtime: MTIME });
    fc.assert(
      fc.property(fc.shuffledSubarray(nodes, { minLength: nodes.length, maxLength: nodes.length }), (shuffled) => {
        expect(Buffer.compare(Buffer.from(writeLayerTar(shuffled, { mtime: MTIME })), Buffer.from(reference))).toBe(0);
      }),
      { numRuns: 50 },
    );
  });

  it("streams the same bytes it returns, and the digest sink hashes them", () => {
    const nodes = sampleTree();
    const whole = writeLayerTar(nodes, { mtime: MTIME });
    const chunks: Uint8Array[] = [];
    const d = createDigestSink((c) => chunks.push(c));
    const res = streamLayerTar(nodes, { mtime: MTIME }, d.sink);
    expect(res.size).toBe(whole.length);
    expect(res.entries).toBe(nodes.length - 1);
    expect(Buffer.compare(Buffer.concat(chunks), Buffer.from(whole))).toBe(0);
    const digest = d.result();
    expect(digest).toEqual(digestBytes(whole));
    expect(digest.digest).toBe(`sha256:${execFileSync("sha256sum", [writeTemp("d.tar", whole)]).toString().split(" ")[0]}`);
  });

  it("changes mtime only through opts.mtime", () => {
    const a = writeLayerTar(sampleTree(), { mtime: MTIME });
    const b = writeLayerTar(sampleTree(), { mtime: MTIME + 1 });
    expect(sha256(a)).not.toBe(sha256(b));
    expect(a.length).toBe(b.length);
  });

  it("gives the same bytes in a child process with another TZ, locale and umask", () => {
    // Node 20 cannot run .ts directly: transpile the writer and its imports (the layer limits, the extent reader,
    // the byte order) for the child, laid out as in src/ so the relative imports resolve.
    const root = fs.mkdtempSync(path.join(tmp, "child-"));
    fs.writeFileSync(path.join(root, "package.json"), '{"type":"module"}\n');
    for (const mod of ["layer/tar-writer", "util/byte-order", "util/file-extent", "util/chunked-output", "util/hash", "model/layer", "model/errors"]) {
      const src = fs.readFileSync(new URL(`../../src/${mod}.ts`, import.meta.url), "utf8");
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
      fs.mkdirSync(path.dirname(path.join(root, mod)), { recursive: true });
      fs.writeFileSync(path.join(root, `${mod}.js`), js);
    }
    const dir = path.join(root, "layer");
    const nodes = sampleTree();
    fs.writeFileSync(
      path.join(dir, "nodes.json"),
      JSON.stringify(nodes.map((n) => ({ ...n, content: n.content && Buffer.from(n.content).toString("base64") }))),
    );
    fs.writeFileSync(
      path.join(dir, "child.mjs"),
      `import { readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { writeLayerTar } from "./tar-writer.js";
const nodes = JSON.parse(readFileSync(new URL("./nodes.json", import.meta.url), "utf8"))
  .reverse()
  .map((n) => (n.content === undefined ? n : { ...n, content: new Uint8Array(Buffer.from(n.content, "base64")) }));
const tar = writeLayerTar(nodes, { mtime: ${MTIME} });
writeFileSync(process.argv[2], tar);
process.stdout.write(createHash("sha256").update(readFileSync(process.argv[2])).digest("hex"));
`,
    );
    const expected = sha256(writeLayerTar(nodes, { mtime: MTIME }));
    const envs = [
      { TZ: "Pacific/Kiritimati", LC_ALL: "tr_TR.UTF-8", LANG: "tr_TR.UTF-8", UMASK: "077" },
      { TZ: "America/St_Johns", LC_ALL: "C", LANG: "C", UMASK: "000" },
      { TZ: "UTC", LC_ALL: "C.UTF-8", LANG: "ja_JP.UTF-8", UMASK: "022" },
    ];
    for (const e of envs) {
      const out = path.join(dir, `out-${e.UMASK}.tar`);
      const r = spawnSync("sh", ["-c", `umask ${e.UMASK}; exec "${process.execPath}" child.mjs "${out}"`], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TZ: e.TZ, LC_ALL: e.LC_ALL, LANG: e.LANG },
      });
      expect(r.stderr.toString(), JSON.stringify(e)).toBe("");
      expect(r.stdout.toString(), JSON.stringify(e)).toBe(expected);
      expect(fs.statSync(out).mode & 0o777).toBe(0o666 & ~parseInt(e.UMASK, 8)); // the umask did apply
    }
  });
});

describe("writeLayerTar: refuses bad trees", () => {
  const ok = (): LayerNode[] => [node("/", "dir"), node("/etc", "dir"), node("/etc/passwd", "file")];
  const write = (nodes: LayerNode[]): Uint8Array => writeLayerTar(nodes, { mtime: MTIME });

  it("accepts the minimal tree, with or without a root node", () => {
    expect(write(ok()).length).toBe(5 * 512); // 2 headers, 1 content block, 2 end blocks
    expect(write(ok().slice(1)).length).toBe(5 * 512);
    expect(write([]).length).toBe(1024);
  });

  it.each<[string, () => LayerNode[], RegExp]>([
    ["a duplicate path", () => [...ok(), node("/etc/passwd", "file")], /duplicate path "\/etc\/passwd"/],
    ["a missing parent", () => [node("/etc/passwd", "file")], /no parent directory node "\/etc"/],
    ["a parent that is a file", () => [...ok(), node("/etc/passwd/x", "file")], /parent "\/etc\/passwd" .* is a file/],
    ["a relative path", () => [node("etc", "dir")], /not an absolute path/],
    ["a trailing slash", () => [node("/etc/", "dir")], /not a normalised path/],
    ["a '..' component", () => [...ok(), node("/etc/../x", "file")], /not a normalised path/],
    ["a NUL in a name", () => [...ok(), node("/etc/a\0b", "file")], /NUL/],
    ["a lone surrogate", () => [...ok(), node("/etc/\uD800", "file")], /lone surrogate/],
    ["a root that is not a dir", () => [node("/", "file")], /must be a directory/],
    ["a file without content", () => [...ok(), node("/etc/x", "file", { content: undefined })], /has no content/],
    ["a symlink without target", () => [...ok(), node("/etc/x", "symlink")], /symlink .* has no target/],
    ["a hard link to nothing", () => [...ok(), node("/etc/x", "hardlink", { target: "/etc/nope" })], /not in the layer/],
    ["a hard link to a directory", () => [...ok(), node("/etc/x", "hardlink", { target: "/etc" })], /a dir; hard links must point to regular files/],
    ["a hard-link cycle", () => [...ok(), node("/etc/x", "hardlink", { target: "/etc/y" }), node("/etc/y", "hardlink", { target: "/etc/x" })], /cycle/],
    ["a uid too large for ustar", () => [...ok(), node("/etc/x", "file", { uid: 0o10000000 })], /uid of node "\/etc\/x" must be an integer/],
    ["a negative gid", () => [...ok(), node("/etc/x", "file", { gid: -1 })], /gid/],
    ["a fractional mode", () => [...ok(), node("/etc/x", "file", { mode: 1.5 })], /mode/],
  ])("throws on %s", (_what, nodes, message) => {
    expect(() => write(nodes())).toThrow(message);
  });

  it("with the caller's map of the nodes (the layer tree's), writes the same bytes and refuses the same trees", () => {
    const nodes = sampleTree();
    const byPath = new Map(nodes.map((n) => [n.path, n]));
    expect(sha256(writeLayerTar(nodes, { mtime: MTIME, byPath }))).toBe(sha256(writeLayerTar(nodes, { mtime: MTIME })));
    const tree = ok();
    const map = new Map(tree.map((n) => [n.path, n]));
    expect(() => writeLayerTar([...tree, tree[2]!], { mtime: MTIME, byPath: map })).toThrow(/duplicate path "\/etc\/passwd"/);
    expect(() => writeLayerTar([...tree, node("/etc/x", "file")], { mtime: MTIME, byPath: map })).toThrow(/node "\/etc\/x" is not the one the given map holds/);
    expect(() => writeLayerTar([node("/etc/passwd", "file")], { mtime: MTIME, byPath: new Map([["/etc/passwd", tree[2]!]]) })).toThrow(/not the one/);
  });

  it("throws on an mtime that ustar cannot hold", () => {
    expect(() => writeLayerTar(ok(), { mtime: -1 })).toThrow(/mtime/);
    expect(() => writeLayerTar(ok(), { mtime: 0o100000000000 })).toThrow(/mtime/);
    expect(() => writeLayerTar(ok(), { mtime: 1.5 })).toThrow(/mtime/);
  });

  it("masks mode bits above 0o7777 (file type bits from a stat mode)", () => {
    const a = write([node("/x", "file", { mode: 0o100644 })]);
    const b = write([node("/x", "file", { mode: 0o644 })]);
    expect(sha256(a)).toBe(sha256(b));
  });
});
