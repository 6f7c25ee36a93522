/**
 * Live: the real bookworm-updates main Contents-amd64 and Contents-all from this machine's apt
 * mirror, fetched and verified by lookupContents; for a few hundred paths drawn deterministically
 * from them (every 20th line, read with zcat and awk) the packages equal what Debian's `apt-file
 * search` says, with apt-file's own cache made here by apt-get update (a private sources list,
 * lists directory and Contents target: nothing of the machine's apt state is touched).
 * Skips with the reason without a mirror, apt-get or apt-file. A small suite on purpose: apt-file
 * scans the whole Contents it has (bookworm main's, ~670 MB plain, took it 85 s), while our
 * lookup's bounded memory over the whole main index is the bench's to show (`npm run bench`).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { fetchVerifiedSuite, type VerifiedSuite } from "../../src/sources/archive.js";
import { chooseContents, lookupContents } from "../../src/sources/contents.js";
import { readKeyring } from "../../src/sources/keyring.js";
import { hasCommand } from "../fixtures/deb.js";
import { repoRoot } from "../lock/helpers.js";
import { findLiveMirror, LIVE_CACHE } from "./mirror.js";

const SUITE = "bookworm-updates";
/** apt-file's lists, kept between runs like LIVE_CACHE: apt-get update fetches only what changed. */
const APT_DIR = join(tmpdir(), "scratch-pkgs-live-apt-file");

let skip: string | undefined;
let http: HttpClient | undefined;
let fetcher: Fetcher;
let vs: VerifiedSuite;
let base: string;

/** apt's configuration for a private cache holding only Contents-amd64 and Contents-all of one source. */
function aptConfig(): string {
  for (const d of ["lists/partial", "cache/archives/partial", "parts"]) mkdirSync(join(APT_DIR, d), { recursive: true });
  writeFileSync(join(APT_DIR, "sources.list"), `deb ${base} ${SUITE} main\n`);
  const conf = join(APT_DIR, "apt.conf");
  writeFileSync(
    conf,
    [
      `Dir::Etc::sourcelist "${APT_DIR}/sources.list";`,
      'Dir::Etc::sourceparts "-";',
      `Dir::Etc::parts "${APT_DIR}/parts";`,
      `Dir::State::Lists "${APT_DIR}/lists";`,
      `Dir::Cache "${APT_DIR}/cache";`,
      'APT::Architecture "amd64";',
      'APT::Architectures { "amd64"; };',
      'Acquire::Languages "none";',
      'Acquire::IndexTargets::deb::Packages::DefaultEnabled "false";',
      // apt-file's own target definition (its 50apt-file.conf), here so the test does not depend on /etc.
      "Acquire::IndexTargets::deb::Contents-deb {",
      '  MetaKey "$(COMPONENT)/Contents-$(ARCHITECTURE)";',
      '  ShortDescription "Contents-$(ARCHITECTURE)";',
      '  Description "$(RELEASE)/$(COMPONENT) $(ARCHITECTURE) Contents (deb)";',
      '  KeepCompressed "true";',
      '  PDiffs "false";',
      "};",
      "",
    ].join("\n"),
  );
  return conf;
}

beforeAll(async () => {
  const found = await findLiveMirror([SUITE]);
  skip = found.skip;
  if (!skip && !hasCommand("apt-get")) skip = "apt-get is missing";
  if (!skip && !hasCommand("apt-file", "--help")) skip = "apt-file is missing (Debian package apt-file)";
  if (skip) {
    console.log(`live Contents test skipped: ${skip}`);
    return;
  }
  base = found.mirror!.baseFor(SUITE)!;
  http = new HttpClient({});
  fetcher = new Fetcher({ cache: new ContentCache(LIVE_CACHE), http, offline: false, progress: silentProgress });
  const ref = { source: "debian", url: base, suite: SUITE, bases: [base], keyring: await readKeyring(join(repoRoot, "keys/debian-archive-bookworm.asc")), allowExpired: false };
  vs = await fetchVerifiedSuite(fetcher, ref, new Date());
}, 60_000);

afterAll(async () => {
  await http?.close();
});

describe("live: Contents of bookworm-updates main amd64", () => {
  it("for paths drawn from the real index, the packages equal apt-file search's", async (ctx) => {
    if (skip) return ctx.skip(skip);
    // The very files the lookup reads (fetched and verified into the cache) are what the paths are drawn from.
    const files: string[] = [];
    for (const c of chooseContents(vs, ["main"], "amd64")) files.push(await fetcher.fetchPinned({ urls: c.urls, sha256: c.locked.sha256, size: c.locked.size, label: c.label }));
    const drawn = execFileSync("sh", ["-c", `zcat ${files.map((f) => `'${f}'`).join(" ")} | awk 'NR % 20 == 1 { sub(/[ \\t]+[^ \\t]+$/, ""); print "/" $0 }'`], { encoding: "utf8", maxBuffer: 16 << 20 })
      .split("\n")
      .filter(Boolean);
    expect(drawn.length).toBeGreaterThan(300);
    const got = await lookupContents(fetcher, vs, { components: ["main"], architecture: "amd64", paths: drawn });

    const conf = aptConfig();
    const env = { ...process.env, APT_CONFIG: conf, LC_ALL: "C" };
    execFileSync("apt-get", ["update", "-qq"], { env, stdio: ["ignore", "ignore", "pipe"], timeout: 300_000 });
    writeFileSync(join(APT_DIR, "paths"), drawn.join("\n") + "\n");
    const said = execFileSync("apt-file", ["search", "-F", "-f", join(APT_DIR, "paths")], { env, encoding: "utf8", maxBuffer: 16 << 20, timeout: 300_000 });
    const aptFile = new Map<string, Set<string>>();
    for (const line of said.split("\n").filter(Boolean)) {
      const sep = line.indexOf(": ");
      const path = line.slice(sep + 2);
      (aptFile.get(path) ?? aptFile.set(path, new Set()).get(path)!).add(line.slice(0, sep));
    }
    for (const p of drawn) {
      const ours = got.get(p)!.find((h) => h.path === p)?.packages;
      expect(ours, p).toEqual([...(aptFile.get(p) ?? [])].sort());
    }
  }, 600_000);
});
