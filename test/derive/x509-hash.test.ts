// The subject hash against `openssl x509 -subject_hash` on every certificate of the snapshot
// package and on certificates made here with awkward names (case, white space, multi-valued
// RDNs, BMPString, T61String, IA5String, empty subject).
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { rehashableCert } from "../../src/derive/x509-hash.js";
import { extractDeb, hasCommand, run, tempDir, removeTempDirs } from "./helpers.js";

afterAll(removeTempDirs);

const tools = hasCommand("openssl") && hasCommand("dpkg-deb");
const opensslHash = (file: string) => run("openssl", ["x509", "-subject_hash", "-noout", "-in", file]).trim();
const opensslSha1 = (file: string) => run("openssl", ["x509", "-fingerprint", "-sha1", "-noout", "-in", file]).trim().split("=")[1]!.replace(/:/g, "").toLowerCase();

describe.skipIf(!tools)("OpenSSL subject hash", () => {
  test("every certificate in ca-certificates 20230311+deb12u1", () => {
    const deb = extractDeb("snapshots/debian/pool/main/c/ca-certificates/ca-certificates_20230311+deb12u1_all.deb");
    const dir = join(deb.root, "usr/share/ca-certificates/mozilla");
    const files = readdirSync(dir).sort();
    expect(files.length).toBeGreaterThan(100);
    // one openssl run for all: print hash and fingerprint per file
    const script = files.map((f) => `openssl x509 -subject_hash -fingerprint -sha1 -noout -in '${join(dir, f)}'`).join(" && ");
    const out = run("sh", ["-c", script]).trim().split("\n");
    files.forEach((f, i) => {
      const info = rehashableCert(readFileSync(join(dir, f)));
      expect(info?.subjectHash, f).toBe(out[2 * i]);
      expect(info?.sha1, f).toBe(out[2 * i + 1]!.split("=")[1]!.replace(/:/g, "").toLowerCase());
    });
  });

  const subjects: Array<{ subj: string; mask?: string; extra?: string[] }> = [
    { subj: "/CN=  Hello   World  /O=ACME Corp" },
    { subj: "/C=DE/O=Grüße  GmbH/CN=Ünïcödé  Root", mask: "pkix" }, // non-ASCII as BMPString
    { subj: "/C=DE/O=Grüße GmbH/CN=Straße", mask: "nombstr" }, // non-ASCII as T61String
    { subj: "/CN=UPPER lower/emailAddress=Root@Example.COM" }, // emailAddress is an IA5String
    { subj: "/O=Multi+OU=Valued+CN=rdn/C=FR", extra: ["-multivalue-rdn"] },
    { subj: "/CN=tab\there/serialNumber=12 34" },
  ];
  test.each(subjects)("made with openssl req: $subj", ({ subj, mask, extra }) => {
    const dir = tempDir("x509");
    const cnf = join(dir, "req.cnf");
    writeFileSync(cnf, `[req]\ndistinguished_name=dn\nstring_mask=${mask ?? "utf8only"}\n[dn]\n`);
    const cert = join(dir, "c.pem");
    const r = spawnSync("openssl", ["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "k.pem"), "-out", cert, "-days", "1", "-config", cnf, "-utf8", "-subj", subj, ...(extra ?? [])], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const info = rehashableCert(readFileSync(cert));
    expect(info?.subjectHash).toBe(opensslHash(cert));
    expect(info?.sha1).toBe(opensslSha1(cert));
  });

  test("files rehash would skip: none or several certificates, garbage", () => {
    const deb = extractDeb("snapshots/debian/pool/main/c/ca-certificates/ca-certificates_20230311+deb12u1_all.deb");
    const a = readFileSync(join(deb.root, "usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt"));
    expect(rehashableCert(Buffer.concat([a, a]))).toBeUndefined();
    expect(rehashableCert(Buffer.from("hello"))).toBeUndefined();
    expect(rehashableCert(Buffer.from("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))).toBeUndefined();
  });
});
