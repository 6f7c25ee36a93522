/**
 * audit on real data: a lock made from the recorded bookworm-updates snapshot (served on
 * 127.0.0.1) audits clean offline; after corrupting the cached .deb and one recorded layer
 * digest, the audit names exactly those two and nothing else.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { runLock } from "../../src/commands/lock.js";
import { runAudit } from "../../src/commands/audit.js";
import { formatReport } from "../../src/audit/report.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { silentProgress, type Progress } from "../../src/fetch/progress.js";
import { canonicalJson } from "../../src/util/canonical-json.js";
import { loadBlob } from "../../src/fetch/blob-store.js";
import type { Lockfile } from "../../src/model/lock.js";

const ROOT = resolve(import.meta.dirname, "../..");
const SNAP = join(ROOT, "snapshots/debian");

let server: TestServer;
let dir: string;
const clients: HttpClient[] = [];

function fetcher(offline: boolean, progress: Progress = silentProgress) {
  const http = new HttpClient({ retries: 0 });
  clients.push(http);
  const cache = new ContentCache(join(dir, "cache"));
  return { cache, fetcher: new Fetcher({ cache, http, offline, progress }) };
}

function audit(offline: boolean, lockfile = join(dir, "scratch.lock"), provenance: string[] = [], progress?: Progress) {
  const { cache, fetcher: f } = fetcher(offline, progress);
  return runAudit({ lockfile, config: join(dir, "scratch.json"), mirrors: [server.url], envMirror: undefined, aptSources: undefined, fetcher: f, cache, now: new Date(), provenance });
}

beforeAll(async () => {
  server = await serveDirectory(SNAP);
  dir = mkdtempSync(join(tmpdir(), "scratch-audit-"));
  writeFileSync(
    join(dir, "scratch.json"),
    JSON.stringify({
      sources: [{ name: "debian", url: "https://archive.test.invalid/snapshot/debian", suites: ["bookworm-updates"], keyring: join(ROOT, "keys/debian-archive-bookworm.asc"), allowExpired: true }],
      architectures: ["amd64"],
      fileSets: { "ca-certs": {} },
    }),
  );
  const { cache, fetcher: f } = fetcher(false);
  await runLock({ config: join(dir, "scratch.json"), lockfile: join(dir, "scratch.lock"), check: false, update: undefined, mirrors: [server.url], envMirror: undefined, aptSources: undefined, fetcher: f, blobs: cache, now: new Date(), note: () => {} });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
});

describe("audit", () => {
  it("passes every check offline on a lock made from the real snapshot, naming its phases as it goes", async () => {
    const phases: string[] = [];
    const report = await audit(true, undefined, [], { ...silentProgress, phase: (name, size) => void phases.push(`${name} (${size})`) });
    expect(phases).toEqual(["verifying releases and indexes (1 suite)", "verifying the amd64 .debs (1 package)", "rebuilding the amd64 layer (1 package)"]);
    expect(report.checks.filter((c) => c.status !== "ok"), formatReport(report).join("\n")).toEqual([]);
    expect(report.checks.map((c) => c.name)).toEqual(["manifest", "sources", "release debian/bookworm-updates", "index debian/bookworm-updates", "package amd64/ca-certificates", "layer amd64"]);
    expect(report.ok).toBe(true);
  });

  it("names exactly the corrupted cached .deb and the altered layer digest", async () => {
    const lock = JSON.parse(readFileSync(join(dir, "scratch.lock"), "utf8")) as Lockfile;
    const ca = lock.architectures.amd64!.packages.find((p) => p.name === "ca-certificates")!;
    const cached = new ContentCache(join(dir, "cache")).pathFor(ca.sha256);
    const bytes = readFileSync(cached);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 100) ^ 0xff, bytes.length - 100);
    writeFileSync(cached, bytes);

    const tampered = structuredClone(lock);
    const gzip = tampered.architectures.amd64!.layer.compressed.gzip!;
    gzip.digest = "sha256:" + "0".repeat(64);
    const tamperedFile = join(dir, "tampered.lock");
    writeFileSync(tamperedFile, canonicalJson(tampered));

    // Online (the local server as mirror), so the layer can still be rebuilt from a good copy.
    const report = await audit(false, tamperedFile);
    const failed = report.checks.filter((c) => c.status !== "ok");
    expect(failed.map((c) => c.name), formatReport(report).join("\n")).toEqual(["package amd64/ca-certificates", "layer amd64"]);
    expect(failed[0]!.detail).toContain("corrupt");
    expect(failed[1]!.detail).toContain(`gzip digest ${lock.architectures.amd64!.layer.compressed.gzip!.digest}, the lock says ${gzip.digest}`);
    expect(report.summary).toEqual({ total: 6, failed: 2, unavailable: 0 });
  });

  it("lists the paths that differ, with their origin, from the recorded provenance manifest kept in the cache", async () => {
    const lock = JSON.parse(readFileSync(join(dir, "scratch.lock"), "utf8")) as Lockfile;
    const tampered = structuredClone(lock);
    // A lock whose selection rules no longer match its recorded layer: one certificate is dropped.
    const ca = tampered.architectures.amd64!.packages.find((p) => p.name === "ca-certificates")!;
    const cert = "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt";
    ca.select[0]!.exclude.push(cert);
    const file = join(dir, "tampered-select.lock");
    writeFileSync(file, canonicalJson(tampered));
    const report = await audit(true, file);
    const layer = report.checks.find((c) => c.name === "layer amd64")!;
    expect(layer.status).toBe("fail");
    expect(layer.detail).toContain("derivation ca-certificates 1 differs (outputs: /etc/ca-certificates.conf");
    const byPath = new Map((layer.paths ?? []).map((p) => [p.path, p]));
    expect(byPath.get(cert)).toEqual({ path: cert, difference: "missing from the rebuilt layer", origin: `ca-certificates ${ca.version} ./usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt` });
    expect(byPath.get("/etc/ssl/certs/ISRG_Root_X1.pem")?.difference).toBe("missing from the rebuilt layer");
    expect(byPath.get("/etc/ssl/certs/ca-certificates.crt")?.difference).toMatch(/^content sha256 /);
    // Nothing else in the layer is reported: libc-free snapshot layer, only the CA set changed.
    for (const p of byPath.keys()) expect(p.startsWith("/etc/ssl/certs/") || p === cert || p === "/etc/ca-certificates.conf" || p.startsWith("/var/lib/dpkg/status.d/ca-certificates"), p).toBe(true);
  });

  it("a --provenance file of the format before the version line: the layer check fails and says why the paths cannot be listed", async () => {
    const lock = JSON.parse(readFileSync(join(dir, "scratch.lock"), "utf8")) as Lockfile;
    const layer = lock.architectures.amd64!.layer;
    const current = (await loadBlob(new ContentCache(join(dir, "cache")), layer.provenance.sha256))!.toString("utf8");
    // What an older scratch-pkgs wrote beside the layer: the same lines without the format line,
    // with a lock that recorded its sha256 (and so no copy in this cache).
    const older = current.slice(current.indexOf("\n") + 1);
    const file = join(dir, "older.provenance.jsonl");
    writeFileSync(file, older);
    const tampered = structuredClone(lock);
    tampered.architectures.amd64!.layer.provenance.sha256 = createHash("sha256").update(older).digest("hex");
    const lockfile = join(dir, "older-provenance.lock");
    writeFileSync(lockfile, canonicalJson(tampered));
    const report = await audit(true, lockfile, [file]);
    const check = report.checks.find((c) => c.name === "layer amd64")!;
    expect(check.status).toBe("fail");
    expect(check.detail).toContain(`provenance manifest sha256 ${layer.provenance.sha256}, the lock says ${tampered.architectures.amd64!.layer.provenance.sha256}`);
    expect(check.detail).toContain(`the differing paths cannot be listed: ${file} line 1: no format line`);
    expect(check.paths).toBeUndefined();
    expect(report.summary).toEqual({ total: 6, failed: 1, unavailable: 0 });
  });
});
