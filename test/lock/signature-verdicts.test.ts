// A warm `lock` reuses the verdict of an InRelease signature check (issue 14, item 4) — only
// while the same check at `now` would give it, and only behind this user's MAC. The fixture key
// expires ten days after the release, whose Valid-Until is five days after it, so a hit, an
// expired release and an expired key can each be judged at a chosen `now`.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ContentCache } from "../../src/fetch/cache.js";
import { DerivedRefs } from "../../src/fetch/derived-refs.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { ResolutionMemo } from "../../src/lock/memo.js";
import { runLock } from "../../src/commands/lock.js";
import { SignatureVerdicts } from "../../src/sources/signature-verdicts.js";
import { VerificationError } from "../../src/model/errors.js";
import { canonicalJson } from "../../src/util/canonical-json.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { cleanEnv, compileCli, runCommand } from "../fixtures/cli.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";
import { KEY_DATE, STABLE_DATE, buildTwoSuites, rejection, removeDir, sha256, tempDir, writeProject } from "./helpers.js";

// Counts the signature checks made with openpgp: a hit makes none.
const checks = vi.hoisted(() => ({ count: 0 }));
vi.mock("../../src/sources/signature.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/sources/signature.js")>();
  return {
    ...real,
    verifyClearsigned: (...args: Parameters<typeof real.verifyClearsigned>) => {
      checks.count++;
      return real.verifyClearsigned(...args);
    },
  };
});

const DAY = 86_400_000;
/** A verdict for another key that would hold forever. */
const FORGED = canonicalJson({ fingerprint: "F".repeat(40), signingKeyId: "F".repeat(16), judgedAt: 0, stableUntil: null });
const at = (days: number): Date => new Date(STABLE_DATE.getTime() + days * DAY);

let work: string;
let www: string;
let key: TestKey;
let server: TestServer;
let strict: { config: string; lockfile: string };
let n = 0;

beforeAll(async () => {
  work = await tempDir("signature-verdicts");
  www = join(work, "www");
  key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true, expiresInSeconds: Math.round((at(10).getTime() - KEY_DATE.getTime()) / 1000) });
  await buildTwoSuites(www, key, "v1", { validUntil: at(5) });
  server = await serveDirectory(www);
  strict = await writeProject(join(work, "strict"), key, { suites: ["stable"], architectures: ["amd64"], packages: ["hello"] });
});

afterAll(async () => {
  await server?.close();
  if (work) await removeDir(work);
});

beforeEach(() => {
  checks.count = 0;
});

/** A cache and a user key of their own. */
function freshCache(): { cache: ContentCache; keyFile: string } {
  const dir = join(work, `run-${n++}`);
  return { cache: new ContentCache(join(dir, "cache")), keyFile: join(dir, "state", "cache-key") };
}

async function lockAt(now: Date, c: { cache: ContentCache; keyFile: string }, check = false) {
  const http = new HttpClient({ timeoutMs: 2000, backoffMs: 10, retries: 1 });
  const fetcher = new Fetcher({ cache: c.cache, http, offline: false, progress: silentProgress });
  try {
    return await runLock({
      config: strict.config,
      lockfile: strict.lockfile,
      check,
      update: undefined,
      mirrors: [server.url],
      envMirror: undefined,
      aptSources: undefined,
      fetcher,
      blobs: c.cache,
      memo: new ResolutionMemo(c.cache, { keyFile: c.keyFile }),
      now,
      note: () => {},
    });
  } finally {
    await http.close();
  }
}

/** A lock at `now` on a cache that holds the verdict: it must not check the signature. */
async function expectHit(now: Date, c: { cache: ContentCache; keyFile: string }) {
  checks.count = 0;
  const r = await lockAt(now, c);
  expect(checks.count).toBe(0);
  checks.count = 0;
  return r;
}

/** The name the verdict of stable's InRelease is kept under. */
async function verdictName(c: { cache: ContentCache; keyFile: string }): Promise<string> {
  const verdicts = new SignatureVerdicts(new ResolutionMemo(c.cache, { keyFile: c.keyFile }));
  return verdicts.name({
    release: sha256(await readFile(join(www, "dists/stable/InRelease"))),
    signature: null,
    keyring: sha256(await readFile(join(work, "strict", "archive-key.asc"))),
    keyValidity: "at",
  });
}

describe("lock: signature verdicts", () => {
  it("a warm lock reuses the verdict: the same lock, no signature check", async () => {
    const c = freshCache();
    const cold = await lockAt(at(1), c);
    expect(checks.count).toBe(1);
    checks.count = 0;
    const warm = await lockAt(at(2), c, true);
    expect(checks.count).toBe(0);
    expect(warm.text).toBe(cold.text);
    expect(warm.lock.sources[0]!.suites[0]!.signedBy).toBe(key.fingerprint);
  });

  it("a release past its Valid-Until fails on a hit", async () => {
    const c = freshCache();
    await lockAt(at(1), c);
    checks.count = 0;
    const e = await rejection(lockAt(at(6), c));
    expect(checks.count).toBe(0);
    expect(e).toBeInstanceOf(VerificationError);
    expect(e.message).toMatch(/Valid-Until/);
  });

  it("a key expired since the verdict is checked again, and fails", async () => {
    const c = freshCache();
    await lockAt(at(1), c);
    await expectHit(at(2), c);
    const e = await rejection(lockAt(at(11), c));
    expect(checks.count).toBe(1);
    expect(e).toBeInstanceOf(VerificationError);
    expect(e.message).toMatch(/key not valid|expired/i);
  });

  it("a clock set back before the verdict checks again", async () => {
    const c = freshCache();
    await lockAt(at(2), c);
    await expectHit(at(3), c);
    await lockAt(at(1), c);
    expect(checks.count).toBe(1);
  });

  it("a verdict MAC'd with another user's key is ignored and the signature checked again", async () => {
    const c = freshCache();
    await lockAt(at(1), c);
    const honest = await expectHit(at(2), c);
    await new DerivedRefs(c.cache, join(work, `other-${n++}`, "cache-key")).set(await verdictName(c), FORGED);
    checks.count = 0;
    const again = await lockAt(at(2), c);
    expect(checks.count).toBe(1);
    expect(again.text).toBe(honest.text);
  });

  it("an edited verdict (its ref keeps the old MAC) is ignored and the signature checked again", async () => {
    const c = freshCache();
    await lockAt(at(1), c);
    const honest = await expectHit(at(2), c);
    const name = await verdictName(c);
    const ref = await c.cache.getRef(name);
    expect(ref?.mac).toBeDefined();
    const edited = await c.cache.write(FORGED);
    await c.cache.setRef(name, edited, ref!.mac!);
    checks.count = 0;
    const again = await lockAt(at(2), c);
    expect(checks.count).toBe(1);
    expect(again.text).toBe(honest.text);
  });

  it("a tampered InRelease (another sha256) misses the verdict and fails its check", async () => {
    const c = freshCache();
    await lockAt(at(1), c);
    await expectHit(at(2), c);
    const file = join(www, "dists/stable/InRelease");
    const original = await readFile(file);
    try {
      await writeFile(file, original.toString("utf8").replace("Suite: stable", "Suite: stablE"));
      const e = await rejection(lockAt(at(2), c));
      expect(checks.count).toBe(1);
      expect(e).toBeInstanceOf(VerificationError);
    } finally {
      await writeFile(file, original);
    }
  });
});

describe("scratch-pkgs lock --check --offline on a warm cache", () => {
  it("loads neither openpgp, nor a compressor, nor semver", async () => {
    const dir = join(work, "cli");
    const bin = await compileCli(join(dir, "build"));
    // allowExpired: judged at signing time, so the 2024 fixture still verifies at the real now.
    const project = await writeProject(join(dir, "project"), key, { suites: ["stable"], architectures: ["amd64"], packages: ["hello"], allowExpired: true });
    // Every module the program loads: ES modules logged by a loader hook in the child process,
    // CommonJS ones (which Node 20 loads past the hook) from require.cache at exit.
    const log = join(dir, "modules.log");
    writeFileSync(join(dir, "hooks.mjs"), `import { appendFileSync } from "node:fs";\nexport async function load(url, context, next) {\n  appendFileSync(${JSON.stringify(log)}, url + "\\n");\n  return next(url, context);\n}\n`);
    writeFileSync(
      join(dir, "register.mjs"),
      `import { register, createRequire } from "node:module";\nimport { appendFileSync } from "node:fs";\nregister("./hooks.mjs", import.meta.url);\nconst cjs = createRequire(import.meta.url).cache;\nprocess.on("exit", () => appendFileSync(${JSON.stringify(log)}, Object.keys(cjs).map((f) => f + "\\n").join("")));\n`,
    );
    const run = async (...args: string[]): Promise<string[]> => {
      await writeFile(log, "");
      const r = await runCommand(process.execPath, ["--import", join(dir, "register.mjs"), bin, "lock", "--cache", join(dir, "cache"), ...args], {
        cwd: project.dir,
        env: cleanEnv({ XDG_STATE_HOME: join(dir, "state") }),
      });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return (await readFile(log, "utf8")).split("\n");
    };
    const cold = await run("--mirror", server.url);
    expect(cold.some((u) => u.includes("/node_modules/openpgp/"))).toBe(true);
    const warm = await run("--check", "--offline");
    expect(warm.some((u) => u.endsWith("/dist/cli/main.js"))).toBe(true);
    // The layer memo key names the compressors by constants (codec/compressor-settings.ts), and
    // a lock of this build's format is read without semver.
    expect(cold.some((u) => u.endsWith("/dist/codec/wasm-gzip-stream.js"))).toBe(true);
    const heavy = /\/node_modules\/(openpgp|fzstd|@hpcc-js\/wasm-zstd|semver)\/|\/dist\/codec\/(compress|wasm-gzip-stream)\.js$/;
    expect(warm.filter((u) => heavy.test(u))).toEqual([]);
  });
});
