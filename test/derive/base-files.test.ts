import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { baseFiles, GROUP, PASSWD } from "../../src/derive/base-files.js";
import type { LayerNode } from "../../src/model/layer.js";
import { sha256Hex } from "../../src/util/hash.js";

const origin = { kind: "package" as const, package: "base-files", version: "12.4+deb12u11", architecture: "amd64", member: "./usr/lib/os-release" };
const osRelease = (content: Uint8Array): LayerNode => ({ path: "/usr/lib/os-release", type: "file", mode: 0o644, uid: 0, gid: 0, content, origin });

describe("base files", () => {
  test("passwd is distroless's; group and dirs as the README's Layers section lists them", () => {
    const d = baseFiles({ nodes: new Map() });
    const byPath = new Map(d.nodes.map((n) => [n.path, n]));
    const text = (p: string) => Buffer.from(byPath.get(p)!.content!).toString("utf8");
    expect(text("/etc/passwd").split("\n")).toEqual([
      "root:x:0:0:root:/root:/sbin/nologin",
      "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin",
      "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin",
      "",
    ]);
    expect(text("/etc/passwd")).toBe(PASSWD);
    // every passwd primary group exists in group, with the same id
    const groups = new Map(text("/etc/group").trimEnd().split("\n").map((l) => [l.split(":")[0], l.split(":")[2]]));
    for (const line of PASSWD.trimEnd().split("\n")) {
      const [name, , , gid] = line.split(":");
      expect(groups.get(name!)).toBe(gid);
    }
    expect(text("/etc/group")).toBe(GROUP);
    expect(text("/etc/nsswitch.conf")).toMatch(/^hosts:\s+files dns$/m);
    expect(byPath.get("/home/nonroot")).toMatchObject({ type: "dir", mode: 0o700, uid: 65532, gid: 65532 });
    expect(byPath.get("/root")).toMatchObject({ type: "dir", mode: 0o700, uid: 0, gid: 0 });
    expect(byPath.get("/tmp")).toMatchObject({ type: "dir", mode: 0o1777, uid: 0, gid: 0 });
    expect(d.record.outputs.find((o) => o.path === "/tmp")!.mode).toBe("1777");
    expect(byPath.has("/etc/os-release")).toBe(false);
    expect(d.record.inputs).toEqual([]);
    expect(d.nodes.map((n) => n.path)).toEqual([...d.nodes.map((n) => n.path)].sort());
  });

  test("/etc/os-release → ../usr/lib/os-release only when base-files' file is there and the link is not", () => {
    const content = existsSync("/usr/lib/os-release") ? new Uint8Array(readFileSync("/usr/lib/os-release")) : new TextEncoder().encode('ID=debian\n');
    const nodes = new Map([["/usr/lib/os-release", osRelease(content)]]);
    const d = baseFiles({ nodes });
    expect(d.nodes.find((n) => n.path === "/etc/os-release")).toMatchObject({ type: "symlink", target: "../usr/lib/os-release", mode: 0o777 });
    expect(d.record.inputs).toEqual([{ path: "/usr/lib/os-release", sha256: sha256Hex(content) }]);
    // the link Debian's own base-files has is exactly this one
    if (existsSync("/etc/os-release") && existsSync("/usr/lib/os-release")) {
      if (lstatSync("/etc/os-release").isSymbolicLink()) expect(readlinkSync("/etc/os-release")).toBe("../usr/lib/os-release");
    }
    const withLink = new Map(nodes);
    withLink.set("/etc/os-release", { ...osRelease(content), path: "/etc/os-release", type: "symlink", target: "../usr/lib/os-release", content: undefined });
    expect(baseFiles({ nodes: withLink }).nodes.some((n) => n.path === "/etc/os-release")).toBe(false);
  });
});
