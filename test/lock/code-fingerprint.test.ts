// The program's code keys every memo (src/lock/code-fingerprint.ts): the build precomputes the
// fingerprint, a run reads it instead of hashing every module, and any change of a module
// changes the hash.
import { appendFile, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileCli } from "../fixtures/cli.js";
import { FINGERPRINT_FILE, hashProgramFiles } from "../../src/lock/code-fingerprint.js";

let work: string;
let dist: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "code-fingerprint-"));
  await compileCli(work);
  dist = join(work, "dist");
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("code fingerprint", () => {
  it("the build writes the hash of its modules, and the built program uses it", async () => {
    const [written, ...listed] = readFileSync(join(dist, FINGERPRINT_FILE), "utf8").trim().split("\n");
    expect(written).toBe(hashProgramFiles(dist));
    expect(listed).toContain("lock/code-fingerprint.js");
    // Another value in the file is what a run takes: it reads the file, it does not hash.
    const other = "ab".repeat(32);
    await writeFile(join(dist, FINGERPRINT_FILE), [other, ...listed].join("\n") + "\n");
    const built = (await import(pathToFileURL(join(dist, "lock/code-fingerprint.js")).href)) as typeof import("../../src/lock/code-fingerprint.js");
    expect(built.codeFingerprint()).toBe(other);
  });

  it("is hashed again when a module is newer than the build's fingerprint (a bare tsc after the build)", async () => {
    const listed = readFileSync(join(dist, FINGERPRINT_FILE), "utf8").trim().split("\n").slice(1);
    await writeFile(join(dist, FINGERPRINT_FILE), ["cd".repeat(32), ...listed].join("\n") + "\n");
    const later = new Date(Date.now() + 60_000);
    await utimes(join(dist, "resolve/universe.js"), later, later);
    // A fresh copy of the module: the one imported above keeps its value for its process.
    const url = pathToFileURL(join(dist, "lock/code-fingerprint.js")).href + "?again";
    const built = (await import(url)) as typeof import("../../src/lock/code-fingerprint.js");
    expect(built.codeFingerprint()).toBe(hashProgramFiles(dist));
  });

  it("changes with any module's bytes, and with a module's name", async () => {
    const before = hashProgramFiles(dist);
    await appendFile(join(dist, "resolve/universe.js"), "\n// edited\n");
    const edited = hashProgramFiles(dist);
    expect(edited).not.toBe(before);
    await writeFile(join(dist, "resolve/extra.js"), "");
    expect(hashProgramFiles(dist)).not.toBe(edited);
  });
});
