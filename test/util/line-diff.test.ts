// The --check listing of `add`: a unified diff of scratch.json, hunk for hunk what GNU diff -U2 prints.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lineDiff } from "../../src/util/line-diff.js";
import { hasCommand } from "../fixtures/deb.js";

const COMMITTED = readFileSync(join(import.meta.dirname, "../../scratch.json"), "utf8");

/** GNU diff's unified hunks (without the two file header lines). */
function gnuDiff(a: string, b: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "line-diff-"));
  try {
    writeFileSync(join(dir, "a"), a);
    writeFileSync(join(dir, "b"), b);
    const r = spawnSync("diff", ["-U2", join(dir, "a"), join(dir, "b")], { encoding: "utf8" });
    return r.stdout.split("\n").slice(2, -1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasCommand("diff"))("lineDiff", () => {
  const cases: Array<[string, string]> = [
    ["one set inserted", COMMITTED.replace('    "libc": {},\n', '    "libc": {},\n    "app-amd64": {\n      "packages": ["libc6"],\n      "paths": ["/usr/lib/x86_64-linux-gnu/libc.so.6"]\n    },\n')],
    ["two places far apart", COMMITTED.replace('"policy": "closure"', '"policy": "none"').replace('    "tzdata": { "timezone": "UTC" }\n  }\n', '    "tzdata": { "timezone": "UTC" }\n  },\n  "packages": ["hello"]\n')],
    ["two places close together", COMMITTED.replace('    "base": {},\n', '    "app": {},\n    "base": {},\n').replace('    "libc": {},\n', '    "libc": {},\n    "more": {},\n')],
    ["a line replaced", COMMITTED.replace('"architectures": ["amd64", "arm64"]', '"architectures": ["amd64"]')],
  ];
  for (const [name, after] of cases) {
    it(name, () => {
      expect(lineDiff(COMMITTED, after)).toEqual(gnuDiff(COMMITTED, after));
    });
  }

  it("is empty for equal texts", () => {
    expect(lineDiff(COMMITTED, COMMITTED)).toEqual([]);
    expect(execFileSync("diff", ["-U2", "/dev/null", "/dev/null"], { encoding: "utf8" })).toBe("");
  });
});
