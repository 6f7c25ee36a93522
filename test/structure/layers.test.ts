/**
 * The layout of src/ as a rule: every folder has a rank, and a module may import only from its
 * own folder or from a folder of lower rank. So the model is a leaf, the stages never reach up
 * into the commands, and no two folders depend on each other. A new folder must be ranked here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "../../src");

/** Lower ranks are imported by higher ones, never the other way. */
const RANK: Record<string, number> = {
  model: 0, // shared record types and error classes: imports nothing of the project
  util: 1, // hashing, canonical JSON, atomic writes, positioned JSON and schema errors
  debian: 2, // Debian's formats: deb822, versions, relationships, Packages
  codec: 2, // decompression and the pinned layer compressors
  manifest: 3,
  fetch: 3,
  sources: 4,
  deb: 4,
  resolve: 4,
  lockfile: 4,
  derive: 5,
  layer: 6,
  lock: 7,
  image: 7,
  audit: 7,
  doctor: 7,
  commands: 8,
  cli: 9,
  ".": 10, // src/index.ts, the library entry
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

function folderOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes(sep) ? rel.split(sep)[0]! : ".";
}

/** Every relative import of a module: static, re-exports, type-only and dynamic import(). */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']+)\1/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[2]!);
  return out;
}

describe("src/ layout", () => {
  const files = sources(SRC);

  it("ranks every folder", () => {
    const unranked = [...new Set(files.map(folderOf))].filter((f) => RANK[f] === undefined);
    expect(unranked).toEqual([]);
  });

  it("has no import from a folder of equal or higher rank (no upward or circular dependency)", () => {
    const bad: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      for (const spec of relativeImports(readFileSync(file, "utf8"))) {
        const target = normalize(join(dirname(file), spec));
        if (!target.startsWith(SRC + sep)) {
          bad.push(`${relative(SRC, file)} imports ${spec}, outside src/`);
          continue;
        }
        const to = folderOf(target);
        if (to !== from && !(RANK[to]! < RANK[from]!)) bad.push(`${relative(SRC, file)} (${from}, rank ${RANK[from]}) imports ${spec} (${to}, rank ${RANK[to]})`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("finds the imports it checks", () => {
    // The rule above is only as good as the import scanner: it must see every form.
    const text = [
      `import { a } from "../model/lock.js";`,
      `import type { B } from '../fetch/cache.js';`,
      `export { c } from "./x.js";`,
      `const m = await import("../commands/layer.js");`,
      `import "./side-effect.js";`,
      `import {\n  d,\n  e,\n} from "../util/hash.js";`,
    ].join("\n");
    expect(relativeImports(text)).toEqual(["../model/lock.js", "../fetch/cache.js", "./x.js", "../commands/layer.js", "./side-effect.js", "../util/hash.js"]);
    expect(files.length).toBeGreaterThan(50);
  });
});
