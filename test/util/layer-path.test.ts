/**
 * Lookup inside a layer against the kernel: the same tree is laid out in a temp directory and
 * resolved with realpath(3) wherever no link leaves that directory; the cases that reach the
 * layer root (absolute targets, ".." at the root) are checked against what a chroot would do.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { followPath, hasPathBelow, MAX_SYMLINKS, type PathView } from "../../src/util/layer-path.js";

type Node = { type: "file" | "dir" | "symlink"; target?: string };

function view(tree: Record<string, Node>): PathView<Node> {
  const map = new Map(Object.entries(tree));
  return { get: (p) => map.get(p), kind: (n) => n.type, linkTarget: (n) => n.target ?? "", isImplicitDir: (d) => hasPathBelow(map.keys(), d) };
}

const tree: Record<string, Node> = {
  "/usr": { type: "dir" },
  "/usr/lib": { type: "dir" },
  "/usr/lib/x86_64-linux-gnu": { type: "dir" },
  "/usr/lib/x86_64-linux-gnu/libc.so.6": { type: "file" },
  "/lib": { type: "symlink", target: "usr/lib" },
  "/etc": { type: "dir" },
  "/etc/file": { type: "file" },
  "/etc/up": { type: "symlink", target: "../usr/lib" },
  "/etc/dotted": { type: "symlink", target: "./../etc/./file" },
  "/etc/loop": { type: "symlink", target: "loop" },
  "/etc/dangling": { type: "symlink", target: "nowhere" },
};
// A relative chain: /c/0 → 1 → 2 → … → /c/N, a file.
const CHAIN = MAX_SYMLINKS + 1;
tree["/c"] = { type: "dir" };
for (let i = 0; i < CHAIN; i++) tree[`/c/${i}`] = { type: "symlink", target: String(i + 1) };
tree[`/c/${CHAIN}`] = { type: "file" };

const root = mkdtempSync(join(tmpdir(), "layer-path-"));
for (const [p, n] of Object.entries(tree).sort(([a], [b]) => a.length - b.length)) {
  const at = join(root, p);
  if (n.type === "dir") mkdirSync(at, { recursive: true });
  else if (n.type === "file") writeFileSync(at, "");
  else symlinkSync(n.target!, at);
}
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The kernel's answer, as a layer path, or the errno code. */
function kernel(path: string): string {
  try {
    // Not join(): it would fold "file/.." before the kernel sees it.
    return realpathSync.native(root + path).slice(realpathSync.native(root).length) || "/";
  } catch (e) {
    return (e as NodeJS.ErrnoException).code!;
  }
}

function ours(path: string): string {
  const r = followPath(view(tree), path);
  if (r.ok) return r.path;
  return /too many levels/.test(r.reason) ? "ELOOP" : /not a directory/.test(r.reason) ? "ENOTDIR" : "ENOENT";
}

describe("followPath", () => {
  it.each([
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/etc/up/x86_64-linux-gnu/libc.so.6",
    "/etc/dotted",
    "/etc/up/../../etc/file",
    "/etc/loop",
    "/etc/dangling",
    "/etc/file/x",
    "/etc/file/..",
    "/c/1",
    "/c/0",
    "/nope/../etc/file",
  ])("resolves %s as the kernel does", (p) => {
    expect(ours(p)).toBe(kernel(p));
  });

  it("allows 40 links in one lookup and fails the 41st, as Linux does", () => {
    expect(kernel("/c/1")).toBe(`/c/${CHAIN}`); // 40 links
    expect(kernel("/c/0")).toBe("ELOOP"); // 41
    expect(followPath(view(tree), "/c/1")).toMatchObject({ ok: true, path: `/c/${CHAIN}` });
    expect(followPath(view(tree), "/c/0")).toMatchObject({ ok: false, reason: expect.stringMatching(/too many levels of symbolic links at \/c\//) });
  });

  it("resolves absolute targets against the layer root and clamps '..' there, as in a chroot", () => {
    const t = view({ ...tree, "/etc/abs": { type: "symlink", target: "/usr/lib" }, "/etc/high": { type: "symlink", target: "../../../../etc/file" } });
    expect(followPath(t, "/etc/abs/x86_64-linux-gnu/libc.so.6")).toMatchObject({ ok: true, path: "/usr/lib/x86_64-linux-gnu/libc.so.6" });
    expect(followPath(t, "/etc/high")).toMatchObject({ ok: true, path: "/etc/file" });
    expect(followPath(t, "/../../etc/file")).toMatchObject({ ok: true, path: "/etc/file" });
    expect(followPath(t, "/..")).toMatchObject({ ok: true, path: "/", node: undefined });
  });

  it("records the links it crossed, in order, with their target text", () => {
    expect(followPath(view(tree), "/lib/x86_64-linux-gnu/libc.so.6").links).toEqual([{ path: "/lib", target: "usr/lib" }]);
    expect(followPath(view(tree), "/etc/up/../lib")).toEqual({ ok: true, path: "/usr/lib", node: { type: "dir" }, links: [{ path: "/etc/up", target: "../usr/lib" }] });
    expect(followPath(view(tree), "/etc/loop").links).toHaveLength(MAX_SYMLINKS);
  });

  it("takes a directory with nodes below it but none of its own as a directory", () => {
    const t = view({ "/a/b/c": { type: "file" } });
    expect(followPath(t, "/a/b/c")).toMatchObject({ ok: true, path: "/a/b/c" });
    expect(followPath(t, "/a/b")).toMatchObject({ ok: true, path: "/a/b", node: undefined });
    expect(followPath(t, "/a/x")).toMatchObject({ ok: false, reason: "/a/x is not in the layer" });
  });
});
