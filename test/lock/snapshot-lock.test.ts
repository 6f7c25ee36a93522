/**
 * Real data, offline: lock against the recorded bookworm-updates snapshot (InRelease,
 * Packages.xz) served on 127.0.0.1, verified with the real Debian keys shipped in keys/.
 * Expected values come from independent tools: sha256sum, gpgv, xz + awk.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { runLock } from "../../src/commands/lock.js";
import { runLayer } from "../../src/commands/layer.js";
import { readTar } from "./helpers.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { silentProgress } from "../../src/fetch/progress.js";
import type { Lockfile } from "../../src/model/lock.js";

const ROOT = resolve(import.meta.dirname, "../..");
const SNAP = join(ROOT, "snapshots/debian");
const INRELEASE = join(SNAP, "dists/bookworm-updates/InRelease");
const DEB = join(SNAP, "pool/main/c/ca-certificates/ca-certificates_20230311+deb12u1_all.deb");
const URL_ = "https://archive.test.invalid/snapshot/debian";

const MACHINE_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
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
      // The snapshot holds only the ca-certificates .deb, and lock now downloads what it locks.
      fileSets: { "ca-certs": {} },
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

    // The index stanza as xz + awk read it, independently of our parser.
    const stanza = execFileSync("sh", ["-c", `xz -dc '${join(SNAP, "dists/bookworm-updates/main/binary-amd64/Packages.xz")}' | awk -v RS= '/\\nPackage: ca-certificates\\n|^Package: ca-certificates\\n/' | awk '/^(Version|SHA256|Size):/{print $2}'`]).toString().trim().split("\n");
    expect(stanza).toEqual([ca.version, String(ca.size), ca.sha256]);
    // Only what the file set names: no dependencies under policy none.
    expect(l.architectures.amd64!.packages.map((p) => p.name)).toEqual(["ca-certificates"]);
    expect(l.architectures.amd64!.derivations.map((d) => d.recipe)).toEqual(["usr-merge", "ca-certificates", "openssl-paths", "dpkg-status"]);
    expect(l.sourceDateEpoch).toBe(Math.floor(Date.parse(suite.date) / 1000));
  });

  it("the generated /etc/ssl/certs/ca-certificates.crt is what update-ca-certificates wrote on this machine (same version)", async (ctx) => {
    const snapshotVersion = execFileSync("dpkg-deb", ["-f", DEB, "Version"]).toString().trim();
    const q = spawnSync("dpkg-query", ["-W", "-f", "${Version}", "ca-certificates"], { encoding: "utf8" });
    const installed = q.status === 0 ? q.stdout.trim() : undefined;
    const skip = (why: string): void => {
      console.log(`skipped: ${why}`);
      ctx.skip(why);
    };
    if (installed !== snapshotVersion) return skip(`this machine has ca-certificates ${installed ?? "(not installed)"}, the snapshot ${snapshotVersion}`);
    if (!existsSync(MACHINE_BUNDLE)) return skip(`${MACHINE_BUNDLE} does not exist`);
    // A certificate deselected in /etc/ca-certificates.conf ("!name") is left out of the machine's bundle.
    const deselected = readFileSync("/etc/ca-certificates.conf", "utf8").split("\n").filter((line) => line.startsWith("!"));
    if (deselected.length > 0) return skip(`/etc/ca-certificates.conf deselects ${deselected.join(", ")}`);

    const { lock: l } = await lock();
    const out = join(dir, "layer.tar");
    const http = new HttpClient({ retries: 0 });
    try {
      const fetcher = new Fetcher({ cache: new ContentCache(join(dir, "cache")), http, offline: false, progress: silentProgress });
      await runLayer({ lockfile: join(dir, "scratch.lock"), arches: ["amd64"], output: out, compress: "none", check: false, mirrors: [server.url], envMirror: undefined, aptSources: undefined, fetcher });
    } finally {
      await http.close();
    }
    const ours = (await readTar(readFileSync(out))).get("etc/ssl/certs/ca-certificates.crt")?.content;
    expect(ours, "the layer has etc/ssl/certs/ca-certificates.crt").toBeDefined();
    const derived = l.architectures.amd64!.derivations.find((d) => d.recipe === "ca-certificates")!.outputs.find((o) => o.path === MACHINE_BUNDLE)!;
    expect(derived.sha256).toBe(sha256(ours!));

    // update-ca-certificates appends this machine's own certificates after the packaged ones:
    // `find -L /usr/local/share/ca-certificates -type f -name '*.crt' | sort`, each given a
    // final newline when it lacks one.
    const machine = readFileSync(MACHINE_BUNDLE);
    expect(ours!.length).toBeGreaterThan(100_000);
    expect(machine.subarray(0, ours!.length).equals(ours!), "our bundle is a prefix of the machine's").toBe(true);
    const local = execFileSync("sh", ["-c", "test -d /usr/local/share/ca-certificates && find -L /usr/local/share/ca-certificates -type f -name '*.crt' | LC_ALL=C sort || true"]).toString().split("\n").filter((f) => f !== "");
    const localBytes = Buffer.concat(local.map((f) => {
      const b = readFileSync(f);
      return b.length > 0 && b[b.length - 1] !== 0x0a ? Buffer.concat([b, Buffer.from("\n")]) : b;
    }));
    expect(machine.subarray(ours!.length).equals(localBytes), `the rest of the machine's bundle is its local certificates (${local.join(", ") || "none"})`).toBe(true);
    if (local.length === 0) expect(machine.equals(ours!)).toBe(true);
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
