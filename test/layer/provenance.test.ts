// The provenance manifest: the writer's format line and provider lists, the reader's round trip,
// and the reader refusing what the writer never writes, naming the file and the line.
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LayerTree } from "../../src/layer/tree.js";
import { provenanceEntry, provenanceManifest } from "../../src/layer/provenance.js";
import { readExtent } from "../../src/util/file-extent.js";
import { parseProvenance } from "../../src/layer/provenance-read.js";
import { ProvenanceError } from "../../src/layer/errors.js";
import type { LayerNode, NodeOrigin } from "../../src/model/layer.js";
import type { LockedDerivation } from "../../src/model/lock.js";
import type { AnonymousFile } from "../../src/util/spool-file.js";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

// The manifest's file, made synchronously here (the product's is nameless: test/util/spool-file.test.ts).
const spoolDir = mkdtempSync(join(tmpdir(), "provenance-test-"));
const fds: number[] = [];
afterAll(() => {
  for (const fd of fds) closeSync(fd);
  rmSync(spoolDir, { recursive: true, force: true });
});
function spool(): AnonymousFile {
  const fd = openSync(join(spoolDir, String(fds.length)), "wx+", 0o600);
  fds.push(fd);
  return {
    write: (chunk) => void writeSync(fd, chunk),
    extent: (size, sha256, label) => ({ fd, offset: 0, size, sha256, label }),
    discard: () => {},
  };
}
const pkg = (name: string, member: string): NodeOrigin => ({ kind: "package", package: name, version: "1.0", architecture: "amd64", member });
const file = (path: string, content: string, origin: NodeOrigin): LayerNode => ({ path, type: "file", mode: 0o644, uid: 0, gid: 0, content: Buffer.from(content), origin });

const BASE: LockedDerivation = {
  recipe: "base",
  version: "1",
  options: { nonroot: true },
  inputs: [{ path: "/usr/share/base/in", sha256: sha256("in") }],
  outputs: [{ path: "/etc/passwd", type: "file", mode: "0644", uid: 0, gid: 0, sha256: sha256("root\n") }],
};

/** A small layer: two packages shipping one identical file (added in reverse name order), a link, a hard link, a derivation output. */
function sample(): { nodes: LayerNode[]; text: string } {
  const t = new LayerTree();
  t.add(file("/usr/share/common/shared", "same\n", pkg("zeta", "./usr/share/common/shared")));
  t.add(file("/usr/share/common/shared", "same\n", pkg("alpha", "./usr/share/common/shared")));
  t.add({ path: "/usr/bin/tool", type: "file", mode: 0o4755, uid: 0, gid: 0, content: Buffer.from("tool\n"), origin: pkg("alpha", "./usr/bin/tool") });
  t.add({ path: "/usr/bin/tool-sym", type: "symlink", mode: 0o777, uid: 0, gid: 0, target: "tool", origin: pkg("alpha", "./usr/bin/tool-sym") });
  t.add({ path: "/usr/bin/hard", type: "hardlink", mode: 0o4755, uid: 0, gid: 0, target: "/usr/bin/tool", origin: pkg("alpha", "./usr/bin/hard") });
  t.add({ ...file("/etc/passwd", "root\n", { kind: "derivation", recipe: "base", version: "1", inputs: BASE.inputs }) });
  const nodes = t.list();
  return { nodes, text: Buffer.from(readExtent(provenanceManifest(nodes, [BASE], spool()).node.extent!)).toString("utf8") };
}

const lines = (text: string) => text.slice(0, -1).split("\n");
const unlines = (ls: string[]) => ls.map((l) => l + "\n").join("");

function refusal(text: string): ProvenanceError {
  try {
    parseProvenance(text, "layer.tar.provenance.jsonl");
  } catch (e) {
    expect(e).toBeInstanceOf(ProvenanceError);
    return e as ProvenanceError;
  }
  throw new Error("the manifest was accepted");
}

describe("provenance manifest", () => {
  it("begins with the format line, then the derivations, then one line per path", () => {
    const { nodes, text } = sample();
    const ls = lines(text);
    expect(ls[0]).toBe('{"format":"scratch-pkgs-provenance","version":1}');
    expect(JSON.parse(ls[1]!)).toEqual({ derivation: BASE });
    expect(ls.slice(2).map((l) => (JSON.parse(l) as { path: string }).path)).toEqual(
      nodes.map((n) => n.path).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
  });

  it("lists every provider of an identical path, sorted whatever order the packages came in", () => {
    const { text } = sample();
    const shared = lines(text).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.path === "/usr/share/common/shared")!;
    expect(shared.origin).toEqual(pkg("alpha", "./usr/share/common/shared"));
    expect(shared.alsoFrom).toEqual([pkg("zeta", "./usr/share/common/shared")]);
    // one provider: no list
    expect(lines(text).some((l) => l.includes('"/usr/bin/tool"') && l.includes("alsoFrom"))).toBe(false);
  });

  it("round trip: the reader returns exactly the writer's records", () => {
    const { nodes, text } = sample();
    const want = nodes.map(provenanceEntry).sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
    expect(parseProvenance(text, "x")).toEqual({ derivations: [BASE], entries: want });
  });

  it("refuses a manifest without the format line, or of another format or version, on line 1 (exit 2)", () => {
    const ls = lines(sample().text);
    const old = refusal(unlines(ls.slice(1)));
    expect(old.message).toMatch(/^layer\.tar\.provenance\.jsonl line 1: no format line/);
    expect(old.exitCode).toBe(2);
    expect(old.hint).toContain("scratch-pkgs layer");
    expect(refusal(unlines(['{"format":"scratch-pkgs-provenance","version":2}', ...ls.slice(1)])).message).toBe(
      "layer.tar.provenance.jsonl line 1: format version 2 is not supported (this scratch-pkgs reads version 1)",
    );
    expect(refusal(unlines(['{"format":"chisel-manifest","version":1}', ...ls.slice(1)])).message).toContain('line 1: format "chisel-manifest" is not');
    expect(refusal(unlines(['{"format":"scratch-pkgs-provenance","version":1,"extra":true}', ...ls.slice(1)])).message).toContain('line 1: the format line has an unknown field "extra"');
    expect(refusal("").message).toMatch(/line 1: the file is empty/);
  });

  it("refuses a malformed line, naming its number", () => {
    const ls = lines(sample().text);
    const at = (n: number, line: string) => unlines(ls.map((l, i) => (i === n - 1 ? line : l)));
    const entry = (n: number) => JSON.parse(ls[n - 1]!) as Record<string, unknown>;
    expect(refusal(at(4, "{not json")).message).toMatch(/^layer\.tar\.provenance\.jsonl line 4: not JSON/);
    expect(refusal(at(4, "")).message).toContain("line 4: an empty line");
    expect(refusal(at(4, "[]")).message).toContain("line 4: the path line must be an object");
    expect(refusal(at(4, JSON.stringify({ ...entry(4), uid: "0" }))).message).toContain("line 4: the path line.uid must be a non-negative integer");
    expect(refusal(at(4, JSON.stringify({ ...entry(4), colour: "red" }))).message).toContain('line 4: the path line has an unknown field "colour"');
    expect(refusal(at(4, JSON.stringify({ ...entry(4), mode: "644" }))).message).toContain('line 4: the path line.mode "644" is not a 4-digit octal mode');
    expect(refusal(at(4, JSON.stringify({ ...entry(4), path: "/usr/../etc" }))).message).toContain("line 4: the path line.path");
    expect(refusal(at(4, JSON.stringify({ ...entry(4), origin: { kind: "magic" } }))).message).toContain("line 4: origin must be an object whose kind is");
    const fileLine = ls.findIndex((l) => l.includes('"/usr/share/common/shared"')) + 1;
    const { sha256: _, ...noDigest } = entry(fileLine);
    expect(refusal(at(fileLine, JSON.stringify(noDigest))).message).toContain(`line ${fileLine}: a file's line must give its size and sha256`);
    const { alsoFrom: __, ...single } = entry(fileLine);
    expect(refusal(at(fileLine, JSON.stringify({ ...single, origin: pkg("zeta", "./usr/share/common/shared"), alsoFrom: [pkg("alpha", "./usr/share/common/shared")] }))).message).toContain(
      `line ${fileLine}: the providers (origin, then alsoFrom) are not in provider order`,
    );
    expect(refusal(at(2, JSON.stringify({ derivation: { ...BASE, version: 1 } }))).message).toContain("line 2: derivation.version must be a non-empty string");
    expect(refusal(unlines([...ls, ls[1]!])).message).toContain(`line ${ls.length + 1}: a derivation line after the path lines`);
    expect(refusal(sample().text.slice(0, -1)).message).toContain(`line ${ls.length}: the last line does not end with a newline`);
  });

  it("refuses unsorted and repeated paths, naming both lines", () => {
    const ls = lines(sample().text);
    const swapped = [...ls];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    const second = (JSON.parse(ls[3]!) as { path: string }).path;
    expect(refusal(unlines(swapped)).message).toBe(`layer.tar.provenance.jsonl line 5: ${second} sorts before the path of line 4 (paths are sorted by bytes)`);
    const repeated = [...ls.slice(0, 5), ls[4]!, ...ls.slice(5)];
    const fifth = (JSON.parse(ls[4]!) as { path: string }).path;
    expect(refusal(unlines(repeated)).message).toBe(`layer.tar.provenance.jsonl line 6: ${fifth} is listed twice (also line 5)`);
  });
});
