/**
 * Real, self-signed X.509 certificates (PEM) for the fake ca-certificates package: the
 * ca-certificates recipe computes OpenSSL subject hashes, so the fixture needs real DER.
 * Made with `openssl req -x509` when openssl is installed, else with node:crypto and a small
 * DER writer (Ed25519). Made once per process and cached.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The subjects' common names, one certificate each. */
export const CERT_NAMES = ["Fixture Root CA 1", "Fixture Root CA 2", "Fixture Root CA 3"] as const;

let cached: string[] | undefined;

export function hasOpenssl(): boolean {
  return spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
}

/** One PEM certificate per CERT_NAMES entry, in that order. */
export function fixtureCertificates(): string[] {
  cached ??= CERT_NAMES.map((cn) => (hasOpenssl() ? opensslCertificate(cn) : nodeCertificate(cn)));
  return cached;
}

function opensslCertificate(cn: string): string {
  const dir = mkdtempSync(join(tmpdir(), "scratch-pkgs-cert-"));
  try {
    const out = join(dir, "cert.pem");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", out, "-subj", `/C=NL/O=scratch-pkgs tests/CN=${cn}`, "-days", "1"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    return readFileSync(out, "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------- node:crypto fallback

function der(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), content]);
}
const seq = (...parts: Uint8Array[]): Buffer => der(0x30, Buffer.concat(parts));
const set = (...parts: Uint8Array[]): Buffer => der(0x31, Buffer.concat(parts));
const utf8 = (s: string): Buffer => der(0x0c, Buffer.from(s, "utf8"));
const printable = (s: string): Buffer => der(0x13, Buffer.from(s, "ascii"));
const utcTime = (s: string): Buffer => der(0x17, Buffer.from(s, "ascii"));

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const bytes = [a * 40 + b];
  for (const v of rest) {
    const chunk = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) chunk.unshift((x & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

/** A self-signed Ed25519 certificate for C=NL, O=scratch-pkgs tests, CN=cn. */
export function nodeCertificate(cn: string): string {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const name = seq(set(seq(oid("2.5.4.6"), printable("NL"))), set(seq(oid("2.5.4.10"), utf8("scratch-pkgs tests"))), set(seq(oid("2.5.4.3"), utf8(cn))));
  const algorithm = seq(oid("1.3.101.112"));
  const serial = der(0x02, Buffer.from([0x01, ...Buffer.from(cn).subarray(-8)]));
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // version v3
    serial,
    algorithm,
    name,
    seq(utcTime("240101000000Z"), utcTime("340101000000Z")),
    name,
    publicKey.export({ format: "der", type: "spki" }),
  );
  const signature = sign(null, tbs, privateKey);
  const cert = seq(tbs, algorithm, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = cert.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
