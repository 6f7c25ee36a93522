// The check that each package with the copyright rule reaches a regular copyright file in the
// layer, on hand-made nodes: Debian's doc-directory links between packages of one source.
import { describe, expect, it } from "vitest";
import { checkCopyrights } from "../../src/layer/copyright.js";
import { MissingCopyrightError } from "../../src/layer/errors.js";
import { COPYRIGHT_SET, type LockedPackage } from "../../src/model/lock.js";
import type { LayerNode } from "../../src/model/layer.js";
import { copyrightRule, selectionRules } from "../../src/lock/plan.js";
import { builtinFileSet } from "../../src/resolve/filesets.js";
import type { ResolvedPackage } from "../../src/resolve/types.js";

const origin = (pkg: string, path: string) => ({ kind: "package" as const, package: pkg, version: "1", architecture: "amd64", member: "." + path });
const file = (pkg: string, path: string): LayerNode => ({ path, type: "file", mode: 0o644, uid: 0, gid: 0, content: new TextEncoder().encode(`${pkg}\n`), origin: origin(pkg, path) });
const link = (pkg: string, path: string, target: string): LayerNode => ({ path, type: "symlink", mode: 0o777, uid: 0, gid: 0, target, origin: origin(pkg, path) });

function locked(name: string, copyright = true): LockedPackage {
  const select = [{ set: "libc", include: ["/**"], exclude: ["/usr/share/doc/**"] }, ...(copyright ? [copyrightRule(name)] : [])];
  return { name, version: "1", architecture: "amd64", source: "debian", suite: "bookworm", component: "main", url: "https://archive.test.invalid/x.deb", size: 1, sha256: "0".repeat(64), reasons: ["file set libc"], select };
}

function check(byPkg: Record<string, LayerNode[]>, copyright = true): void {
  const nodes = new Map(Object.values(byPkg).flat().map((n) => [n.path, n]));
  checkCopyrights(nodes, Object.entries(byPkg).map(([name, taken]) => ({ pkg: locked(name, copyright), taken })), "amd64");
}

describe("copyright files", () => {
  it("the rule takes the doc directory (or the link standing for it) and the file", () => {
    expect(copyrightRule("libstdc++6")).toEqual({ set: COPYRIGHT_SET, include: ["/usr/share/doc/libstdc++6", "/usr/share/doc/libstdc++6/copyright"], exclude: [] });
  });

  it("every locked package gets the rule, unless the manifest turns \"copyright\" off", () => {
    const sets = new Map([["file set libc", builtinFileSet("libc")!]]);
    const dep = { record: { name: "libgcc-s1" }, reasons: ["file set libc → libc6 → libgcc-s1"] } as ResolvedPackage;
    expect(selectionRules(dep, sets, true).map((r) => r.set)).toEqual(["copyright", "libc"]);
    expect(selectionRules(dep, sets, true)[0]).toEqual(copyrightRule("libgcc-s1"));
    expect(selectionRules(dep, sets, false).map((r) => r.set)).toEqual(["libc"]);
  });

  it("accepts a doc-directory link whose sibling brings the file, and a package with a file of its own", () => {
    expect(() =>
      check({
        "libgcc-s1": [link("libgcc-s1", "/usr/share/doc/libgcc-s1", "gcc-12-base")],
        "gcc-12-base": [file("gcc-12-base", "/usr/share/doc/gcc-12-base/copyright")],
        libc6: [file("libc6", "/usr/share/doc/libc6/copyright")],
      }),
    ).not.toThrow();
    // A copyright file that is itself a link to the sibling's.
    expect(() => check({ a: [link("a", "/usr/share/doc/a/copyright", "../b/copyright")], b: [file("b", "/usr/share/doc/b/copyright")] })).not.toThrow();
  });

  it("refuses a link into a package the lock lacks (exit 2), naming the package, the link and what to do", () => {
    let e: unknown;
    try {
      check({ "libgcc-s1": [link("libgcc-s1", "/usr/share/doc/libgcc-s1", "gcc-12-base")] });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(MissingCopyrightError);
    const err = e as MissingCopyrightError;
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain("libgcc-s1 1 (amd64)");
    expect(err.message).toContain("/usr/share/doc/libgcc-s1 → gcc-12-base");
    expect(err.message).toContain("/usr/share/doc/gcc-12-base is not in the layer");
    expect(err.hint).toMatch(/"packages".*"copyright": false/);
  });

  it("leaves alone a package without the rule (\"copyright\": false) and one without any copyright member", () => {
    expect(() => check({ "libgcc-s1": [link("libgcc-s1", "/usr/share/doc/libgcc-s1", "gcc-12-base")] }, false)).not.toThrow();
    expect(() => check({ tool: [file("tool", "/usr/bin/tool")] })).not.toThrow();
  });
});
