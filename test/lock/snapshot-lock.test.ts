/**
 * Real data, offline: lock against the recorded bookworm-updates snapshot (InRelease,
 * Packages.xz) served on 127.0.0.1, verified with the real Debian keys shipped in keys/.
 * Expected values come from independent tools: sha256sum, gpgv, xz + awk.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { runLock } from "../../src/lock/create.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { silentProgress } from "../../src/fetch/progress.js";
import type { Lockfile } from "../../src/lock/types.js";

const ROOT = resolve(import.meta.dirname, "../..");
const SNAP = join(ROOT, "snapshots/debian");
const INRELEASE = join(SNAP, "dists/bookworm-updates/InRelease");
const DEB = join(SNAP, "pool/main/c/ca-certificates/ca-certificates_20230311+deb12u1_all.deb");
const URL_ = "https://snapshot.debian.org/archive/debian/20261122T000000Z";

const sha256sum = (f: string) => execFileSync("sha256sum", [f]).toString().split(" ")[0]!;

let server: TestServer;
let dir: string;
beforeAll(async () => {
  server = await serveDirectory(SNAP);
  dir = mkdtempSync(join(tmpdir(), "scratch-snap-"));
  writeFileSync(
    join(dir, "scratch.json"),
    JSON.stringify({
      sources: [{ name: "debian", url: URL_, suites: ["bookworm-updates"], keyring: join(ROOT, "keys/debian-archive-bookworm.asc"), allowExpired: true }],
      architectures: ["amd64"],
      fileSets: { "ca-certs": {}, tzdata: {} },
    }),
  );
});
afterAll(async () => server?.close());

function lock(extra: Partial<Parameters<typeof runLock>[0]> = {}) {
  const http = new HttpClient({ retries: 0 });
  const fetcher = new Fetcher({ cache: new ContentCache(join(dir, "cache")), http, offline: false, progress: silentProgress });
  return runLock({
    config: join(dir, "scratch.json"),
    lockfile: join(dir, "scratch.lock"),
    check: false,
    update: undefined,
    mirrors: [server.url],
    envMirror: undefined,
    aptSources: undefined,
    fetcher,
    now: new Date(),
    note: () => {},
    ...extra,
  }).finally(() => http.close());
}

describe("lock from the recorded bookworm-updates snapshot", () => {
  it("verifies the real InRelease with Debian's key and pins ca-certificates exactly as the index and the .deb say", async () => {
    const { lock: l } = await lock();
    const written = JSON.parse(readFileSync(join(dir, "scratch.lock"), "utf8")) as Lockfile;
    expect(written).toEqual(l);

    const suite = l.sources[0]!.suites[0]!;
    expect(suite.release.sha256).toBe(sha256sum(INRELEASE));
    expect(suite.release.path).toBe("InRelease");
    // gpgv names the primary key of the signature that verified (VALIDSIG's last field).
    const gpgHome = mkdtempSync(join(tmpdir(), "gpg-"));
    const ring = join(gpgHome, "ring.gpg");
    execFileSync("sh", ["-c", `gpg --dearmor < '${join(ROOT, "keys/debian-archive-bookworm.asc")}' > '${ring}'`]);
    const gv = spawnSync("gpgv", ["--status-fd", "1", "--keyring", ring, INRELEASE], { encoding: "utf8" });
    const primaries = [...gv.stdout.matchAll(/VALIDSIG .* ([0-9A-F]{40})$/gm)].map((m) => m[1]);
    expect(primaries).toContain(suite.signedBy);
    expect(suite.date).toBe(/^Date: (.*)$/m.exec(readFileSync(INRELEASE, "utf8"))![1]);

    const idx = suite.indexes.find((i) => i.path === "main/binary-amd64/Packages.xz")!;
    expect(idx.sha256).toBe(sha256sum(join(SNAP, "dists/bookworm-updates/main/binary-amd64/Packages.xz")));

    const ca = l.architectures.amd64!.packages.find((p) => p.name === "ca-certificates")!;
    expect(ca.sha256).toBe(sha256sum(DEB));
    expect(ca.size).toBe(readFileSync(DEB).length);
    expect(ca.url).toBe(`${URL_}/pool/main/c/ca-certificates/ca-certificates_20230311+deb12u1_all.deb`);
    expect(execFileSync("dpkg-deb", ["-f", DEB, "Version"]).toString().trim()).toBe(ca.version);

    // tzdata as xz + awk read it from the same index.
    const tz = execFileSync("sh", ["-c", `xz -dc '${join(SNAP, "dists/bookworm-updates/main/binary-amd64/Packages.xz")}' | awk -v RS= '/\\nPackage: tzdata\\n|^Package: tzdata\\n/' | awk '/^(Version|SHA256|Size):/{print $2}'`]).toString().trim().split("\n");
    const tzl = l.architectures.amd64!.packages.find((p) => p.name === "tzdata")!;
    expect(tz).toEqual([tzl.version, String(tzl.size), tzl.sha256]);
    expect(l.sourceDateEpoch).toBe(Math.floor(Date.parse(suite.date) / 1000));
  });

  it("refuses the same InRelease with the security archive's keyring (no pinned key signed it) and writes nothing", async () => {
    const d = mkdtempSync(join(tmpdir(), "scratch-snap-bad-"));
    const m = JSON.parse(readFileSync(join(dir, "scratch.json"), "utf8"));
    m.sources[0].keyring = join(ROOT, "keys/debian-security-bookworm.asc");
    writeFileSync(join(d, "scratch.json"), JSON.stringify(m));
    await expect(lock({ config: join(d, "scratch.json"), lockfile: join(d, "scratch.lock") })).rejects.toMatchObject({ exitCode: 1, kind: "verification" });
    expect(() => readFileSync(join(d, "scratch.lock"))).toThrow(/ENOENT/);
  });
});
