/**
 * The real bookworm-updates Contents indexes recorded in snapshots/, fetched as `lock` fetches
 * Packages (from the signed release's by-hash entry, pinned by its sha256 and size, through the
 * content cache, --offline honoured), then looked up: for every path they list (and its
 * merged-/usr spelling) the packages equal what zcat | awk reads from the same files.
 */
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usrMergeAlias, type ContentsHit } from "../../src/debian/contents-lookup.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { EXIT, NetworkError, VerificationError } from "../../src/model/errors.js";
import { verifyRelease, type VerifiedSuite } from "../../src/sources/archive.js";
import { chooseContents, lookupContents } from "../../src/sources/contents.js";
import { readKeyring } from "../../src/sources/keyring.js";
import { removeDir, repoRoot, tempDir } from "../lock/helpers.js";

const SUITE = "bookworm-updates";
const RECORDED = join(repoRoot, "snapshots/debian/dists", SUITE);
const FILES = ["main/Contents-amd64.gz", "main/Contents-all.gz"];
const ARCHIVE = "https://archive.test.invalid/debian";

/** path → sorted package names, read by zcat and awk alone: the last blank-separated field holds the locations. */
function oracle(): Map<string, string[]> {
  const awk = '{ loc = $NF; sub(/[ \\t]+[^ \\t]+$/, ""); n = split(loc, a, ","); for (i = 1; i <= n; i++) { m = split(a[i], b, "/"); print $0 "\\t" b[m] } }';
  const text = execFileSync("sh", ["-c", `zcat ${FILES.map((f) => `'${join(RECORDED, f)}'`).join(" ")} | awk '${awk}'`], { encoding: "utf8", maxBuffer: 64 << 20 });
  const sets = new Map<string, Set<string>>();
  for (const line of text.split("\n").filter(Boolean)) {
    const tab = line.lastIndexOf("\t");
    const path = "/" + line.slice(0, tab);
    (sets.get(path) ?? sets.set(path, new Set()).get(path)!).add(line.slice(tab + 1));
  }
  return new Map([...sets].map(([p, s]) => [p, [...s].sort()]));
}

let work: string;
let http: HttpClient;
let byHashMirror: string;

const fetcherFor = (cache: string, offline = false): Fetcher => new Fetcher({ cache: new ContentCache(cache), http, offline, progress: silentProgress });

let verified: Promise<VerifiedSuite> | undefined;

/** The recorded release, its signature checked once, served from `base`. */
async function suiteAt(base: string): Promise<VerifiedSuite> {
  verified ??= (async () => {
    const ref = { source: "debian", url: ARCHIVE, suite: SUITE, bases: [], keyring: await readKeyring(join(repoRoot, "keys/debian-archive-bookworm.asc")), allowExpired: true };
    return verifyRelease(ref, { path: "InRelease", bytes: await readFile(join(RECORDED, "InRelease")) }, new Date(Date.UTC(2026, 10, 22)));
  })();
  const vs = await verified;
  return { ...vs, ref: { ...vs.ref, bases: [base] } };
}

/** A mirror directory holding the recorded release and `files` (path below dists/<suite>/ → bytes). */
async function mirrorWith(name: string, files: Array<[string, Uint8Array]>): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, "dists", SUITE), { recursive: true });
  await copyFile(join(RECORDED, "InRelease"), join(dir, "dists", SUITE, "InRelease"));
  for (const [rel, bytes] of files) {
    await mkdir(join(dir, "dists", SUITE, rel, ".."), { recursive: true });
    await writeFile(join(dir, "dists", SUITE, rel), bytes);
  }
  return pathToFileURL(dir).href;
}

beforeAll(async () => {
  work = await tempDir("contents");
  http = new HttpClient({});
  // Only the by-hash names: a lookup that succeeds has fetched by hash.
  const vs = await suiteAt("file:///nonexistent");
  const byHash: Array<[string, Uint8Array]> = [];
  for (const f of FILES) byHash.push([`main/by-hash/SHA256/${vs.release.files.get(f)!.sha256}`, await readFile(join(RECORDED, f))]);
  byHashMirror = await mirrorWith("by-hash", byHash);
});

afterAll(async () => {
  await http?.close();
  if (work) await removeDir(work);
});

describe("Contents of a verified suite", () => {
  it("chooses Contents-<arch> and Contents-all in their smallest form, by-hash first", async () => {
    const vs = await suiteAt(byHashMirror);
    const choices = chooseContents(vs, ["main"], "amd64");
    expect(choices.map((c) => c.locked.path)).toEqual(FILES);
    for (const c of choices) expect(c.urls[0]).toBe(`${byHashMirror}/dists/${SUITE}/main/by-hash/SHA256/${c.locked.sha256}`);
  });

  it("architectureOnly: Contents-<arch> alone (doctor's ELF lookups)", async () => {
    const vs = await suiteAt(byHashMirror);
    expect(chooseContents(vs, ["main"], "amd64", false).map((c) => c.locked.path)).toEqual(["main/Contents-amd64.gz"]);
    const path = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
    const got = await lookupContents(fetcherFor(join(work, "arch-only")), vs, { components: ["main"], architecture: "amd64", paths: [path], architectureOnly: true });
    expect(got.get(path)).toEqual([{ path, packages: oracle().get(path) }]);
  });

  it("answers every listed path and its merged-/usr spelling as zcat | awk reads the same files, from the cache when offline", async () => {
    const want = oracle();
    const unlisted = ["/usr/bin/no-such-program", "/lib/no/such.so", "/usr/lib/systemd/system/ctdb.service"];
    const paths = [...want.keys(), ...unlisted];
    expect(want.size).toBeGreaterThan(9000);
    const expected = new Map<string, ContentsHit[]>();
    for (const p of paths) {
      const alias = usrMergeAlias(p);
      const spellings = alias === undefined ? [p] : [p, alias];
      expected.set(p, spellings.filter((s) => want.has(s)).map((s) => ({ path: s, packages: want.get(s)! })));
    }
    const cache = join(work, "cache");
    const got = await lookupContents(fetcherFor(cache), await suiteAt(byHashMirror), { components: ["main"], architecture: "amd64", paths });
    const lines = (m: Map<string, ContentsHit[]>): string[] => [...m].map(([p, hits]) => `${p} ${hits.map((h) => `${h.path}=${h.packages.join(",")}`).join(" ")}`);
    expect(lines(got)).toEqual(lines(expected));
    // bookworm lists /lib/systemd/…: asked under /usr it is found, and says under which spelling.
    expect(got.get("/usr/lib/systemd/system/ctdb.service")).toEqual([{ path: "/lib/systemd/system/ctdb.service", packages: ["ctdb"] }]);

    const offline = await lookupContents(fetcherFor(cache, true), await suiteAt("file:///nonexistent"), { components: ["main"], architecture: "amd64", paths: ["/etc/pam.d/samba"] });
    expect(offline).toEqual(new Map([["/etc/pam.d/samba", [{ path: "/etc/pam.d/samba", packages: ["samba-common"] }]]]));
    const e = await lookupContents(fetcherFor(join(work, "empty-cache"), true), await suiteAt(byHashMirror), { components: ["main"], architecture: "amd64", paths: ["/etc/pam.d/samba"] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as Error).message).toMatch(/--offline forbids downloading it/);
  });

  it("refuses a Contents file that does not match the signed release, naming its URL", async () => {
    const bytes = await readFile(join(RECORDED, FILES[0]!));
    bytes[bytes.length - 9]! ^= 0x01;
    const tampered = await mirrorWith("tampered", [[FILES[0]!, bytes]]);
    const e = await lookupContents(fetcherFor(join(work, "tamper-cache")), await suiteAt(tampered), { components: ["main"], architecture: "amd64", paths: ["/etc/pam.d/samba"] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VerificationError);
    expect((e as VerificationError).exitCode).toBe(EXIT.checkFailed);
    expect((e as Error).message).toContain(`${tampered}/dists/${SUITE}/${FILES[0]} has sha256`);
  });
});
