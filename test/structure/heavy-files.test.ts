/**
 * The sequencer's list of heavy files names files that exist (a renamed file would silently
 * lose its early start), once each, and puts them first in the listed order.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HEAVY_FILES, heavyFirst } from "../heavy-first-sequencer.js";

const ROOT = join(import.meta.dirname, "../..");

describe("the heavy-first sequencer", () => {
  it("lists only test files that exist, each once", () => {
    expect(HEAVY_FILES.filter((f) => !f.endsWith(".test.ts") || !existsSync(join(ROOT, f)))).toEqual([]);
    expect(new Set(HEAVY_FILES).size).toBe(HEAVY_FILES.length);
  });

  it("starts the listed files first, in the listed order, and keeps the others' order", () => {
    const others = ["test/a.test.ts", "test/b.test.ts", "test/c.test.ts"];
    const given = [others[0]!, HEAVY_FILES[2]!, others[1]!, HEAVY_FILES[0]!, others[2]!];
    expect(heavyFirst(given, (f) => f)).toEqual([HEAVY_FILES[0], HEAVY_FILES[2], ...others]);
  });
});
