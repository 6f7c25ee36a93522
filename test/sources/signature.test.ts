import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { afterAll, describe, expect, it } from "vitest";
import { VerificationError } from "../../src/model/errors.js";
import { keyringFromKeys, loadKeyring, type Keyring } from "../../src/sources/keyring.js";
import { verifyClearsigned, verifyDetached } from "../../src/sources/signature.js";
import { clearsign, detachSign, makeKey, publicKeyring, revoke, type SignOptions, type TestKey } from "./pgp-helpers.js";

const IN_RELEASE = "snapshots/debian/dists/bookworm-updates/InRelease";
const BOOKWORM_KEYS = "keys/debian-archive-bookworm.asc";
const SECURITY_KEYS = "keys/debian-security-bookworm.asc";
const SYSTEM_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";
// A fixed verification time just after the snapshot's signatures (made 2026-11-21), so the
// outcome does not depend on when the tests run.
const SNAPSHOT_AT = new Date("2026-11-22T00:00:00Z");

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const has = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const tmp = mkdtempSync(join(tmpdir(), "scratch-pkgs-sig-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function rejection(p: Promise<unknown>): Promise<VerificationError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VerificationError);
  return e as VerificationError;
}

/** Run gpgv on `file` with the armored keys dearmored into a gpgv keyring; VALIDSIG lines' primary fingerprints. */
function gpgvPrimaryFingerprints(file: string, armoredKeyFile: string): string[] {
  const keyring = join(tmp, `gpgv-${Math.random().toString(36).slice(2)}.gpg`);
  execFileSync("gpg", ["--batch", "--yes", "--dearmor", "-o", keyring, armoredKeyFile], { stdio: "pipe" });
  const r = spawnSync("gpgv", ["--status-fd", "1", "--keyring", keyring, file], { encoding: "utf8" });
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("[GNUPG:] VALIDSIG "))
    .map((l) => l.trim().split(" ").pop()!);
}

describe("real Debian InRelease (snapshots/)", () => {
  const data = readFileSync(IN_RELEASE);

  it("verifies with the pinned bookworm keys and reports the 12/bookworm primary fingerprint", async () => {
    const keyring = await loadKeyring(BOOKWORM_KEYS);
    const v = await verifyClearsigned(data, keyring, { label: IN_RELEASE, at: SNAPSHOT_AT });
    // The accepted key is the one whose user ID names 12/bookworm (openpgp's own reading of the key).
    const key = keyring.keys.find((k) => k.getFingerprint().toUpperCase() === v.fingerprint)!;
    expect(key.getUserIDs().join()).toContain("Archive Automatic Signing Key (12/bookworm)");
    // It signed through a subkey, as Debian's archive keys do.
    expect(key.getKeyID().toHex().toUpperCase()).not.toBe(v.signingKeyId);
    expect(key.getKeys().map((k) => k.getKeyID().toHex().toUpperCase())).toContain(v.signingKeyId);
    // The text is the signed part only: it starts at the first field and holds no armor.
    expect(v.text.startsWith("Origin: Debian\n")).toBe(true);
    expect(v.text).not.toContain("PGP");
    expect(readFileSync(IN_RELEASE, "utf8")).toContain(v.text);
  });

  it.skipIf(!has("gpgv") || !has("gpg"))("agrees with gpgv on the signing key (cross-check; skipped without gpg/gpgv)", async () => {
    const keyring = await loadKeyring(BOOKWORM_KEYS);
    const v = await verifyClearsigned(readFileSync(IN_RELEASE), keyring, { label: IN_RELEASE, at: SNAPSHOT_AT });
    const fromGpgv = gpgvPrimaryFingerprints(IN_RELEASE, BOOKWORM_KEYS);
    expect(fromGpgv.length).toBeGreaterThan(0);
    // We accept the first good signature in file order; gpgv lists them in the same order.
    expect(v.fingerprint).toBe(fromGpgv[0]);
  });

  it.skipIf(!existsSync(SYSTEM_KEYRING))(`verifies with the binary ${SYSTEM_KEYRING} (skipped where it is not installed)`, async () => {
    const keyring = await loadKeyring(SYSTEM_KEYRING);
    const pinned = await verifyClearsigned(data, await loadKeyring(BOOKWORM_KEYS), { label: IN_RELEASE, at: SNAPSHOT_AT });
    const v = await verifyClearsigned(data, keyring, { label: IN_RELEASE, at: SNAPSHOT_AT });
    expect(v.fingerprint).toBe(pinned.fingerprint);
    expect(v.text).toBe(pinned.text);
  });

  it("fails with the security keyring: no pinned key signed it", async () => {
    const keyring = await loadKeyring(SECURITY_KEYS);
    const e = await rejection(verifyClearsigned(data, keyring, { label: "https://mirror.test/InRelease", at: SNAPSHOT_AT }));
    expect(e.message).toContain("https://mirror.test/InRelease");
    expect(e.message).toContain(SECURITY_KEYS);
    // Each signature's key ID is listed with its reason (IDs from gpgv's view of the file: see the cross-check).
    expect(e.message).toMatch(/key [0-9A-F]{16}: no such key in the keyring[\s\S]*key [0-9A-F]{16}: no such key/);
    expect(e.hint).toMatch(/signing key/);
    expect(e.exitCode).toBe(1);
  });

  it("fails once a byte of the signed text changes", async () => {
    const text = readFileSync(IN_RELEASE, "utf8").replace("Codename: bookworm-updates", "Codename: bookworm-updatez");
    const e = await rejection(verifyClearsigned(enc(text), await loadKeyring(BOOKWORM_KEYS), { label: "x", at: SNAPSHOT_AT }));
    expect(e.message).toMatch(/bad signature/);
  });
});

// Fixed times, so nothing depends on the clock: keys are made at KEY_DATE, sign at SIGN_DATE,
// and are checked at NOW.
const KEY_DATE = new Date("2025-01-01T00:00:00Z");
const SIGN_DATE = new Date("2025-06-01T00:00:00Z");
const NOW = new Date("2025-06-02T00:00:00Z");
const DAY = 86400_000;

// Keys are slow-ish to make: generate each once for the whole file.
const keysPromise = (async () => {
  const [rsa, rsa3072sub, ed, unknown] = await Promise.all([
    makeKey({ type: "rsa", date: KEY_DATE }),
    makeKey({ type: "rsa", rsaBits: 3072, signingSubkey: true, date: KEY_DATE }),
    makeKey({ type: "ecc", date: KEY_DATE }),
    makeKey({ type: "ecc", date: KEY_DATE }),
  ]);
  return { rsa, rsa3072sub, ed, unknown };
})();

async function ring(...keys: TestKey[]): Promise<Keyring> {
  return keyringFromKeys("test-keyring.asc", keys.map((k) => k.publicKey));
}

const RELEASE = [
  "Origin: Test",
  "Suite: stable",
  "Date: Sat, 21 Nov 2026 02:10:46 UTC",
  "Description: lines starting with dashes must be escaped",
  "-----BEGIN PGP SIGNED MESSAGE-----",
  "- not a list",
  "SHA256:",
  " e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 main/binary-amd64/Packages",
].join("\n");

const sign = (text: string, keys: TestKey | TestKey[], opts: SignOptions = {}): Promise<string> =>
  clearsign(text, keys, { date: SIGN_DATE, ...opts });
const detach = (bytes: Uint8Array, keys: TestKey | TestKey[], opts: SignOptions = {}): Promise<string> =>
  detachSign(bytes, keys, { date: SIGN_DATE, ...opts });

describe("generated keys: clear-signed", () => {
  it("accepts a good signature (RSA 2048, Ed25519, RSA 3072 signing subkey) and returns exactly the signed text", async () => {
    const { rsa, ed, rsa3072sub } = await keysPromise;
    for (const key of [rsa, ed, rsa3072sub]) {
      const signed = await sign(RELEASE, key);
      expect(signed).toContain("- -----BEGIN PGP SIGNED MESSAGE-----"); // dash-escaped in the armor
      const v = await verifyClearsigned(enc(signed), await ring(key), { label: "t", at: NOW });
      expect(v.text).toBe(RELEASE);
      expect(v.fingerprint).toBe(key.fingerprint);
      expect(v.signingKeyId).toBe(key.signingKeyId);
    }
    // With a signing subkey the reported fingerprint is still the primary's.
    expect(rsa3072sub.signingKeyId).not.toBe(rsa3072sub.fingerprint.slice(-16));
  });

  it("accepts CRLF line ends and drops trailing blanks the way the signature hashed them", async () => {
    const { ed } = await keysPromise;
    const signed = await sign("A: 1  \nB: 2\t\n", ed);
    for (const variant of [signed.replace(/\r?\n/g, "\r\n"), signed.replace(/\r\n/g, "\n")]) {
      const v = await verifyClearsigned(enc(variant), await ring(ed), { label: "t", at: NOW });
      expect(v.text).toBe("A: 1\nB: 2\n");
    }
  });

  it("ignores a signature by an unknown key when another is good", async () => {
    const { unknown, rsa } = await keysPromise;
    const signed = await sign(RELEASE, [unknown, rsa]);
    const v = await verifyClearsigned(enc(signed), await ring(rsa), { label: "t", at: NOW });
    expect(v.fingerprint).toBe(rsa.fingerprint);
  });

  it("rejects a message signed only by an unknown key, naming the key", async () => {
    const { unknown, rsa } = await keysPromise;
    const signed = await sign(RELEASE, unknown);
    const e = await rejection(verifyClearsigned(enc(signed), await ring(rsa), { label: "http://127.0.0.1/dists/x/InRelease", at: NOW }));
    expect(e.message).toContain("http://127.0.0.1/dists/x/InRelease");
    expect(e.message).toContain(`key ${unknown.signingKeyId}: no such key in the keyring`);
  });

  it("rejects tampered text (one byte changed)", async () => {
    const { rsa, ed } = await keysPromise;
    const signed = await sign(RELEASE, [rsa, ed]);
    const tampered = signed.replace("Suite: stable", "Suite: stabla");
    expect(tampered).not.toBe(signed);
    const e = await rejection(verifyClearsigned(enc(tampered), await ring(rsa, ed), { label: "t", at: NOW }));
    expect(e.message).toContain(`key ${rsa.signingKeyId}: bad signature`);
    expect(e.message).toContain(`key ${ed.signingKeyId}: bad signature`);
  });

  it("rejects a signature by a key that has expired at `at`, though it was valid when signing", async () => {
    const key = await makeKey({ type: "ecc", date: KEY_DATE, expiresInSeconds: 10 * 86400 });
    const signed = await sign(RELEASE, key, { date: new Date(KEY_DATE.getTime() + DAY) });
    const keyring = await ring(key);
    // Valid while the key lives…
    const ok = await verifyClearsigned(enc(signed), keyring, { label: "t", at: new Date(KEY_DATE.getTime() + 2 * DAY) });
    expect(ok.fingerprint).toBe(key.fingerprint);
    // …and refused once it has expired.
    const e = await rejection(verifyClearsigned(enc(signed), keyring, { label: "t", at: new Date(KEY_DATE.getTime() + 11 * DAY) }));
    expect(e.message).toContain(`key ${key.signingKeyId}: key not valid at`);
    expect(e.message).toMatch(/expired/i);
  });

  it("accepts a key expired since it signed when judged at signature time (snapshots), but never a revoked one", async () => {
    const key = await makeKey({ type: "rsa", date: KEY_DATE, expiresInSeconds: 10 * 86400, signingSubkey: true });
    const signed = await sign(RELEASE, key, { date: new Date(KEY_DATE.getTime() + DAY) });
    const later = new Date(KEY_DATE.getTime() + 400 * DAY);
    const ok = await verifyClearsigned(enc(signed), await ring(key), { label: "t", at: later, keyValidity: "signature-time" });
    expect(ok.fingerprint).toBe(key.fingerprint);
    // The same file judged "now" is refused: the key has expired.
    await rejection(verifyClearsigned(enc(signed), await ring(key), { label: "t", at: later }));
    // A revocation made after the signature still counts at signature time.
    const revoked = await revoke(key, new Date(KEY_DATE.getTime() + 2 * DAY));
    const e = await rejection(verifyClearsigned(enc(signed), await ring(revoked), { label: "t", at: later, keyValidity: "signature-time" }));
    expect(e.message).toMatch(/revoked/i);
  });

  it("rejects a signature dated after `at`", async () => {
    const { ed } = await keysPromise;
    const signed = await sign(RELEASE, ed, { date: new Date(NOW.getTime() + 3600_000) });
    const e = await rejection(verifyClearsigned(enc(signed), await ring(ed), { label: "t", at: NOW }));
    expect(e.message).toMatch(/future/i);
  });

  it("rejects a signature by a key revoked after it signed", async () => {
    const key = await makeKey({ type: "rsa", date: KEY_DATE });
    const signed = await sign(RELEASE, key);
    const revoked = await revoke(key, new Date(SIGN_DATE.getTime() + 3600_000));
    expect(await revoked.publicKey.isRevoked(undefined, undefined, NOW)).toBe(true);
    // Good with the key as it was…
    await verifyClearsigned(enc(signed), await ring(key), { label: "t", at: NOW });
    // …refused once the keyring carries the revocation.
    const e = await rejection(verifyClearsigned(enc(signed), await ring(revoked), { label: "t", at: NOW }));
    expect(e.message).toMatch(/revoked/i);
  });

  it("rejects a SHA-1 signature that is otherwise cryptographically valid", async () => {
    const { rsa } = await keysPromise;
    const signed = await sign(RELEASE, rsa, { hash: "sha1" });
    expect(signed).toContain("Hash: SHA1");
    // Proof that the signature itself is sound: openpgp accepts it when told to allow SHA-1.
    const msg = await openpgp.readCleartextMessage({ cleartextMessage: signed });
    const lax = await openpgp.verify({
      message: msg,
      verificationKeys: rsa.publicKey,
      config: { rejectMessageHashAlgorithms: new Set(), rejectHashAlgorithms: new Set() },
    });
    await expect(lax.signatures[0]!.verified).resolves.toBe(true);
    const e = await rejection(verifyClearsigned(enc(signed), await ring(rsa), { label: "t", at: NOW }));
    expect(e.message).toMatch(/SHA1/);
  });

  it("accepts SHA-256 and SHA-512 signatures made by hand", async () => {
    const { rsa } = await keysPromise;
    for (const hash of ["sha256", "sha512"] as const) {
      const signed = await sign(RELEASE, rsa, { hash });
      expect((await verifyClearsigned(enc(signed), await ring(rsa), { label: "t", at: NOW })).text).toBe(RELEASE);
    }
  });

  describe("framing pitfalls", () => {
    const bad: Array<[string, (s: string) => string, RegExp]> = [
      ["text before the BEGIN line", (s) => "Origin: Evil\n\n" + s, /expected "-----BEGIN PGP SIGNED MESSAGE-----" first/],
      ["text after the signature", (s) => s + "Origin: Evil\n", /after "-----END PGP SIGNATURE-----"/],
      ["a second signed message", (s) => s + s, /after "-----END PGP SIGNATURE-----"/],
      ["an unescaped dash line in the text", (s) => s.replace("Suite: stable", "-----BEGIN PGP SIGNATURE-----x\nSuite: stable"), /not dash-escaped/],
      ["an armor header other than Hash", (s) => s.replace(/^Hash: .*$/m, "$&\nComment: hi"), /only "Hash:"/],
      ["a truncated signature", (s) => s.slice(0, s.indexOf("-----END")), /truncated/],
      ["a missing signature", (s) => s.slice(0, s.indexOf("-----BEGIN PGP SIGNATURE")), /truncated/],
      ["a bare CR inside a line", (s) => s.replace("Suite: stable", "Suite: stable\rOrigin: x"), /carriage return/],
    ];
    for (const [name, mutate, why] of bad) {
      it(`rejects ${name}`, async () => {
        const { rsa } = await keysPromise;
        const signed = await sign(RELEASE, rsa);
        const e = await rejection(verifyClearsigned(enc(mutate(signed)), await ring(rsa), { label: "lbl", at: NOW }));
        expect(e.message).toContain("lbl: not a valid clear-signed InRelease");
        expect(e.message).toMatch(why);
      });
    }

    it("allows blank lines around the message", async () => {
      const { rsa } = await keysPromise;
      const signed = await sign(RELEASE, rsa);
      const v = await verifyClearsigned(enc("\n  \n" + signed + "\n\n"), await ring(rsa), { label: "t", at: NOW });
      expect(v.text).toBe(RELEASE);
    });

    it("rejects invalid UTF-8", async () => {
      const { rsa } = await keysPromise;
      const bytes = enc(await sign(RELEASE, rsa));
      const i = bytes.indexOf("O".charCodeAt(0), 60);
      bytes[i] = 0xff;
      const e = await rejection(verifyClearsigned(bytes, await ring(rsa), { label: "t", at: NOW }));
      expect(e.message).toMatch(/UTF-8/);
    });
  });

  it.skipIf(!has("gpgv") || !has("gpg"))("produces files gpgv accepts (the helpers make real InRelease files)", async () => {
    const { rsa, ed } = await keysPromise;
    const file = join(tmp, "InRelease");
    writeFileSync(file, await sign(RELEASE, [rsa, ed]));
    const keys = join(tmp, "keys.asc");
    writeFileSync(keys, publicKeyring([rsa, ed]));
    expect(gpgvPrimaryFingerprints(file, keys)).toEqual([rsa.fingerprint, ed.fingerprint]);
  });
});

describe("generated keys: detached (Release + Release.gpg)", () => {
  const release = enc(RELEASE + "\n");

  it("accepts a good detached signature, armored or binary", async () => {
    const { rsa3072sub, ed } = await keysPromise;
    const armored = await detach(release, [rsa3072sub, ed]);
    const v = await verifyDetached(release, enc(armored), await ring(rsa3072sub), { label: "Release", at: NOW });
    expect(v.text).toBe(RELEASE + "\n");
    expect(v.fingerprint).toBe(rsa3072sub.fingerprint);
    expect(v.signingKeyId).toBe(rsa3072sub.signingKeyId);
    const binary = (await openpgp.readSignature({ armoredSignature: armored })).write() as Uint8Array;
    const vb = await verifyDetached(release, binary, await ring(ed), { label: "Release", at: NOW });
    expect(vb.fingerprint).toBe(ed.fingerprint);
  });

  it("rejects a detached signature over other bytes", async () => {
    const { rsa } = await keysPromise;
    const sig = enc(await detach(release, rsa));
    const other = enc(RELEASE.replace("stable", "stabla") + "\n");
    const e = await rejection(verifyDetached(other, sig, await ring(rsa), { label: "Release", at: NOW }));
    expect(e.message).toContain(`key ${rsa.signingKeyId}: bad signature`);
  });

  it("rejects an unknown key, a SHA-1 signature, and garbage around the armor", async () => {
    const { rsa, unknown } = await keysPromise;
    await rejection(verifyDetached(release, enc(await detach(release, unknown)), await ring(rsa), { label: "R", at: NOW }));
    const weak = await rejection(verifyDetached(release, enc(await detach(release, rsa, { hash: "sha1" })), await ring(rsa), { label: "R", at: NOW }));
    expect(weak.message).toMatch(/SHA1/);
    const good = await detach(release, rsa);
    const junk = await rejection(verifyDetached(release, enc(good + "junk\n"), await ring(rsa), { label: "R", at: NOW }));
    expect(junk.message).toContain("R (detached signature)");
  });
});
