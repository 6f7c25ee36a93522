import { describe, expect, test } from "vitest";
import { resolveFile } from "../../src/derive/node.js";
import { usrMergeLinks } from "../../src/derive/usr-merge.js";
import type { LayerNode } from "../../src/model/layer.js";

const origin = { kind: "package" as const, package: "libc6", version: "2.41-12", architecture: "amd64", member: "." };
const file = (path: string): [string, LayerNode] => [path, { path, type: "file", mode: 0o755, uid: 0, gid: 0, content: new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), origin }];
const link = (path: string, target: string): [string, LayerNode] => [path, { path, type: "symlink", mode: 0o777, uid: 0, gid: 0, target, origin }];
const dir = (path: string): [string, LayerNode] => [path, { path, type: "dir", mode: 0o755, uid: 0, gid: 0, origin }];

describe("merged-/usr links", () => {
  test("trixie amd64 libc6: /lib and /lib64 links make the ELF interpreter path resolve", () => {
    // trixie's libc6 ships the loader at /usr/lib64/ld-linux-x86-64.so.2 → ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
    const nodes = new Map([
      dir("/usr"), dir("/usr/lib"), dir("/usr/lib/x86_64-linux-gnu"), dir("/usr/lib64"),
      file("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
      file("/usr/lib/x86_64-linux-gnu/libc.so.6"),
      link("/usr/lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
    ]);
    expect(resolveFile(nodes, "/lib64/ld-linux-x86-64.so.2").ok).toBe(false);
    const d = usrMergeLinks({ nodes }, { arch: "amd64" });
    expect(d.nodes.map((n) => [n.path, n.target, n.mode])).toEqual([["/lib", "usr/lib", 0o777], ["/lib64", "usr/lib64", 0o777]]);
    const all = new Map([...nodes, ...d.nodes.map((n) => [n.path, n] as [string, LayerNode])]);
    const r = resolveFile(all, "/lib64/ld-linux-x86-64.so.2");
    expect(r.ok && r.path).toBe("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    expect(resolveFile(all, "/lib/x86_64-linux-gnu/libc.so.6").ok).toBe(true);
  });

  test("arm64: the loader is under /lib, no /lib64; /bin and /sbin only with content", () => {
    const nodes = new Map([file("/usr/lib/ld-linux-aarch64.so.1"), file("/usr/bin/true")]);
    const d = usrMergeLinks({ nodes }, { arch: "arm64" });
    expect(d.nodes.map((n) => `${n.path}->${n.target}`)).toEqual(["/bin->usr/bin", "/lib->usr/lib"]);
    expect(d.record.options).toEqual({ arch: "arm64" });
  });

  test("bookworm layout (real /lib and /lib64) is left alone", () => {
    const nodes = new Map([
      dir("/lib"), dir("/lib64"), file("/lib/x86_64-linux-gnu/libc.so.6"), link("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
      file("/usr/lib/x86_64-linux-gnu/gconv/gconv-modules"),
    ]);
    expect(usrMergeLinks({ nodes }, { arch: "amd64" }).nodes).toEqual([]);
    // files under /lib without a /lib node (implicit parent) also count as a real /lib
    expect(usrMergeLinks({ nodes: new Map([file("/lib/x"), file("/usr/lib/y")]) }, { arch: "arm64" }).nodes).toEqual([]);
  });
});
