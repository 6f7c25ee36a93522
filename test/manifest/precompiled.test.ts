/**
 * The built program validates with schemas compiled at build time (dist/generated); the tests
 * run from source compile them at run time. Both must say exactly the same about the same input.
 */
import { describe, it, expect } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseManifest } from "../../src/manifest/validate.js";
import { parseLockfile } from "../../src/lockfile/read.js";

const ROOT = resolve(import.meta.dirname, "../..");
const DIST = join(ROOT, "dist");

const manifests = [
  readFileSync(join(ROOT, "scratch.json"), "utf8"),
  `{"sources": [], "architectures": ["amd64"]}`,
  `{"sources": [{"name": "d", "url": "https://x.invalid/debian", "suite": ["bookworm"], "keyring": "k"}], "architectures": ["amd64"], "packages": ["a"]}`,
  `{"sources": [{"name": "d", "url": "https://x.invalid/debian", "suites": ["bookworm"], "keyring": "k"}], "architectures": ["all"], "packages": ["a"]}`,
  `{"sources": [{"name": "d", "url": "ftp://x.invalid/debian", "suites": ["bookworm"], "keyring": "k"}], "architectures": ["amd64"], "fileSets": {"tzdata": {"timezone": "../x"}}}`,
];

function outcome(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    return (e as Error).message;
  }
}

describe("precompiled validators", () => {
  it("exist in the build and agree with run-time compilation on valid and invalid manifests and locks", async (ctx) => {
    if (!existsSync(join(DIST, "generated/validators.cjs"))) return ctx.skip("dist/ is not built (npm test builds it first)");
    const built = (await import(pathToFileURL(join(DIST, "manifest/validate.js")).href)) as typeof import("../../src/manifest/validate.js");
    const builtLock = (await import(pathToFileURL(join(DIST, "lockfile/read.js")).href)) as typeof import("../../src/lockfile/read.js");
    for (const m of manifests) expect(outcome(() => built.parseManifest(m, "scratch.json"))).toBe(outcome(() => parseManifest(m, "scratch.json")));

    const lock = JSON.parse(readFileSync(join(ROOT, "scratch.lock"), "utf8"));
    const variants = [lock, { ...lock, sourceDateEpoch: "x" }, { ...lock, extra: 1 }, { ...lock, lockfileVersion: "1.9.0", extra: 1 }];
    const bad = structuredClone(lock);
    bad.architectures.amd64.layer.diffId = "sha256:xyz";
    variants.push(bad);
    for (const v of variants) {
      const text = JSON.stringify(v);
      expect(outcome(() => builtLock.parseLockfile(text, "scratch.lock"))).toBe(outcome(() => parseLockfile(text, "scratch.lock")));
    }
    // At least the valid ones are valid and the broken ones are not: the comparison is not vacuous.
    expect(outcome(() => built.parseManifest(manifests[1]!, "scratch.json"))).not.toBe("ok");
    expect(outcome(() => builtLock.parseLockfile(JSON.stringify(bad), "scratch.lock"))).toContain("diffId");
  });
});
