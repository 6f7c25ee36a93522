// The ca-certificates recipe against the real thing: Debian's own maintainer scripts run on the
// same files, and the machine's /etc/ssl/certs when it has the same package version.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { caCertificates, pemName, BUNDLE_PATH, CONF_PATH } from "../../src/derive/ca-certificates.js";
import { DerivationError } from "../../src/derive/errors.js";
import type { Derivation } from "../../src/derive/types.js";
import type { LayerNode } from "../../src/model/layer.js";
import { sha256Hex } from "../../src/util/hash.js";
import { runDebianCaInstall, type DebianCaResult } from "./debian-ca.js";
import { extractDeb, hasCommand, nodesFromDir, tempDir, removeTempDirs } from "./helpers.js";

afterAll(removeTempDirs);

const SNAPSHOT_DEB = "snapshots/debian/pool/main/c/ca-certificates/ca-certificates_20230311+deb12u1_all.deb";
const tools = hasCommand("dpkg-deb") && hasCommand("openssl");

/** Our /etc/ssl/certs entries in the same shape as the oracle's readTree. */
function ourCerts(d: Derivation): Map<string, { type: "file"; content: Buffer } | { type: "symlink"; target: string }> {
  const out = new Map<string, { type: "file"; content: Buffer } | { type: "symlink"; target: string }>();
  for (const n of d.nodes) {
    if (!n.path.startsWith("/etc/ssl/certs/")) continue;
    const name = n.path.slice("/etc/ssl/certs/".length);
    if (n.type === "symlink") out.set(name, { type: "symlink", target: n.target! });
    else out.set(name, { type: "file", content: Buffer.from(n.content!) });
  }
  return out;
}

function compareWithOracle(d: Derivation, oracle: DebianCaResult): void {
  const conf = d.nodes.find((n) => n.path === CONF_PATH)!;
  // compare as text (the conf is short and a diff is readable), then as bytes
  expect(Buffer.from(conf.content!).toString("latin1")).toBe(oracle.conf.toString("latin1"));
  expect(Buffer.from(conf.content!).equals(oracle.conf)).toBe(true);
  const ours = ourCerts(d);
  expect([...ours.keys()].sort()).toEqual([...oracle.certs.keys()].sort());
  for (const [name, theirs] of oracle.certs) {
    const mine = ours.get(name)!;
    if (theirs.type === "file") {
      expect(mine.type, name).toBe("file");
      // byte for byte (toEqual on 200 KB Buffers would print the lot on failure)
      expect(mine.type === "file" && mine.content.equals(theirs.content), `${name} differs`).toBe(true);
    } else {
      expect(mine, name).toEqual(theirs);
    }
  }
}

describe.skipIf(!tools)("ca-certificates bundle vs Debian's scripts", () => {
  test("snapshot deb 20230311+deb12u1: bundle, conf, .pem and hash links identical to update-ca-certificates", () => {
    const deb = extractDeb(SNAPSHOT_DEB);
    const nodes = nodesFromDir(deb.root, { package: deb.name, version: deb.version });
    const d = caCertificates({ nodes }, { links: true });
    const oracle = runDebianCaInstall(deb.root, deb.control);
    expect(oracle.certs.size).toBeGreaterThan(200); // bundle + 142 .pem + hash links
    compareWithOracle(d, oracle);
    // record: every certificate read, sorted, with its sha256; outputs sorted
    const certFiles = [...nodes.values()].filter((n) => n.type === "file" && n.path.endsWith(".crt") && n.path.startsWith("/usr/share/ca-certificates/"));
    expect(d.record.inputs).toEqual(
      certFiles.map((n) => ({ path: n.path, sha256: sha256Hex(n.content!) })).sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))),
    );
    const bundle = d.record.outputs.find((o) => o.path === BUNDLE_PATH)!;
    expect(bundle).toEqual({ path: BUNDLE_PATH, type: "file", mode: "0644", uid: 0, gid: 0, sha256: sha256Hex(oracle.certs.get("ca-certificates.crt")!.type === "file" ? (oracle.certs.get("ca-certificates.crt") as { content: Buffer }).content : "") });
    expect(d.record.outputs.map((o) => o.path)).toEqual([...d.record.outputs.map((o) => o.path)].sort());
    for (const n of d.nodes) {
      expect(n.origin).toMatchObject({ kind: "derivation", recipe: "ca-certificates" });
      expect(n.mode).toBe(n.type === "symlink" ? 0o777 : 0o644);
    }
  });

  test("the same result whatever the Map's insertion order, and under C.UTF-8 for Debian too", () => {
    const deb = extractDeb(SNAPSHOT_DEB);
    const nodes = nodesFromDir(deb.root, { package: deb.name, version: deb.version });
    const reversed = new Map([...nodes].reverse());
    const a = caCertificates({ nodes }, { links: true });
    const b = caCertificates({ nodes: reversed }, { links: true });
    expect(b.record).toEqual(a.record);
    if (spawnSync("locale", ["-a"], { encoding: "utf8" }).stdout.split("\n").some((l) => /^C\.utf-?8$/i.test(l))) {
      compareWithOracle(a, runDebianCaInstall(deb.root, deb.control, "C.UTF-8"));
    }
  });

  test("tricky trees: missing final newline, CRLF, empty file, ( , names, same basename, symlinks, duplicates, hash collisions", () => {
    const deb = extractDeb(SNAPSHOT_DEB);
    const moz = join(deb.root, "usr/share/ca-certificates/mozilla");
    const pick = (n: string) => readFileSync(join(moz, n));
    // the whole package (the config script's built-in list names its certificates) plus oddities
    const base = join(tempDir("ca-tricky"), "root");
    cpSync(deb.root, base, { recursive: true, verbatimSymlinks: true });
    const dir = join(base, "usr/share/ca-certificates");
    for (const sub of ["/local", "/Z", "/a b"]) mkdirSync(dir + sub, { recursive: true });
    const isrg = pick("ISRG_Root_X1.crt");
    writeFileSync(join(dir, "local/no-final-newline.crt"), isrg.subarray(0, isrg.length - 1));
    writeFileSync(join(dir, "local/crlf.crt"), Buffer.from(pick("ISRG_Root_X2.crt").toString("latin1").replace(/\n/g, "\r\n"), "latin1"));
    writeFileSync(join(dir, "local/empty.crt"), "");
    writeFileSync(join(dir, "local/Paren(thesis),comma.crt"), pick("GTS_Root_R1.crt"));
    writeFileSync(join(dir, "Z/GTS_Root_R2.crt"), pick("GTS_Root_R2.crt")); // same basename as below: link replaced
    writeFileSync(join(dir, "local/GTS_Root_R2.crt"), pick("GTS_Root_R3.crt"));
    writeFileSync(join(dir, "local/dup-of-isrg.crt"), isrg); // identical certificate: one hash link
    writeFileSync(join(dir, "local/Firma1.crt"), pick("Autoridad_de_Certificacion_Firmaprofesional_CIF_A62634068.crt"));
    writeFileSync(join(dir, "local/firma2.crt"), pick("Autoridad_de_Certificacion_Firmaprofesional_CIF_A62634068_2.crt"));
    writeFileSync(join(dir, "local/Ünïcödé.crt"), pick("Certigna.crt"));
    writeFileSync(join(dir, "local/two-certs.crt"), Buffer.concat([pick("Certigna_Root_CA.crt"), pick("vTrus_Root_CA.crt")]));
    writeFileSync(join(dir, "local/not-a-cert.txt"), "x");
    writeFileSync(join(dir, "local/README.crt.orig"), "x");
    symlinkSync("../local/crlf.crt", join(dir, "Z/link.crt")); // find -type f skips symlinks
    writeFileSync(join(dir, "local/.crt"), pick("vTrus_ECC_Root_CA.crt"));
    writeFileSync(join(dir, "a b/with  two spaces.crt"), pick("TWCA_Global_Root_CA.crt")); // split by the shell: left out
    mkdirSync(join(dir, "b"));
    writeFileSync(join(dir, "b/with"), pick("TWCA_Root_Certification_Authority.crt")); // …but a piece that names a file is taken
    writeFileSync(join(dir, "local/comma,.crt"), pick("XRamp_Global_CA_Root.crt"));
    writeFileSync(join(dir, "1starts-with-one.crt"), pick("SecureTrust_CA.crt"));
    const nodes = nodesFromDir(base, { package: "test", version: "1" });
    const d = caCertificates({ nodes }, { links: true });
    compareWithOracle(d, runDebianCaInstall(base, deb.control));
    // the no-final-newline certificate gained exactly one newline
    const bundle = Buffer.from(d.nodes.find((n) => n.path === BUNDLE_PATH)!.content!);
    expect(bundle.includes(Buffer.concat([isrg.subarray(0, isrg.length - 1), Buffer.from("\n")]))).toBe(true);
  });

  test("links: false writes the bundle and conf only", () => {
    const deb = extractDeb(SNAPSHOT_DEB);
    const nodes = nodesFromDir(deb.root, { package: deb.name, version: deb.version });
    const d = caCertificates({ nodes }, { links: false });
    expect(d.nodes.map((n) => n.path)).toEqual([CONF_PATH, BUNDLE_PATH]);
    expect(d.record.options).toEqual({ links: false });
  });
});

describe.skipIf(!tools)("ca-certificates bundle vs this machine's /etc/ssl/certs", () => {
  const installed = spawnSync("dpkg-query", ["-W", "-f=${Version}", "ca-certificates"], { encoding: "utf8" });
  const installedVersion = installed.status === 0 ? installed.stdout.trim() : undefined;
  const snapshotVersion = tools ? spawnSync("dpkg-deb", ["-f", SNAPSHOT_DEB, "Version"], { encoding: "utf8" }).stdout.trim() : undefined;
  const same = installedVersion !== undefined && installedVersion === snapshotVersion && existsSync("/etc/ssl/certs/ca-certificates.crt");

  test.skipIf(!same)(`bundle and links equal the installed ${installedVersion ?? "(none)"} (skipped unless it is ${snapshotVersion})`, () => {
    const deb = extractDeb(SNAPSHOT_DEB);
    const d = caCertificates({ nodes: nodesFromDir(deb.root, { package: deb.name, version: deb.version }) }, { links: true });
    const ours = Buffer.from(d.nodes.find((n) => n.path === BUNDLE_PATH)!.content!);
    const machine = readFileSync("/etc/ssl/certs/ca-certificates.crt");
    // The machine's bundle may end with the administrator's local certificates
    // (/usr/local/share/ca-certificates, appended after the packaged ones): ours must be its
    // exact prefix and the rest nothing but those local certificates.
    expect(machine.subarray(0, ours.length).equals(ours)).toBe(true);
    const rest = machine.subarray(ours.length).toString("latin1");
    const blocks = rest.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    expect(rest.replace(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g, "").trim()).toBe("");
    const localDir = "/usr/local/share/ca-certificates";
    const local = existsSync(localDir) ? readdirSync(localDir).map((f) => readFileSync(join(localDir, f), "latin1")).join("\n") : "";
    for (const b of blocks) expect(local.includes(b)).toBe(true);

    // .pem links into /usr/share/ca-certificates: the same set, the same targets
    const machineLinks = new Map<string, string>();
    for (const name of readdirSync("/etc/ssl/certs")) {
      const p = join("/etc/ssl/certs", name);
      if (lstatSync(p).isSymbolicLink()) machineLinks.set(name, readlinkSync(p));
    }
    const ourLinks = new Map(d.nodes.filter((n) => n.type === "symlink").map((n) => [n.path.slice("/etc/ssl/certs/".length), n.target!]));
    const pkgPem = [...machineLinks].filter(([n, t]) => n.endsWith(".pem") && t.startsWith("/usr/share/ca-certificates/"));
    expect(new Map(pkgPem)).toEqual(new Map([...ourLinks].filter(([n]) => n.endsWith(".pem"))));
    // every hash link of ours exists on the machine with the same target
    for (const [n, t] of ourLinks) if (!n.endsWith(".pem")) expect(machineLinks.get(n), n).toBe(t);
  });
});

describe.skipIf(!tools)("ca-certificates 20250419~deb12u2 from the apt mirror vs Debian's scripts", () => {
  test("bundle, conf and links identical", async (ctx) => {
    const deb = await downloadNewer();
    if (typeof deb === "object") return ctx.skip(deb.skip);
    const x = extractDeb(deb);
    const d = caCertificates({ nodes: nodesFromDir(x.root, { package: x.name, version: x.version }) }, { links: true });
    compareWithOracle(d, runDebianCaInstall(x.root, x.control));
  });
});

/** Fetch the newer .deb from this machine's apt mirror (base URL read at run time). */
async function downloadNewer(): Promise<string | { skip: string }> {
  if (process.env.SCRATCH_PKGS_NO_LIVE) return { skip: "SCRATCH_PKGS_NO_LIVE is set" };
  const { readAptSources } = await import("../../src/sources/apt-sources.js");
  let bases: string[];
  try {
    bases = (await readAptSources()).flatMap((e) => e.uris);
  } catch (e) {
    return { skip: `cannot read this machine's apt sources: ${(e as Error).message}` };
  }
  const file = "ca-certificates_20250419~deb12u2_all.deb";
  for (const base of bases) {
    for (const pool of ["pool/updates/main", "pool/main"]) {
      try {
        const res = await fetch(`${base.replace(/\/$/, "")}/${pool}/c/ca-certificates/${file}`, { signal: AbortSignal.timeout(30_000) });
        if (!res.ok) continue;
        const out = join(tempDir("newer"), file);
        writeFileSync(out, Buffer.from(await res.arrayBuffer()));
        return out;
      } catch {
        // next candidate
      }
    }
  }
  return { skip: `no mirror in this machine's apt sources serves ${file} (offline, or not in its suites)` };
}

describe("ca-certificates recipe rules", () => {
  const node = (path: string, content = "x"): LayerNode => ({ path, type: "file", mode: 0o644, uid: 0, gid: 0, content: new TextEncoder().encode(content), origin: { kind: "package", package: "p", version: "1", architecture: "all", member: "." + path } });
  test(".pem names are mangled like update-ca-certificates", () => {
    expect(pemName("/usr/share/ca-certificates/mozilla/NetLock_Arany_(Class_Gold)_Főtanúsítvány.crt")).toBe("NetLock_Arany_=Class_Gold=_Főtanúsítvány.pem");
    expect(pemName("/x/a b,c.crt")).toBe("a_b_c.pem");
    expect(pemName("/x/.crt")).toBe(".crt.pem");
  });
  test("names the shell would expand or unescape are refused with a typed error", () => {
    for (const bad of ["a*.crt", "a?.crt", "[a].crt", "a\\b.crt"]) {
      const p = `/usr/share/ca-certificates/${bad}`;
      expect(() => caCertificates({ nodes: new Map([[p, node(p)]]) }, { links: true })).toThrow(DerivationError);
    }
  });
  test("no certificates: conf only, no bundle (update-ca-certificates writes none)", () => {
    const d = caCertificates({ nodes: new Map() }, { links: true });
    expect(d.nodes.map((n) => n.path)).toEqual([CONF_PATH]);
  });
});
