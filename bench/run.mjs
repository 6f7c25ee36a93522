#!/usr/bin/env node
// npm run bench [-- --quick]: the performance targets of the README's "Performance" section,
// measured in one run on real data from this machine's apt mirror (read from the apt sources at
// run time), as ratios against the native floor; and the scale table (lock and layer of
// closures of 1, 10, 100 and 500 requested packages, the large layer). A script, not a test: it
// prints every figure, a FAIL line for each lock or layer past the memory target (or failing),
// and then exits 1 if there was any. --quick: only 1 and 10 in the scale table, no large layer.
// --sizes=1,10,100: the scale table's sizes (--sizes= leaves the table out).
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { archiveReader } from "./archive.mjs";
import { fail, fmt, listFile, measure, measureTarget, median, RSS_TARGET_MB, shellWall, summary, timeIt } from "./measure.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist/cli/bin.js");
const CACHE = process.env.SCRATCH_PKGS_BENCH_CACHE ?? join(ROOT, ".cache/bench");
const QUICK = process.argv.includes("--quick");
mkdirSync(CACHE, { recursive: true });

const { readAptSources } = await import(join(ROOT, "dist/sources/apt-sources.js"));
const { HttpClient } = await import(join(ROOT, "dist/fetch/http.js"));
const { ContentCache } = await import(join(ROOT, "dist/fetch/cache.js"));
const { Fetcher } = await import(join(ROOT, "dist/fetch/fetcher.js"));
const { silentProgress } = await import(join(ROOT, "dist/fetch/progress.js"));

const rows = [];
const report = (name, ours, floor, floorName, target) => {
  const ratio = floor && ours !== undefined ? ours / floor : undefined;
  rows.push({ name, ours, floor, floorName, ratio, target });
  console.log(
    `${name.padEnd(52)} ${fmt(ours).padStart(9)}` +
      (floor ? `  vs ${floorName} ${fmt(floor)}` + (ratio !== undefined ? `  ratio ${ratio.toFixed(2)}×` : "") : "") +
      (target ? `  (target ${target})` : ""),
  );
};
const peak = (label, runs) => {
  const ok = runs.filter((r) => r.ok);
  if (ok.length > 0) console.log(`${`  peak memory (${label})`.padEnd(52)} ${Math.max(...ok.map((r) => r.rssMB)).toFixed(0)} MB  (target ≤ ${RSS_TARGET_MB} MB)`);
};
const wallOf = (runs) => (runs.every((r) => r.ok) ? median(runs.map((r) => r.wall)) : undefined);
const repeat = async (n, fn) => {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return out;
};

const entries = await readAptSources().catch(() => []);
const baseFor = (suite) => entries.find((e) => e.suites.includes(suite))?.uris[0];
const base = baseFor("bookworm");
const secBase = baseFor("bookworm-security");
if (!base) {
  console.log("bench: this machine's apt sources name no bookworm mirror; nothing to measure on real data");
  process.exit(0);
}
const fetcher = new Fetcher({ cache: new ContentCache(CACHE), http: new HttpClient({}), offline: false, progress: silentProgress });
const archive = await archiveReader(ROOT, fetcher);
const cachePath = (dir, sha256) => new ContentCache(dir).pathFor(sha256);
// Layer outputs, floors and seeded caches on tmpfs where there is one: on disk, write-back alone
// made the floor vary from 0.4 s to 1.7 s between identical runs, which said nothing about either.
const work = mkdtempSync(join(tmpdir(), "bench-lock-"));
const out = existsSync("/dev/shm") ? mkdtempSync(join("/dev/shm", "scratch-bench-")) : work;
if (out !== work) console.log(`(layer outputs and the floors' files on tmpfs: ${out})`);

/**
 * A fresh cache holding only the entries `shas` of the bench cache (links: an entry is re-hashed
 * when read, wherever it lives), plus, with `refs`, the bench cache's refs (so that InReleases
 * are found offline; the derived ones carry MACs that a fresh cache key refuses).
 */
function seededCache(shas, { refs = false } = {}) {
  const dir = mkdtempSync(join(out, "bench-cache-"));
  for (const h of shas) {
    const to = cachePath(dir, h);
    mkdirSync(dirname(to), { recursive: true });
    if (!existsSync(to)) symlinkSync(cachePath(CACHE, h), to);
  }
  if (refs && existsSync(join(CACHE, "refs"))) cpSync(join(CACHE, "refs"), join(dir, "refs"), { recursive: true });
  return dir;
}
/** Environment with a fresh $XDG_STATE_HOME: a new cache key, so nothing derived is reused. */
const freshKey = () => ({ XDG_STATE_HOME: mkdtempSync(join(out, "bench-state-")) });
const lockedPackages = (lockfile, arch) => {
  const lock = JSON.parse(readFileSync(lockfile, "utf8"));
  return arch ? lock.architectures[arch].packages : Object.values(lock.architectures).flatMap((a) => a.packages);
};
const debsOf = (packages) => packages.map((p) => cachePath(CACHE, p.sha256));
/** The floor of issue 14 item 2: dpkg-deb --fsys-tarfile of every .deb, one run, to /dev/null. */
const fsysFloor = (debs, runs = 3) => shellWall(`while read -r d; do dpkg-deb --fsys-tarfile "$d"; done < '${listFile(join(out, "debs.list"), debs)}' > /dev/null`, runs);
const lockArgs = (config, lockfile, cache, extra = []) => [CLI, "lock", "--config", config, "--lockfile", lockfile, "--cache", cache, "--quiet", ...extra];
const layerArgs = (lockfile, arch, output, cache, extra = []) => [CLI, "layer", "--lockfile", lockfile, "--arch", arch, "--output", output, "--cache", cache, "--quiet", ...extra];

// --- 1. Signature check: openpgp vs gpgv on the real bookworm InRelease -----------------------
const bookworm = await archive.release(base, "bookworm", join(ROOT, "keys/debian-archive-bookworm.asc"));
{
  const { verifyClearsigned } = await import(join(ROOT, "dist/sources/signature.js"));
  const irFile = join(work, "InRelease");
  writeFileSync(irFile, bookworm.inRelease);
  const gpgKeyring = irFile + ".gpg";
  execFileSync("sh", ["-c", `gpg --dearmor < '${join(ROOT, "keys/debian-archive-bookworm.asc")}' > '${gpgKeyring}'`]);
  const N = 20;
  const s = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await verifyClearsigned(bookworm.inRelease, bookworm.keyring, { label: "bench", at: new Date() });
  const oursSig = Number(process.hrtime.bigint() - s) / 1e9 / N;
  const gpgvSig = timeIt(() => spawnSync("gpgv", ["--keyring", gpgKeyring, irFile], { stdio: "ignore" }), 10);
  report("signature check (bookworm InRelease)", oursSig, gpgvSig, "gpgv", "—");
}

// --- 2. Full index: decompress + parse vs xz -dc ----------------------------------------------
const indexPath = await archive.index(base, "bookworm", bookworm, "main/binary-amd64/Packages.xz");
{
  const xzFloor = timeIt(() => execFileSync("sh", ["-c", `xz -dc '${indexPath}' > /dev/null`]));
  const parseRuns = await repeat(3, () => measure("node", [join(ROOT, "bench/parse-index.mjs"), indexPath]));
  report(`index: ${parseRuns[0].stdout.trim()} parsed`, wallOf(parseRuns), xzFloor, "xz -dc", "≤ 2×");
  peak("index parse process", parseRuns);
}

// --- 2b. Contents: one lookup pass over bookworm main Contents-amd64 and -all vs zcat ----------
/** The memory target of a Contents lookup (issue 12, item 1). */
const CONTENTS_RSS_MB = 200;
{
  const files = [];
  for (const path of ["main/Contents-amd64.gz", "main/Contents-all.gz"]) files.push(await archive.index(base, "bookworm", bookworm, path));
  const zcatFloor = timeIt(() => execFileSync("sh", ["-c", `zcat ${files.map((f) => `'${f}'`).join(" ")} > /dev/null`]));
  const runs = await repeat(3, () => measure("node", [join(ROOT, "bench/contents-lookup.mjs"), ...files]));
  report(`contents lookup (main amd64 + all): ${runs[0].stdout.trim()}`, wallOf(runs), zcatFloor, "zcat", "—");
  const ok = runs.filter((r) => r.ok);
  for (const r of runs.filter((r) => !r.ok)) fail(`run: contents lookup failed: ${r.error}`);
  if (ok.length > 0) {
    const mb = Math.max(...ok.map((r) => r.rssMB));
    console.log(`${"  peak memory (contents lookup)".padEnd(52)} ${mb.toFixed(0)} MB  (target ≤ ${CONTENTS_RSS_MB} MB)`);
    if (mb > CONTENTS_RSS_MB) fail(`memory: contents lookup peaked at ${mb.toFixed(0)} MB > ${CONTENTS_RSS_MB} MB`);
  }
}

// --- 2c. doctor: a program of this machine through bookworm main, warm cache ------------------
// Its walk reads Contents-amd64 once per level (two or three times), the Packages index and the
// .debs found: the floor is one zcat of that Contents file.
{
  const binary = ["/usr/bin/openssl", "/bin/ls"].find((p) => existsSync(p));
  const config = join(work, "doctor.json");
  const keyring = join(ROOT, "keys/debian-archive-bookworm.asc");
  writeFileSync(config, JSON.stringify({ sources: [{ name: "debian", url: base, suites: ["bookworm"], components: ["main"], keyring }], architectures: ["amd64"], fileSets: { libc: {} } }));
  const args = [CLI, "doctor", binary, "--config", config, "--cache", CACHE, "--quiet"];
  const filled = await measure("node", args);
  if (!filled.ok) fail(`run: doctor ${binary} failed: ${filled.error}`);
  const runs = await repeat(3, () => measure("node", [...args, "--offline"]));
  for (const r of runs.filter((r) => !r.ok)) fail(`run: doctor ${binary} --offline failed: ${r.error}`);
  const contents = await archive.index(base, "bookworm", bookworm, "main/Contents-amd64.gz");
  const zcatFloor = timeIt(() => execFileSync("sh", ["-c", `zcat '${contents}' > /dev/null`]));
  report(`doctor ${binary} (bookworm main, warm cache)`, wallOf(runs), zcatFloor, "zcat Contents-amd64", "—");
  peak("doctor", runs);
}

// --- 3. lock of the example manifest with a warm cache ----------------------------------------
const exampleLock = join(work, "example.lock");
// The example's snapshot URLs at now: the mirror's releases are newer than the committed
// timestamp, and lock refuses to pair a snapshot URL with a release it cannot serve.
const exampleConfig = join(work, "scratch.json");
{
  const m = JSON.parse(readFileSync(join(ROOT, "scratch.json"), "utf8"));
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
  for (const s of m.sources) Object.assign(s, { url: s.url.replace(/\/\d{8}T\d{6}Z$/, `/${now}`), keyring: join(ROOT, s.keyring) });
  writeFileSync(exampleConfig, JSON.stringify(m, null, 2));
}
// Through --mirror, not --apt-sources: the example is trixie, this machine's apt sources may name
// only its own release, and the same two archives serve both.
const exampleMirrors = ["--mirror", `debian=${base}`, ...(secBase ? ["--mirror", `debian-security=${secBase}`] : [])];
{
  const cold = await measureTarget("lock of the example manifest into the bench cache", "node", lockArgs(exampleConfig, exampleLock, CACHE, exampleMirrors));
  if (!cold.ok) throw new Error(`bench: the example manifest does not lock: ${cold.error}`);
  const warm = await repeat(5, () => measureTarget("warm lock of the example manifest", "node", lockArgs(exampleConfig, join(work, "warm.lock"), CACHE, ["--offline", "--update"])));
  report("lock, example manifest, warm cache (--offline)", wallOf(warm), undefined, "", "≤ 0.3 s");
  peak("lock", warm);
}

/**
 * Item 2's ratios for one architecture of a lock: `layer` from the warm bench cache and from a
 * cache holding only the .debs (every data.tar decoded in the run), each against the floor.
 */
async function layerRatios(label, lockfile, arch, runs) {
  const pkgs = lockedPackages(lockfile, arch);
  const floor = fsysFloor(debsOf(pkgs), runs);
  const warm = await repeat(runs, () => measureTarget(`warm layer --arch ${arch} of ${label}`, "node", layerArgs(lockfile, arch, join(out, "layer.tar"), CACHE, ["--offline"])));
  report(`layer ${arch}, ${label} (${pkgs.length} .debs), warm cache`, wallOf(warm), floor, "dpkg-deb --fsys-tarfile", "≤ 1.0×");
  const debsOnly = await repeat(runs, async () => {
    const cache = seededCache(pkgs.map((p) => p.sha256));
    const r = await measureTarget(`layer --arch ${arch} of ${label} from a cache of .debs only`, "node", layerArgs(lockfile, arch, join(out, "layer.tar"), cache, ["--offline"]));
    rmSync(cache, { recursive: true, force: true });
    return r;
  });
  report(`layer ${arch}, ${label}, .debs only in the cache`, wallOf(debsOnly), floor, "dpkg-deb --fsys-tarfile", "≤ 1.5×");
  peak(`layer, ${label}`, [...warm, ...debsOnly]);
  rmSync(join(out, "layer.tar"), { force: true });
}

// --- 4. layer vs the floor, image vs layer + compression, mmdebstrap --------------------------
{
  await layerRatios("example", exampleLock, "amd64", 5);
  // Warm: layer copies the layer the cache keeps; image copies its gzip blob too, but builds the
  // layer's tree for the SBOM, so this pair says what that costs, not item 2's ratio.
  const gz = await repeat(3, () => measureTarget("warm layer --compress gzip of the example", "node", layerArgs(exampleLock, "amd64", join(out, "layer.tar.gz"), CACHE, ["--offline", "--compress", "gzip"])));
  const image = await repeat(3, (i) => measureTarget("warm image of the example", "node", [CLI, "image", "--lockfile", exampleLock, "--arch", "amd64", "--output", join(out, `image-${i}`), "--cache", CACHE, "--offline", "--quiet"]));
  report("image amd64, example, warm cache", wallOf(image), wallOf(gz), "layer --compress gzip", "—");
  // The pair item 2 means: image against layer plus its compression, from the same cache state
  // (the .debs and their decoded members, no built layer), so that both build and compress the
  // layer; image then adds only its config, manifest and SBOM.
  const decoded = lockedPackages(exampleLock, "amd64").flatMap((p) => [p.sha256, ...Object.values(p.decoded ?? {}).map((m) => m.sha256)]);
  const fromDecoded = async (what, args) => {
    const cache = seededCache(decoded);
    const r = await measureTarget(what, "node", args(cache));
    rmSync(cache, { recursive: true, force: true });
    return r;
  };
  const gzBuilt = await repeat(3, () => fromDecoded("layer --compress gzip of the example, decoded members cached", (cache) => layerArgs(exampleLock, "amd64", join(out, "layer.tar.gz"), cache, ["--offline", "--compress", "gzip"])));
  const imageBuilt = await repeat(3, (i) => fromDecoded("image of the example, decoded members cached", (cache) => [CLI, "image", "--lockfile", exampleLock, "--arch", "amd64", "--output", join(out, `image-built-${i}`), "--cache", cache, "--offline", "--quiet"]));
  report("image amd64, example, decoded members cached", wallOf(imageBuilt), wallOf(gzBuilt), "layer --compress gzip, same cache", "≤ 1.0×");
  const mm = spawnSync("sh", ["-c", "command -v mmdebstrap"], { encoding: "utf8" });
  if (mm.status === 0) {
    const names = lockedPackages(exampleLock, "amd64").map((p) => p.name).join(",");
    const r = timeIt(() => spawnSync("mmdebstrap", ["--quiet", "--variant=extract", `--include=${names}`, "--architectures=amd64", "trixie", join(out, "mmdebstrap.tar"), `deb ${base} trixie main`, `deb ${base} trixie-updates main`, ...(secBase ? [`deb ${secBase} trixie-security main`] : [])], { stdio: "ignore" }), 1);
    report("  mmdebstrap --variant=extract, same packages", r, undefined, "", "—");
  } else console.log("  mmdebstrap: not installed (apt-get install mmdebstrap) — comparison skipped");
}

// --- 5. Resolution of 1, 10, 100, 500 requested packages, closure policy ----------------------
for (const n of [1, 10, 100, 500]) {
  const r = await measure("node", [join(ROOT, "bench/resolve-scale.mjs"), indexPath, String(n)]);
  const x = r.ok ? JSON.parse(r.stdout) : { error: r.error };
  if (x.error) console.log(`resolve ${n} packages: ${x.error}`);
  else report(`resolve closure of ${x.requested} packages (→ ${x.locked})`, x.resolveMs / 1000, undefined, "", "—");
}

// --- 6-8. trixie (amd64 + arm64): the scale table, the large layer, lock vs native compression
const trixieBase = baseFor("trixie") ?? base; // a mirror carrying bookworm carries trixie
const trixieKeys = join(ROOT, "keys/debian-archive-trixie.asc");
const ARCHS = ["amd64", "arm64"];
/** A trixie main manifest taking `packages` whole (closure policy), written to the work dir. */
function trixieManifest(name, packages, architectures = ARCHS) {
  const file = join(work, `${name}.json`);
  const manifest = {
    sources: [{ name: "debian", url: trixieBase, suites: ["trixie"], components: ["main"], keyring: trixieKeys }],
    architectures, policy: "closure", packages,
  };
  writeFileSync(file, JSON.stringify(manifest, null, 2));
  return file;
}
/** Locks `manifest` into the bench cache (unmeasured: it may download) and returns the lock. */
async function lockIntoBenchCache(what, manifest) {
  const lockfile = manifest.replace(/\.json$/, ".lock");
  const r = await measure("node", lockArgs(manifest, lockfile, CACHE));
  if (!r.ok) fail(`run: ${what}: lock into the bench cache failed: ${r.error}`);
  return r.ok ? lockfile : undefined;
}

// 6. The scale table: closures of requests picked with a fixed seed, cold (fresh empty caches)
// and warm (the bench cache, after one unmeasured lock), each command a separate process.
const sizesArg = process.argv.find((a) => a.startsWith("--sizes="));
const SIZES = sizesArg !== undefined ? sizesArg.slice("--sizes=".length).split(",").filter((x) => x !== "").map(Number) : QUICK ? [1, 10] : [1, 10, 100, 500];
const trixie = await archive.release(trixieBase, "trixie", trixieKeys);
const trixieIndexes = {};
for (const arch of ARCHS) trixieIndexes[arch] = await archive.index(trixieBase, "trixie", trixie, `main/binary-${arch}/Packages.xz`);
const picks = await measure("node", [join(ROOT, "bench/pick-requests.mjs"), "trixie", "scratch-pkgs-bench-1", SIZES.join(","), ...ARCHS.map((a) => `${a}=${trixieIndexes[a]}`)]);
if (!picks.ok) throw new Error(`bench: picking the scale requests failed: ${picks.error}`);
const scale = [];
// Each row is printed as soon as it is measured (a 500-package row takes hours: an interrupted
// run keeps what it measured), and kept in last-bench.json's partial copy too.
const cell = (r) => (r?.ok ? `${fmt(r.wall)} ${r.rssMB.toFixed(0)} MB` : r ? "FAILED" : "—");
const scaleCols = ["coldLock", ...ARCHS.map((a) => `cold-${a}`), "warmLock", ...ARCHS.map((a) => `warm-${a}`)];
const scaleHeader = () => {
  console.log(`\nscale: trixie main, ${ARCHS.join(" + ")}, closure policy; wall and peak RSS of each process (target ≤ ${RSS_TARGET_MB} MB)`);
  console.log(["requested", "locked", "layer MB", "cold lock", ...ARCHS.map((a) => `cold layer ${a}`), "warm lock", ...ARCHS.map((a) => `warm layer ${a}`)].map((h) => h.padEnd(19)).join(""));
};
const scaleRow = (row) => {
  const locked = ARCHS.map((a) => row.locked[a]).join("/");
  const mb = row.layerMB ? ARCHS.map((a) => row.layerMB[a].toFixed(0)).join("/") : "—";
  console.log([String(row.n), locked, mb, ...scaleCols.map((c) => cell(row[c]))].map((x) => x.padEnd(19)).join(""));
};
for (const n of SIZES) {
  const pick = JSON.parse(picks.stdout).sizes[n];
  const label = `the ${n}-package closure`;
  if (pick.error) {
    fail(`run: ${label} does not resolve: ${pick.error}`);
    continue;
  }
  console.log(`scale ${n}: requests ${pick.requests.slice(0, 12).join(" ")}${n > 12 ? " …" : ""}`);
  const manifest = trixieManifest(`scale-${n}`, pick.requests);
  const row = { n, locked: pick.locked };
  const coldCache = () => mkdtempSync(join(work, "cold-cache-"));
  const run = async (key, what, args, cache) => {
    const r = await measureTarget(`${what} of ${label}`, "node", args);
    row[key] = { ok: r.ok, wall: r.wall, rssMB: r.rssMB };
    if (cache) rmSync(cache, { recursive: true, force: true });
  };
  const coldLock = join(work, `scale-${n}-cold.lock`);
  let cache = coldCache();
  await run("coldLock", "cold lock", lockArgs(manifest, coldLock, cache), cache);
  if (row.coldLock.ok) {
    for (const arch of ARCHS) {
      cache = coldCache();
      await run(`cold-${arch}`, `cold layer --arch ${arch}`, layerArgs(coldLock, arch, join(work, "scale-layer.tar"), cache), cache);
    }
  }
  const lockfile = await lockIntoBenchCache(label, manifest);
  if (lockfile) {
    row.locked = Object.fromEntries(ARCHS.map((a) => [a, lockedPackages(lockfile, a).length]));
    await run("warmLock", "warm lock", lockArgs(manifest, join(work, `scale-${n}-warm.lock`), CACHE, ["--offline", "--update"]));
    for (const arch of ARCHS) await run(`warm-${arch}`, `warm layer --arch ${arch}`, layerArgs(lockfile, arch, join(work, "scale-layer.tar"), CACHE, ["--offline"]));
    row.layerMB = Object.fromEntries(ARCHS.map((a) => [a, JSON.parse(readFileSync(lockfile, "utf8")).architectures[a].layer.size / 1e6]));
  }
  rmSync(join(work, "scale-layer.tar"), { force: true });
  scale.push(row);
  scaleHeader();
  for (const r of scale) scaleRow(r);
  writeFileSync(join(CACHE, "last-bench.partial.json"), JSON.stringify([...rows, { name: "scale", scale }], null, 2));
}
rows.push({ name: "scale", scale });

// 7. The large layer of item 1 (amd64): a JDK, LLVM and a Python with its standard library,
// numpy and scipy (75 packages, 636 MiB Installed-Size in trixie's index), at least 500 MB
// uncompressed (checked on the lock's layer size); lock and layer, with item 2's ratios on it.
if (!QUICK) {
  const manifest = trixieManifest("large", ["openjdk-21-jdk-headless", "python3", "libpython3-stdlib", "python3-numpy", "python3-scipy", "libllvm19"], ["amd64"]);
  const lockfile = await lockIntoBenchCache("the large layer", manifest);
  if (lockfile) {
    const mb = JSON.parse(readFileSync(lockfile, "utf8")).architectures.amd64.layer.size / 1e6;
    if (mb < 500) fail(`run: the large layer is ${mb.toFixed(0)} MB uncompressed, not the ≥ 500 MB item 1 asks for: add packages to it`);
    const lock = await measureTarget("warm lock of the large layer", "node", lockArgs(manifest, join(work, "large-warm.lock"), CACHE, ["--offline", "--update"]));
    report(`lock, large layer (${mb.toFixed(0)} MB), warm cache`, lock.ok ? lock.wall : undefined, undefined, "", "—");
    peak("lock, large layer", [lock]);
    await layerRatios(`the large layer (${mb.toFixed(0)} MB)`, lockfile, "amd64", 1);
  }
}

// 8. Item 3: lock of the git closure (both architectures) with every .deb cached but nothing
// derived reusable (a fresh cache key), against its .debs through native gzip -6 and zstd -3.
{
  const manifest = trixieManifest("git", ["git"]);
  const lockfile = await lockIntoBenchCache("the git closure", manifest);
  if (lockfile) {
    const lock = JSON.parse(readFileSync(lockfile, "utf8"));
    const releases = lock.sources.flatMap((s) => s.suites.flatMap((x) => [x.release.sha256, ...x.indexes.map((i) => i.sha256)]));
    const cache = seededCache([...releases, ...lockedPackages(lockfile).map((p) => p.sha256)], { refs: true });
    const r = await measureTarget("lock of the git closure from cached .debs", "node", lockArgs(manifest, join(work, "git-debs.lock"), cache, ["--offline"]), freshKey());
    rmSync(cache, { recursive: true, force: true });
    // Per architecture one tar stream, both compressors at once (tee into a fifo), as a lock
    // that compresses the two forms concurrently would.
    const fifo = join(out, "gzip.fifo");
    const floor = shellWall(
      ARCHS.map((a) => `rm -f '${fifo}' && mkfifo '${fifo}' && { gzip -6 < '${fifo}' > /dev/null & } && ` +
        `while read -r d; do dpkg-deb --fsys-tarfile "$d"; done < '${listFile(join(out, `git-${a}.list`), debsOf(lockedPackages(lockfile, a)))}' | tee '${fifo}' | zstd -q -3 > /dev/null && wait`).join(" && "),
      1,
    );
    report(`lock, git closure (${ARCHS.map((a) => lockedPackages(lockfile, a).length).join("/")} .debs), .debs cached`, r.ok ? r.wall : undefined, floor, "dpkg-deb | gzip -6 + zstd -3", "≤ 2×");
    peak("lock, git closure", [r]);
  }
}

await fetcher.http?.close?.();
rmSync(out, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });
writeFileSync(join(CACHE, "last-bench.json"), JSON.stringify(rows, null, 2));
process.exit(summary());
