// What the real tools say a .deb holds: dpkg-deb -x + find + sha256sum for the tree,
// dpkg-deb --fsys-tarfile | tar -t(v) for archive order and numeric owners, dpkg-deb -e / -I
// for the control archive. The reader under test is compared with this, never with itself.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { DebContents } from "../../src/deb/read-deb.js";
import { readExtent } from "../../src/util/file-extent.js";
import { hasCommand } from "../fixtures/deb.js";
import { createHash } from "node:crypto";

export const oracleTools = ["dpkg-deb", "tar", "find", "sha256sum", "ar", "xz", "zstd"];
export const missingTools = oracleTools.filter((c) => !hasCommand(c));
export const skipReason = missingTools.length > 0 ? `missing ${missingTools.join(", ")}` : undefined;

const env = { ...process.env, TZ: "UTC", LC_ALL: "C" };

export interface OracleNode {
  type: "d" | "f" | "l";
  mode: number;
  size: number;
  inode: string;
  link: string;
  sha256?: string;
}

export interface Oracle {
  tree: Map<string, OracleNode>;
  /** data.tar member names in archive order, as tar -t lists them. */
  names: string[];
  /** Numeric owners of each member, same order. */
  owners: Array<{ uid: number; gid: number }>;
  /** Files of the control archive, as dpkg-deb -e extracts them. */
  controlFiles: Map<string, Uint8Array>;
  /** dpkg-deb -I DEB control. */
  control: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Buffer {
  return execFileSync(cmd, args, { env, cwd: opts.cwd, maxBuffer: 1 << 30 });
}

export function oracle(deb: string): Oracle {
  const dir = mkdtempSync(join(tmpdir(), "deb-oracle-"));
  try {
    const root = join(dir, "root");
    run("dpkg-deb", ["-x", deb, root]);
    const tree = new Map<string, OracleNode>();
    const listing = run("find", [".", "-printf", "%y\\0%m\\0%s\\0%i\\0%l\\0%p\\0"], { cwd: root }).toString("utf8").split("\0");
    for (let i = 0; i + 6 <= listing.length; i += 6) {
      const [type, mode, size, inode, link, p] = listing.slice(i, i + 6) as [string, string, string, string, string, string];
      const path = p === "." ? "/" : p.slice(1);
      tree.set(path, { type: type as OracleNode["type"], mode: parseInt(mode, 8), size: Number(size), inode, link });
    }
    const files = [...tree].filter(([, n]) => n.type === "f").map(([p]) => "." + p);
    for (let i = 0; i < files.length; i += 200) {
      const out = run("sha256sum", ["-z", "--", ...files.slice(i, i + 200)], { cwd: root }).toString("utf8").split("\0");
      for (const line of out) {
        if (line === "") continue;
        const m = /^([0-9a-f]{64}) [ *](.*)$/s.exec(line);
        if (m === null) throw new Error(`unexpected sha256sum output ${line}`);
        tree.get(m[2]!.slice(1))!.sha256 = m[1]!;
      }
    }
    const fsys = run("dpkg-deb", ["--fsys-tarfile", deb]);
    const names = execFileSync("tar", ["-t", "--quoting-style=literal"], { env, input: fsys, maxBuffer: 1 << 30 })
      .toString("utf8")
      .split("\n")
      .slice(0, -1);
    const owners = execFileSync("tar", ["-tv", "--numeric-owner", "--quoting-style=literal"], { env, input: fsys, maxBuffer: 1 << 30 })
      .toString("utf8")
      .split("\n")
      .slice(0, -1)
      .map((line) => {
        const m = /^\S+ (\d+)\/(\d+) /.exec(line);
        if (m === null) throw new Error(`unexpected tar -tv line ${line}`);
        return { uid: Number(m[1]), gid: Number(m[2]) };
      });
    const controlDir = join(dir, "control");
    run("dpkg-deb", ["-e", deb, controlDir]);
    const controlFiles = new Map<string, Uint8Array>();
    for (const name of readdirSync(controlDir)) controlFiles.set(name, new Uint8Array(readFileSync(join(controlDir, name))));
    const control = run("dpkg-deb", ["-I", deb, "control"]).toString("utf8");
    return { tree, names, owners, controlFiles, control };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Every data member and every control file agrees with the oracle, and nothing is missing. */
export function expectMatchesOracle(got: DebContents, o: Oracle): void {
  expect(got.data.map((m) => m.member)).toEqual(o.names);
  expect(got.data.map((m) => ({ uid: m.uid, gid: m.gid }))).toEqual(o.owners);
  expect(new Set(got.data.map((m) => m.path))).toEqual(new Set(o.tree.keys()));
  const byPath = new Map(got.data.map((m) => [m.path, m]));
  for (const m of got.data) {
    const n = o.tree.get(m.path);
    expect(n, m.path).toBeDefined();
    if (n === undefined) continue;
    if (byPath.get(m.path) !== m) continue; // a later member at the same path wins, as on disk
    switch (m.type) {
      case "dir":
        expect([n.type, n.mode], m.path).toEqual(["d", m.mode]);
        break;
      case "file":
        expect(m.extent, m.path).toBeDefined();
        expect([n.type, n.mode, n.size, n.sha256], m.path).toEqual(["f", m.mode, m.size, sha256(readExtent(m.extent!))]);
        break;
      case "symlink":
        expect([n.type, n.link], m.path).toEqual(["l", m.target]);
        break;
      case "hardlink": {
        const t = o.tree.get(m.target!);
        expect(t, `${m.path} → ${m.target}`).toBeDefined();
        expect([n.type, n.inode], m.path).toEqual(["f", t?.inode]);
        break;
      }
    }
  }
  expect(new Set(got.controlFiles.keys())).toEqual(new Set(o.controlFiles.keys()));
  for (const [name, bytes] of o.controlFiles) expect(sha256(got.controlFiles.get(name)!), name).toBe(sha256(bytes));
  expect(got.control).toBe(o.control);
}
