#!/usr/bin/env node
/**
 * Record, under snapshots/<source name>/, every archive file a lock pins — each suite's signed
 * release, its indexes and the locked .debs — laid out as the archive is, so that tests can
 * audit the lock offline with `--mirror NAME=file://…/snapshots/NAME`.
 *
 * The files are fetched and verified by the tool itself (pinned sha256 and size) and written
 * atomically; files already recorded are checked and left alone. The suites named by
 * --contents (default bookworm-updates, the smallest) also get their Contents indexes, chosen
 * and pinned by the recorded release as the tool reads them. Run after re-locking:
 *
 *   npm run build && node scripts/record-snapshots.mjs --apt-sources
 *   node scripts/record-snapshots.mjs --lockfile scratch.lock --out snapshots [--mirror URL]… [--cache DIR]
 */
import { parseArgs } from "node:util";
import { readFile, mkdir, copyFile, rename, rm, stat } from "node:fs/promises";
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dist = (m) => import(new URL(`../dist/${m}`, import.meta.url).href);
const [
  { readLockfile },
  { mirrorsFor },
  { packageUrls },
  { Fetcher },
  { HttpClient },
  { ContentCache, defaultCacheDir },
  { silentProgress },
  { fsyncDir },
  { suitePath, suiteUrl, byHashUrl },
  { parseRelease },
  { decodeUtf8, frameClearsigned },
  { chooseContents },
] = await Promise.all(
  [
    "lockfile/read.js",
    "sources/mirrors.js",
    "layer/urls.js",
    "fetch/fetcher.js",
    "fetch/http.js",
    "fetch/cache.js",
    "fetch/progress.js",
    "util/atomic-write.js",
    "debian/suite-urls.js",
    "sources/release.js",
    "sources/clearsigned.js",
    "sources/contents.js",
  ].map(dist),
);

// `--apt-sources` with no value means this machine's sources, as in the CLI.
const argv = process.argv.slice(2);
const bare = argv.findIndex((a, i) => a === "--apt-sources" && (argv[i + 1] === undefined || argv[i + 1].startsWith("--")));
if (bare >= 0) argv.splice(bare + 1, 0, "");
const { values } = parseArgs({
  args: argv,
  options: {
    lockfile: { type: "string", default: "scratch.lock" },
    out: { type: "string", default: "snapshots" },
    mirror: { type: "string", multiple: true, default: [] },
    "apt-sources": { type: "string" },
    cache: { type: "string" },
    contents: { type: "string", multiple: true, default: ["bookworm-updates"] },
  },
});

try {
  await record();
} catch (e) {
  // Errors of the tool say what and where; a maintainer needs that, not a stack.
  process.stderr.write(`record-snapshots: ${e?.message ?? e}${e?.hint ? `\n  hint: ${e.hint}` : ""}\n`);
  process.exitCode = typeof e?.exitCode === "number" ? e.exitCode : 1;
}

async function record() {
  const lock = await readLockfile(values.lockfile);
  const mirrors = await mirrorsFor(lock.sources, { mirrors: values.mirror, envMirror: process.env.SCRATCH_PKGS_MIRROR, aptSources: values["apt-sources"] });
  const cache = new ContentCache(values.cache ?? defaultCacheDir());
  const http = new HttpClient({});
  const fetcher = new Fetcher({ cache, http, offline: false, progress: silentProgress });

  /** Each pinned file: the source it is under, its path there, size and sha256, and where to fetch it. */
  const wanted = [];
  for (const source of lock.sources) {
    for (const suite of source.suites) {
      const bases = mirrors.basesFor(source.name, suite.suite);
      const want = (f, urls) => wanted.push({ source: source.name, rel: suitePath(suite.suite, f.path), size: f.size, sha256: f.sha256, urls });
      for (const f of [suite.release, ...(suite.release.signature ? [suite.release.signature] : [])]) want(f, bases.map((b) => suiteUrl(b, suite.suite, f.path)));
      // Indexes by hash first, as lock reads them: a mirror that has moved on still has those.
      for (const f of suite.indexes) want(f, bases.flatMap((b) => [byHashUrl(b, suite.suite, f.path, f.sha256), suiteUrl(b, suite.suite, f.path)]));
      if (values.contents.includes(suite.suite)) for (const f of await contentsOf(fetcher, lock, source, suite, bases)) want(f, f.urls);
    }
  }
  for (const arch of Object.keys(lock.architectures).sort()) {
    for (const pkg of lock.architectures[arch].packages) {
      const source = lock.sources.find((s) => s.name === pkg.source);
      wanted.push({ source: pkg.source, rel: pkg.url.slice(source.url.length + 1), size: pkg.size, sha256: pkg.sha256, urls: packageUrls(lock.sources, mirrors, pkg) });
    }
  }

  let written = 0;
  let kept = 0;
  const seen = new Set();
  try {
    for (const f of wanted) {
      const dest = resolve(values.out, f.source, f.rel);
      if (seen.has(dest)) continue;
      seen.add(dest);
      if (await recorded(dest, f)) {
        kept++;
        continue;
      }
      const from = await fetcher.fetchPinned({ urls: f.urls, sha256: f.sha256, size: f.size, label: `${f.source}/${f.rel}` });
      await mkdir(dirname(dest), { recursive: true });
      const tmp = `${dest}.tmp-${process.pid}`;
      await copyFile(from, tmp);
      await rename(tmp, dest).catch(async (e) => {
        await rm(tmp, { force: true });
        throw e;
      });
      await fsyncDir(dirname(dest));
      written++;
      process.stdout.write(`recorded ${join(values.out, f.source, f.rel)} (${f.size} bytes)\n`);
    }
  } finally {
    await http.close();
  }
  process.stdout.write(`${written} written, ${kept} already recorded, ${seen.size} files for ${values.lockfile}\n`);
}

/**
 * The Contents indexes of a locked suite for the lock's architectures, as the tool chooses them
 * from the release: the lock pins the release's bytes, so its SHA256 list pins these in turn.
 */
async function contentsOf(fetcher, lock, source, suite, bases) {
  const label = suiteUrl(source.url, suite.suite, suite.release.path);
  // The copy recorded already first: a mirror that has moved on serves another release.
  const urls = [pathToFileURL(resolve(values.out, source.name, suitePath(suite.suite, suite.release.path))).href, ...bases.map((b) => suiteUrl(b, suite.suite, suite.release.path))];
  const bytes = await readFile(await fetcher.fetchPinned({ urls, sha256: suite.release.sha256, size: suite.release.size, label }));
  const text = suite.release.path === "InRelease" ? frameClearsigned(decodeUtf8(bytes, label), label).text : decodeUtf8(bytes, label);
  const vs = { ref: { source: source.name, url: source.url, suite: suite.suite, bases }, release: parseRelease(text, label), label };
  const components = [...new Set(suite.indexes.map((i) => i.component))].sort();
  const choices = Object.keys(lock.architectures).sort().flatMap((arch) => chooseContents(vs, components, arch));
  return choices.map((c) => ({ path: c.locked.path, size: c.locked.size, sha256: c.locked.sha256, urls: c.urls }));
}

async function recorded(path, f) {
  const st = await stat(path).catch(() => undefined);
  if (!st) return false;
  const sha256 = createHash("sha256").update(await readFile(path)).digest("hex");
  return st.size === f.size && sha256 === f.sha256;
}
