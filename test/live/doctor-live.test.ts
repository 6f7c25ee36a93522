/**
 * Live: findBinaryNeeds of a real program linked against OpenSSL (built here with gcc; a
 * hand-made ELF with the same needs where the machine cannot link one), through the real
 * bookworm and trixie main suites of this machine's apt mirror. trixie names libssl3t64 where
 * bookworm names libssl3, and every path of the answer belongs to its package by what `zcat |
 * grep` reads from the very Contents-amd64 file the lookup verified and read. Skips with the reason
 * without a mirror, or where the mirror serves a Contents file its signed release does not list.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { traceBinaryNeeds } from "../../src/commands/binary-needs.js";
import { parseElf } from "../../src/doctor/elf.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { loadManifest } from "../../src/manifest/load.js";
import { VerificationError } from "../../src/model/errors.js";
import { fetchVerifiedSuite } from "../../src/sources/archive.js";
import { chooseContents } from "../../src/sources/contents.js";
import { readKeyring } from "../../src/sources/keyring.js";
import { planMirrors } from "../../src/sources/mirrors.js";
import { compile } from "../doctor/helpers.js";
import { makeElf } from "../doctor/make-elf.js";
import { repoRoot } from "../lock/helpers.js";
import { findLiveMirror, LIVE_CACHE } from "./mirror.js";

const SUITES = ["bookworm", "trixie"] as const;
const TLS = "#include <openssl/ssl.h>\nint main(void){return OPENSSL_init_ssl(0, NULL) == 1 ? 0 : 1;}\n";

let skip: string | undefined;
let base: (suite: string) => string;
let http: HttpClient | undefined;
let fetcher: Fetcher;
let dir: string;
let binary: string;

beforeAll(async () => {
  const found = await findLiveMirror([...SUITES]);
  skip = found.skip;
  if (skip) {
    console.log(`live doctor test skipped: ${skip}`);
    return;
  }
  base = (s) => found.mirror!.baseFor(s)!;
  dir = mkdtempSync(join(tmpdir(), "doctor-live-"));
  binary = compile("gcc", dir, "tls", TLS, "c", ["-lssl"]) ?? join(dir, "tls-made");
  if (!binary.endsWith("tls")) writeFileSync(binary, makeElf({ cls: 64, endian: "le", machine: 62, interpreter: "/lib64/ld-linux-x86-64.so.2", needed: ["libssl.so.3", "libc.so.6"] }).bytes);
  http = new HttpClient({});
  fetcher = new Fetcher({ cache: new ContentCache(LIVE_CACHE), http, offline: false, progress: silentProgress });
}, 60_000);
afterAll(async () => {
  await http?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Path (without the leading "/") → the packages the Contents file lists for it, read by zcat and grep alone. */
function contentsOwners(file: string, paths: string[]): Map<string, string[]> {
  const re = `^(${paths.map((p) => p.slice(1).replace(/[.+]/g, "\\$&")).join("|")})[[:space:]]`;
  const out = execFileSync("sh", ["-c", `zcat '${file}' | grep -E '${re}' || true`], { encoding: "utf8", maxBuffer: 16 << 20 });
  const owners = new Map<string, string[]>();
  for (const line of out.split("\n").filter(Boolean)) {
    const m = /^(\S+)\s+(\S+)$/.exec(line)!;
    owners.set(m[1]!, m[2]!.split(",").map((loc) => loc.slice(loc.lastIndexOf("/") + 1)).sort());
  }
  return owners;
}

describe.each(SUITES)("live: doctor through %s main's Contents", (suite) => {
  it("names the packages that ship each path (trixie: libssl3t64, bookworm: libssl3), as the same Contents files say", async (ctx) => {
    if (skip) return ctx.skip(skip);
    const keyring = join(repoRoot, `keys/debian-archive-${suite}.asc`);
    const config = join(dir, `${suite}.json`);
    writeFileSync(config, JSON.stringify({ sources: [{ name: "debian", url: base(suite), suites: [suite], components: ["main"], keyring }], architectures: ["amd64"], fileSets: { libc: {} } }));
    const loaded = await loadManifest(config);
    const bytes = new Uint8Array(execFileSync("cat", [binary]));
    let r;
    try {
      r = await traceBinaryNeeds({ binary, elf: parseElf(bytes, binary), bytes, loaded, fetcher, mirrors: planMirrors(loaded.manifest.sources, { mirrors: [] }), now: new Date() });
    } catch (e) {
      // A mirror caught between syncs serves a Contents file its signed release does not list: refused (exit 1), and no answer to compare.
      if (e instanceof VerificationError && /Contents-/.test(e.message)) return ctx.skip(`the mirror's ${suite} Contents does not match its signed release: ${e.message}`);
      throw e;
    }
    expect(r.needs.unresolved).toEqual([]);
    expect(r.needs.packages).toContain("libc6");
    if (suite === "trixie") {
      expect(r.needs.packages).toContain("libssl3t64");
      expect(r.needs.packages).not.toContain("libssl3");
    } else expect(r.needs.packages).toContain("libssl3");
    expect(r.needs.files.some((f) => f.path.endsWith("/libcrypto.so.3"))).toBe(true);

    // The oracle reads the very file the lookup verified (now in the cache): Contents-amd64.
    const vs = await fetchVerifiedSuite(fetcher, { source: "debian", url: base(suite), suite, bases: [base(suite)], keyring: await readKeyring(keyring), allowExpired: false }, new Date());
    const [c] = chooseContents(vs, ["main"], "amd64", false);
    const file = await fetcher.fetchPinned({ urls: c!.urls, sha256: c!.locked.sha256, size: c!.locked.size, label: c!.label });
    const owners = contentsOwners(file, r.needs.files.map((f) => f.path));
    for (const f of r.needs.files) expect(owners.get(f.path.slice(1)), f.path).toEqual([f.package]);
  }, 600_000);
});
