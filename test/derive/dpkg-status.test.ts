import { createHash } from "node:crypto";
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { dpkgStatus, filterMd5sums } from "../../src/derive/dpkg-status.js";
import { DerivationError } from "../../src/derive/errors.js";
import { parseDeb822 } from "../../src/debian/deb822.js";
import { extractDeb, hasCommand, run, removeTempDirs } from "./helpers.js";

afterAll(removeTempDirs);

const SNAPSHOT_DEB = "snapshots/debian/pool/main/c/ca-certificates/ca-certificates_20230311+deb12u1_all.deb";

describe.skipIf(!hasCommand("dpkg-deb") || !hasCommand("md5sum"))("dpkg status.d", () => {
  test("control verbatim; md5sums only for files in the layer, and md5sum -c accepts them", () => {
    const deb = extractDeb(SNAPSHOT_DEB);
    const control = readFileSync(join(deb.control, "control"), "utf8");
    const md5sums = readFileSync(join(deb.control, "md5sums"), "utf8");
    const taken = ["/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt", "/usr/share/ca-certificates/mozilla/GTS_Root_R1.crt", "/usr/sbin/update-ca-certificates"];
    const d = dpkgStatus([{ name: "ca-certificates", control, md5sums, files: taken }]);
    expect(d.nodes.map((n) => n.path)).toEqual(["/var/lib/dpkg/status.d/ca-certificates", "/var/lib/dpkg/status.d/ca-certificates.md5sums"]);
    const stanza = Buffer.from(d.nodes[0]!.content!).toString("utf8");
    expect(stanza).toBe(control);
    expect(parseDeb822(stanza)[0]).toBeDefined();
    const sums = Buffer.from(d.nodes[1]!.content!).toString("utf8");
    expect(sums.trimEnd().split("\n").map((l) => "/" + l.split(/\s+/)[1]).sort()).toEqual([...taken].sort());
    // the real md5sum checks the kept lines against the extracted files
    writeFileSync(join(deb.root, "..", "kept.md5sums"), sums);
    expect(run("md5sum", ["-c", join(deb.root, "..", "kept.md5sums")], { cwd: deb.root })).toMatch(/OK/);
    expect(d.record.inputs.map((i) => i.path)).toEqual(["ca-certificates/control", "ca-certificates/md5sums"]);
  });

  test("each status.d node's origin names only the control.tar member it is made from, not every package's", () => {
    // (With every input on every output, the tree of a 412-package layer held 680,000 input
    // records, outputs × inputs: 280 MB of a 515 MB peak.)
    const sha = (t: string) => createHash("sha256").update(t).digest("hex");
    const pkgs = ["aa", "bb", "cc"].map((name) => ({ name, control: `Package: ${name}\n`, md5sums: `0123456789abcdef0123456789abcdef  usr/${name}\n`, files: [`/usr/${name}`] }));
    const d = dpkgStatus(pkgs);
    expect(d.record.inputs).toHaveLength(6);
    for (const p of pkgs) {
      const origin = (path: string) => d.nodes.find((n) => n.path === path)!.origin;
      expect(origin(`/var/lib/dpkg/status.d/${p.name}`)).toEqual({ kind: "derivation", recipe: "dpkg-status", version: "1", inputs: [{ path: `${p.name}/control`, sha256: sha(p.control) }] });
      expect(origin(`/var/lib/dpkg/status.d/${p.name}.md5sums`)).toEqual({ kind: "derivation", recipe: "dpkg-status", version: "1", inputs: [{ path: `${p.name}/md5sums`, sha256: sha(p.md5sums) }] });
    }
  });

  test("sorted by package; no md5sums file when nothing is left or there is none; bad names refused", () => {
    const d = dpkgStatus([
      { name: "zlib1g", control: "Package: zlib1g\n", md5sums: "0123456789abcdef0123456789abcdef  usr/lib/x\n", files: [] },
      { name: "libc6", control: "Package: libc6\n", md5sums: undefined, files: ["/lib/x"] },
    ]);
    expect(d.nodes.map((n) => n.path)).toEqual(["/var/lib/dpkg/status.d/libc6", "/var/lib/dpkg/status.d/zlib1g"]);
    expect(() => dpkgStatus([{ name: "../x", control: "", md5sums: undefined, files: [] }])).toThrow(DerivationError);
    expect(() => dpkgStatus([{ name: "a", control: "", md5sums: undefined, files: [] }, { name: "a", control: "", md5sums: undefined, files: [] }])).toThrow(DerivationError);
    expect(filterMd5sums("0123456789abcdef0123456789abcdef  usr/a b\nbad line\n", new Set(["/usr/a b"]))).toBe("0123456789abcdef0123456789abcdef  usr/a b\n");
  });
});
