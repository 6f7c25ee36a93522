// The layer tree's safety rules and the package selection rules, on hand-made nodes and members.
import { describe, expect, it } from "vitest";
import { LayerTree } from "../../src/layer/tree.js";
import { selectMembers, selector } from "../../src/layer/select.js";
import { LayerConflictError, LayerSafetyError } from "../../src/layer/errors.js";
import { originMember, type DebMember, type FileExtent, type LayerNode, type MemberOrigin, type NodeOrigin } from "../../src/model/layer.js";
import { createHash } from "node:crypto";
import { fileBytes } from "../../src/util/file-extent.js";
import { mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DEFAULT_EXCLUDE, WHOLE_PACKAGE } from "../../src/resolve/filesets.js";

const from = (pkg: string, member: string, version = "1.0"): NodeOrigin => ({ kind: "package", package: pkg, version, architecture: "amd64", member });
const text = (s: string) => new TextEncoder().encode(s);

function file(path: string, content: string, pkg = "a", mode = 0o644): LayerNode {
  return { path, type: "file", mode, uid: 0, gid: 0, content: text(content), origin: from(pkg, "." + path) };
}
function dir(path: string, mode = 0o755, pkg = "a"): LayerNode {
  return { path, type: "dir", mode, uid: 0, gid: 0, origin: from(pkg, "." + path + "/") };
}
function symlink(path: string, target: string, pkg = "a"): LayerNode {
  return { path, type: "symlink", mode: 0o777, uid: 0, gid: 0, target, origin: from(pkg, "." + path) };
}

function thrown(f: () => void): Error & { exitCode?: number } {
  try {
    f();
  } catch (e) {
    return e as Error & { exitCode?: number };
  }
  throw new Error("expected an error");
}

describe("LayerTree", () => {
  it("refuses a file written through a symlink another package planted (exit 1), naming both", () => {
    const t = new LayerTree();
    t.add(symlink("/etc", "/tmp/evil", "planter"));
    const e = thrown(() => t.add(file("/etc/passwd", "pwned\n", "victim")));
    expect(e).toBeInstanceOf(LayerSafetyError);
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain("/etc/passwd");
    expect(e.message).toContain("victim");
    expect(e.message).toContain("planter");
    expect(t.get("/etc/passwd")).toBeUndefined();
  });

  it("refuses writing through a symlink deeper down, and through a relative one, for every node type", () => {
    const t = new LayerTree();
    t.add(dir("/usr"));
    t.add(symlink("/usr/lib", "../../..", "p"));
    for (const n of [file("/usr/lib/x/y", "x"), dir("/usr/lib/d"), symlink("/usr/lib/s", "t"), { ...file("/usr/lib/h", "x"), type: "hardlink" as const, target: "/usr/x", content: undefined }]) {
      const e = thrown(() => t.add(n));
      expect(e, n.path).toBeInstanceOf(LayerSafetyError);
      expect(e.exitCode).toBe(1);
    }
    expect([...t.nodes.keys()].filter((p) => p.startsWith("/usr/lib/"))).toEqual([]);
  });

  it("refuses two packages that disagree about a path, naming both (LayerConflictError)", () => {
    const t = new LayerTree();
    t.add(file("/usr/bin/tool", "one\n", "alpha"));
    const e = thrown(() => t.add({ ...file("/usr/bin/tool", "two\n", "beta"), origin: from("beta", "./usr/bin/tool", "2.0") }));
    expect(e).toBeInstanceOf(LayerConflictError);
    expect(e.message).toContain("/usr/bin/tool");
    expect(e.message).toContain("alpha 1.0");
    expect(e.message).toContain("beta 2.0");
    // the same content with another mode, or a file against a symlink, is a conflict too
    expect(() => t.add(file("/usr/bin/tool", "one\n", "beta", 0o755))).toThrow(LayerConflictError);
    expect(() => t.add(symlink("/usr/bin/tool", "other", "beta"))).toThrow(LayerConflictError);
    expect(() => t.add(dir("/usr/bin/tool", 0o755, "beta"))).toThrow(LayerConflictError);
    // and the first one is still there
    expect(Buffer.from(t.get("/usr/bin/tool")!.content!).toString()).toBe("one\n");
  });

  it("accepts an identical duplicate from another package and keeps the first", () => {
    const t = new LayerTree();
    t.add(file("/usr/share/common/x", "same\n", "first"));
    t.add(file("/usr/share/common/x", "same\n", "second"));
    t.add(symlink("/usr/share/common/l", "x", "first"));
    t.add(symlink("/usr/share/common/l", "x", "second"));
    expect(t.get("/usr/share/common/x")!.origin).toMatchObject({ package: "first" });
    expect(t.get("/usr/share/common/l")!.origin).toMatchObject({ package: "first" });
    expect(t.list().filter((n) => n.path.startsWith("/usr/share/common/"))).toHaveLength(2);
  });

  it("records every other provider of an identical path (files, links, dirs), but not a dir merged with another mode", () => {
    const t = new LayerTree();
    for (const pkg of ["first", "second", "third"]) {
      t.add(file("/usr/share/common/x", "same\n", pkg));
      t.add(symlink("/usr/share/common/l", "x", pkg));
    }
    t.add(dir("/usr/share/common", 0o755, "first"));
    t.add(dir("/usr/share/common", 0o755, "second"));
    t.add(dir("/usr/share/common", 0o700, "other-mode"));
    t.add({ path: "/usr/share/common", type: "dir", mode: 0o755, uid: 0, gid: 0, origin: { kind: "implicit", reason: "parent directory" } });
    for (const p of ["/usr/share/common/x", "/usr/share/common/l"]) {
      expect(t.get(p)!.origin, p).toMatchObject({ package: "first" });
      expect(t.get(p)!.alsoFrom, p).toEqual([from("second", "." + p), from("third", "." + p)]);
    }
    expect(t.get("/usr/share/common")).toMatchObject({ mode: 0o755, origin: { package: "first" }, alsoFrom: [from("second", "./usr/share/common/")] });
    // a path with one provider says so by having no list at all
    t.add(file("/usr/share/common/only", "one\n"));
    expect(t.get("/usr/share/common/only")!.alsoFrom).toBeUndefined();
  });

  it("makes missing parents implicit 0755 root dirs, replaced by a package's own dir; the first explicit mode wins", () => {
    const t = new LayerTree();
    t.add(file("/var/lib/app/state", "s"));
    for (const p of ["/var", "/var/lib", "/var/lib/app"]) {
      expect(t.get(p)).toMatchObject({ type: "dir", mode: 0o755, uid: 0, gid: 0, origin: { kind: "implicit" } });
    }
    t.add({ ...dir("/var/lib/app", 0o2775, "app"), gid: 50 });
    expect(t.get("/var/lib/app")).toMatchObject({ mode: 0o2775, gid: 50, origin: { kind: "package", package: "app" } });
    t.add(dir("/var/lib/app", 0o700, "later"));
    expect(t.get("/var/lib/app")).toMatchObject({ mode: 0o2775, origin: { package: "app" } });
    // an explicit dir is not downgraded by a later implicit parent either
    t.add(file("/var/lib/app/sub/f", "f"));
    expect(t.get("/var/lib/app")!.origin).toMatchObject({ package: "app" });
    expect(t.list().map((n) => n.path)).not.toContain("/");
  });

  it('refuses "/..", ".", empty components, relative paths and NUL bytes (exit 1)', () => {
    for (const bad of ["/..", "/etc/..", "/usr/../etc/passwd", "/./etc", "/etc/.", "etc/passwd", "", "/etc//passwd", "/etc/pass\0wd", "/etc/"]) {
      const t = new LayerTree();
      const e = thrown(() => t.add(file(bad, "x")));
      expect(e, JSON.stringify(bad)).toBeInstanceOf(LayerSafetyError);
      expect(e.exitCode).toBe(1);
      expect(t.list()).toEqual([]);
    }
    // the root may only be a directory
    expect(() => new LayerTree().add(file("/", "x"))).toThrow(LayerSafetyError);
    // names with dots that are not "." or ".." are fine
    const t = new LayerTree();
    t.add(file("/etc/..hidden", "x"));
    t.add(file("/etc/.../x", "x"));
    expect(t.get("/etc/..hidden")).toBeDefined();
  });
});

// ---------------------------------------------------------------- selection

function member(path: string, type: DebMember["type"], extra: Partial<DebMember> & { content?: Uint8Array } = {}): DebMember {
  const { content: given, ...rest } = extra;
  const content = type === "file" ? (given ?? text(`content of ${path}\n`)) : undefined;
  return {
    path,
    member: path === "/" ? "./" : "." + path + (type === "dir" ? "/" : ""),
    type,
    mode: type === "dir" ? 0o755 : type === "symlink" ? 0o777 : 0o644,
    uid: 0,
    gid: 0,
    size: content?.length ?? 0,
    ...(content ? { extent: onDisk(content, path) } : {}),
    ...rest,
  };
}

/** The bytes as the deb reader leaves them: an extent of a file on disk (one temp file, unlinked, for the whole run). */
const spoolFd = (() => {
  const p = join(mkdtempSync(join(tmpdir(), "layer-tree-")), "spool");
  const fd = openSync(p, "w+");
  rmSync(dirname(p), { recursive: true });
  return fd;
})();
let spoolAt = 0;
function onDisk(bytes: Uint8Array, label: string): FileExtent {
  writeSync(spoolFd, bytes, 0, bytes.length, spoolAt);
  spoolAt += bytes.length;
  return { fd: spoolFd, offset: spoolAt - bytes.length, size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), label };
}

const PKG = { name: "pkg", version: "1.0-1", architecture: "amd64" };

describe("selector", () => {
  it("takes a path when one rule includes it and that same rule does not exclude it", () => {
    const take = selector([
      { set: "a", include: ["/usr/lib/**"], exclude: ["/usr/lib/**/*.a"] },
      { set: "b", include: ["/usr/lib/static/*.a", "/etc/app.conf"], exclude: [] },
    ]);
    expect(take("/usr/lib/x.so")).toBe(true);
    expect(take("/usr/lib/deep/er/x.so")).toBe(true);
    expect(take("/usr/lib/deep/x.a")).toBe(false); // excluded by a, not included by b
    expect(take("/usr/lib/static/x.a")).toBe(true); // excluded by a but included by b
    expect(take("/etc/app.conf")).toBe(true);
    expect(take("/etc/app.conf.bak")).toBe(false);
    expect(take("/usr/libexec/x")).toBe(false);
    expect(take("/usr/lib/.hidden")).toBe(true); // dot files match like any other
    expect(selector([])("/anything")).toBe(false);
  });

  it("DEFAULT_EXCLUDE leaves out docs, man and info pages but not look-alike names", () => {
    const take = selector([{ set: "packages", include: [...WHOLE_PACKAGE], exclude: [...DEFAULT_EXCLUDE] }]);
    for (const p of ["/usr/share/doc", "/usr/share/doc/pkg/copyright", "/usr/share/doc/pkg/changelog.Debian.gz", "/usr/share/man/man1/x.1.gz", "/usr/share/info/x.info.gz", "/usr/share/lintian/overrides/pkg", "/usr/share/doc-base/pkg", "/usr/share/bug/pkg/control"]) {
      expect(take(p), p).toBe(false);
    }
    for (const p of ["/usr/share/documentation/x", "/usr/share/docs/x", "/usr/share/pkg/doc/x", "/usr/lib/x.so", "/etc/.keep", "/usr/share/zoneinfo/UTC"]) {
      expect(take(p), p).toBe(true);
    }
  });
});

describe("selectMembers", () => {
  const members: DebMember[] = [
    member("/", "dir"),
    member("/usr", "dir", { mode: 0o755 }),
    member("/usr/lib", "dir", { mode: 0o750, gid: 50 }),
    member("/usr/lib/x.so", "file", { mode: 0o755 }),
    member("/usr/lib/empty", "dir", { mode: 0o700 }),
    member("/usr/lib/x-link.so", "symlink", { target: "x.so" }),
    member("/usr/share", "dir"),
    member("/usr/share/doc", "dir"),
    member("/usr/share/doc/pkg", "dir"),
    member("/usr/share/doc/pkg/copyright", "file"),
    member("/opt", "dir"),
    member("/opt/real", "file", { mode: 0o4750, uid: 0, gid: 7, content: text("shared bytes\n") }),
    member("/usr/lib/hard-to-unselected", "hardlink", { target: "/opt/real", mode: 0o644 }),
    member("/usr/lib/hard-to-selected", "hardlink", { target: "/usr/lib/x.so" }),
    // a link to a link whose file is not taken (GNU tar never writes these, other tars may)
    member("/opt/mid", "hardlink", { target: "/opt/real" }),
    member("/usr/lib/chain", "hardlink", { target: "/opt/mid" }),
  ];
  const take = selector([{ set: "libs", include: ["/usr/lib/**"], exclude: [] }]);
  const out = selectMembers(members, take, PKG);
  const byPath = new Map(out.map((n) => [n.path, n]));

  it("takes matching members and the parents leading to them, with the package's own modes", () => {
    expect(out.map((n) => n.path)).toEqual(["/usr", "/usr/lib", "/usr/lib/x.so", "/usr/lib/empty", "/usr/lib/x-link.so", "/usr/lib/hard-to-unselected", "/usr/lib/hard-to-selected", "/usr/lib/chain"]);
    expect(byPath.get("/usr/lib")).toMatchObject({ type: "dir", mode: 0o750, gid: 50 });
    expect(byPath.get("/usr/lib/empty")).toMatchObject({ type: "dir", mode: 0o700 }); // taken itself
    expect(byPath.get("/usr/lib/x.so")).toMatchObject({ type: "file", mode: 0o755 });
    expect(byPath.get("/usr/lib/x-link.so")).toMatchObject({ type: "symlink", target: "x.so" });
    // no unrelated dirs (/usr/share, /opt) and never the root
    expect(byPath.has("/usr/share")).toBe(false);
    expect(byPath.has("/opt")).toBe(false);
    expect(byPath.has("/")).toBe(false);
  });

  it("keeps a hard link to a taken file, and turns one to an untaken file into that file", () => {
    expect(byPath.get("/usr/lib/hard-to-selected")).toMatchObject({ type: "hardlink", target: "/usr/lib/x.so" });
    const n = byPath.get("/usr/lib/hard-to-unselected")!;
    expect(n.type).toBe("file");
    expect(n.target).toBeUndefined();
    expect(Buffer.from(fileBytes(n)).toString()).toBe("shared bytes\n");
    // one inode: the link takes its target's mode and owner
    expect(n).toMatchObject({ mode: 0o4750, gid: 7 });
    // through a chain of links, to the same file
    expect(byPath.get("/usr/lib/chain")).toMatchObject({ type: "file", mode: 0o4750, gid: 7 });
    expect(Buffer.from(fileBytes(byPath.get("/usr/lib/chain")!)).toString()).toBe("shared bytes\n");
  });

  it("records the package and tar member each node came from", () => {
    const memberOf = (path: string) => {
      const n = byPath.get(path)!;
      expect(n.origin).toMatchObject({ kind: "package", package: "pkg", version: "1.0-1", architecture: "amd64" });
      return originMember(n.origin as MemberOrigin, n);
    };
    expect(memberOf("/usr/lib")).toBe("./usr/lib/");
    expect(memberOf("/usr/lib/x.so")).toBe("./usr/lib/x.so");
    expect(memberOf("/usr/lib/hard-to-unselected")).toBe("./usr/lib/hard-to-unselected");
    // Names the paths give are not repeated: the package's nodes share one origin.
    expect(new Set(out.map((n) => n.origin)).size).toBe(1);
  });

  it("keeps a member name that the path does not give (no ./, no trailing slash) on that node's origin", () => {
    const odd = [member("/", "dir"), { ...member("/etc", "dir"), member: "etc" }, { ...member("/etc/x", "file"), member: "etc/x" }, member("/etc/y", "file")];
    const nodes = new Map(selectMembers(odd, selector([{ set: "all", include: ["/etc/**"], exclude: [] }]), PKG).map((n) => [n.path, n]));
    const memberOf = (path: string) => originMember(nodes.get(path)!.origin as MemberOrigin, nodes.get(path)!);
    expect([memberOf("/etc"), memberOf("/etc/x"), memberOf("/etc/y")]).toEqual(["etc", "etc/x", "./etc/y"]);
  });

  it("with DEFAULT_EXCLUDE, a whole package loses its docs (files and their directories)", () => {
    const all = selectMembers(members, selector([{ set: "packages", include: [...WHOLE_PACKAGE], exclude: [...DEFAULT_EXCLUDE] }]), PKG);
    const paths = all.map((n) => n.path);
    expect(paths.filter((p) => p.startsWith("/usr/share/doc"))).toEqual([]);
    expect(paths).toContain("/usr/share"); // taken as a directory matching /**
    expect(paths).toContain("/opt/real");
    expect(all.find((n) => n.path === "/usr/lib/hard-to-unselected")).toMatchObject({ type: "hardlink", target: "/opt/real" });
  });

  it("an excluded directory still comes along when a taken member lies below it", () => {
    const got = selectMembers(members, selector([{ set: "s", include: ["/usr/lib/x.so"], exclude: ["/usr/lib"] }]), PKG).map((n) => n.path);
    expect(got).toEqual(["/usr", "/usr/lib", "/usr/lib/x.so"]);
  });
});
