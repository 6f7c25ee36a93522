/**
 * Live: our closures are apt's. On the real bookworm and trixie indexes (amd64 and arm64) of
 * the mirror this machine's apt uses, verified by our code and handed to apt unchanged, the
 * closure of each request equals the packages `apt-get -s install --no-install-recommends`
 * installs from an empty dpkg status (apt adds no Essential package from an empty status, so
 * both sides are the closure of the request alone). Requests: a few well-known packages plus a
 * sample drawn with a fixed seed from each index; SCRATCH_PKGS_APT_SAMPLE sets its size
 * (`npm run compare-apt` runs a few hundred).
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findLiveMirror, LIVE_CACHE, type LiveMirror } from "./mirror.js";
import { aptClosure, difference, mapConcurrent, ourClosure, prepareSuite, sameClosure, sample, type PreparedSuite } from "./apt-compare.js";

// Each apt-get -s costs ~1.3 s of CPU on these indexes (its solver over the whole archive, with
// a valid pkgcache.bin), and the suite has a 6-minute budget: 2 per suite × architecture plus
// the five named requests (28 closures) here; npm run compare-apt runs hundreds.
const SAMPLE = Number(process.env.SCRATCH_PKGS_APT_SAMPLE ?? 2);
const TIMEOUT = Number(process.env.SCRATCH_PKGS_APT_TIMEOUT ?? 600_000);
const SUITES = ["bookworm", "trixie"];
const ARCHES = ["amd64", "arm64"];
const NAMED = ["bash", "curl", "python3-minimal", "git", "nodejs"];
/**
 * Requested together, packages that Conflict: apt refuses them, and so must we. Asked on amd64
 * only: both come from one source package, whose Conflicts are the same on every architecture,
 * and our handling of them does not depend on it.
 */
const CONFLICTING = ["libcurl4-openssl-dev", "libcurl4-gnutls-dev"];
const SEED = 13;

/**
 * Known differences, each with its reason; the test checks every one still differs, so a fixed
 * one has to leave this list. Key: "suite/arch/request".
 */
const KNOWN: Record<string, string> = {
  // php8.2-json has five providers of equal rank (Priority optional): apt takes the one it met
  // last in the index (php8.2-phpdbg), our documented tie-break the first name (libapache2-mod-php8.2).
  "bookworm/amd64/php-illuminate-http": "provider tie-break by name, not by apt's index order",
  "bookworm/arm64/php-illuminate-pipeline": "provider tie-break by name, not by apt's index order (php8.2-json)",
  "bookworm/arm64/php8.2-msgpack": "provider tie-break by name, not by apt's index order (php8.2-json)",
};

let mirror: LiveMirror | undefined;
let skip: string | undefined;
let dir: string;
/** Every suite × architecture is fetched and handed to apt at once; each test waits for its own. */
const prepared = new Map<string, Promise<PreparedSuite>>();

beforeAll(async () => {
  ({ mirror, skip } = await findLiveMirror(["bookworm"]));
  if (!skip) {
    try {
      execFileSync("apt-get", ["--version"], { stdio: "ignore" });
    } catch {
      skip = "apt-get is not installed";
    }
  }
  dir = mkdtempSync(join(tmpdir(), "scratch-apt-"));
  if (skip) return console.log(`live apt comparison skipped: ${skip}`);
  for (const suite of SUITES) {
    // The machine's apt names the mirror for its own release; the same archive serves the other suite.
    const base = mirror!.baseFor(suite) ?? mirror!.baseFor("bookworm")!;
    for (const arch of ARCHES) {
      // The indexes are downloaded once, not on every run: our code re-verifies them against the
      // InRelease it fetches now.
      const p = prepareSuite(base, suite, arch, join(dir, `${suite}-${arch}`), LIVE_CACHE);
      p.catch(() => {}); // reported by the test that awaits it
      prepared.set(`${suite}/${arch}`, p);
    }
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("live: closures equal apt-get -s install from an empty status", () => {
  for (const suite of SUITES) {
    for (const arch of ARCHES) {
      it(`${suite} ${arch}`, { timeout: TIMEOUT }, async (ctx) => {
        if (!mirror) return ctx.skip(skip);
        const s = await prepared.get(`${suite}/${arch}`)!;
        const requests = [...NAMED, ...sample(s.universe, SAMPLE, SEED).filter((n) => !NAMED.includes(n))];
        const results = await mapConcurrent(requests, 2, async (name) => {
          const apt = await aptClosure(s, name);
          const ours = ourClosure(s, name);
          return { name, ours, apt, same: sameClosure(ours, apt) };
        });
        const differing = results.filter((r) => !r.same);
        const unexplained = differing.filter((r) => KNOWN[`${suite}/${arch}/${r.name}`] === undefined);
        const stillKnown = Object.keys(KNOWN).filter((k) => k.startsWith(`${suite}/${arch}/`));
        const equal = results.length - differing.length;
        console.log(`${suite} ${arch}: ${equal}/${results.length} closures equal apt's (${results.filter((r) => r.same && "error" in r.apt).length} refused by both)`);
        for (const r of differing) console.log(`  ${r.name}: ${difference(r.ours, r.apt)}`);
        expect(unexplained.map((r) => `${r.name}: ${difference(r.ours, r.apt)}`)).toEqual([]);
        for (const k of stillKnown) {
          const name = k.split("/")[2]!;
          if (!requests.includes(name)) continue;
          expect(differing.map((r) => r.name), `${k} (${KNOWN[k]}) no longer differs: drop it from KNOWN`).toContain(name);
        }
        if (arch === "amd64") {
          // Two packages that conflict, asked for together: apt refuses, and so do we, naming both.
          const [aptPair, ourPair] = [await aptClosure(s, CONFLICTING), ourClosure(s, CONFLICTING)];
          expect(aptPair, "apt-get -s refuses the conflicting pair").toHaveProperty("error");
          expect("error" in ourPair ? ourPair.error : ourPair.ok.join(" ")).toMatch(/libcurl4-(openssl|gnutls)-dev \S+ and libcurl4-(openssl|gnutls)-dev \S+ cannot be installed together \(libcurl4-\w+-dev (Conflicts|Breaks): /);
        }
        // The well-known requests install something on both sides.
        for (const r of results.filter((x) => NAMED.includes(x.name))) expect("ok" in r.apt, `${r.name}: ${difference(r.ours, r.apt)}`).toBe(true);
      });
    }
  }
});
