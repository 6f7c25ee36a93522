/**
 * Shared set-up of the image tests: a signed fixture archive (the lock tests' packages, with
 * hello's copyright made machine-readable) served on 127.0.0.1, a lock made from it, and
 * runImage / the compiled CLI wired to that server as a mirror.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import { runImage, type ImageOptions, type ImageResult } from "../../src/commands/image.js";
import { buildArchive, FIXTURE_DATE, type FixturePackage } from "../fixtures/archive.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { ARCHES, KEY_DATE, lockWith, signDateFor, stablePackages, tempDir, writeProject } from "../lock/helpers.js";
import { makeKey } from "../sources/pgp-helpers.js";

export const HELLO_COPYRIGHT = [
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
  "Upstream-Name: hello",
  "",
  "Files: *",
  "Copyright: 1992-2022 Free Software Foundation, Inc.",
  "License: GPL-3+",
  "",
  "Files: debian/*",
  "Copyright: 2022 Fixture Maintainers",
  "License: Expat",
  "",
  "License: GPL-3+",
  " This program is free software; see /usr/share/common-licenses/GPL-3.",
  "",
].join("\n");

function packages(): FixturePackage[] {
  return stablePackages().map((p) =>
    p.control.Package === "hello"
      ? { ...p, files: p.files.map((f) => (f.path === "./usr/share/doc/hello/copyright" ? { ...f, content: HELLO_COPYRIGHT } : f)) }
      : p,
  );
}

export interface ImageFixture {
  work: string;
  server: TestServer;
  lockfile: string;
  cache: string;
  close(): Promise<void>;
}

/** A locked project (base, ca-certs, libc, tzdata file sets and the hello package) for amd64 and arm64. */
export async function imageFixture(prefix: string): Promise<ImageFixture> {
  const work = await tempDir(prefix);
  const key = await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true });
  await buildArchive({ root: join(work, "www"), suites: ["stable"], architectures: [...ARCHES], packages: packages(), signWith: [key], date: FIXTURE_DATE, signDate: signDateFor(FIXTURE_DATE) });
  const server = await serveDirectory(join(work, "www"));
  const p = await writeProject(join(work, "project"), key, { suites: ["stable"], packages: ["hello"], policy: "closure", fileSets: { base: {}, "ca-certs": {}, libc: {}, tzdata: { timezone: "Europe/Amsterdam" } } });
  const cache = join(work, "cache");
  await lockWith({ config: p.config, lockfile: p.lockfile, mirror: server.url, cache });
  return {
    work,
    server,
    lockfile: p.lockfile,
    cache,
    close: async () => {
      await server.close();
    },
  };
}

export type ImageRun = Partial<Omit<ImageOptions, "fetcher" | "mirrors" | "lockfile">> & { output: string };

/**
 * runImage as the CLI wires it (the fixture's cache for downloads and decoded .deb members),
 * fetching from the fixture server; `o.cache` replaces the cache, and `fetcherFor` the fetcher.
 */
export async function imageWith(f: ImageFixture, o: ImageRun, fetcherFor = (cache: ContentCache, http: HttpClient) => new Fetcher({ cache, http, offline: false, progress: silentProgress })): Promise<ImageResult> {
  const http = new HttpClient({ timeoutMs: 5000, backoffMs: 10, retries: 1 });
  const cache = new ContentCache(f.cache);
  const fetcher = fetcherFor(o.cache ?? cache, http);
  try {
    return await runImage({
      lockfile: f.lockfile,
      arches: [],
      add: [],
      entrypoint: [],
      cmd: [],
      user: undefined,
      env: [],
      workdir: undefined,
      labels: [],
      tag: undefined,
      sbom: undefined,
      envMirror: undefined,
      aptSources: undefined,
      cache,
      ...o,
      mirrors: [f.server.url],
      fetcher,
    });
  } finally {
    await http.close();
  }
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, maxBuffer: 64 * 1024 * 1024 }, (e, stdout, stderr) => {
      const code = e ? (typeof (e as { code?: unknown }).code === "number" ? ((e as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export async function must(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export { compileCli, cleanEnv } from "../fixtures/cli.js";
