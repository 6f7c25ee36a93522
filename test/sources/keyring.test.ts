import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IOError, ManifestError } from "../../src/model/errors.js";
import { loadKeyring } from "../../src/sources/keyring.js";
import { makeKey, publicKeyring, revoke } from "./pgp-helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "scratch-pkgs-keyring-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, content: string | Uint8Array): string => {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
};
const hasGpg = spawnSync("sh", ["-c", "command -v gpg"]).status === 0;
const SYSTEM_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

/** Primary fingerprints as gpg sees them (an independent OpenPGP implementation). */
function gpgFingerprints(path: string): string[] {
  const r = spawnSync("gpg", ["--batch", "--with-colons", "--show-keys", path], { encoding: "utf8" });
  const lines = r.stdout.split("\n");
  // The first "fpr" record after each "pub" is the primary's ("rvk" records may come between).
  const out: string[] = [];
  let wantPrimary = false;
  for (const l of lines) {
    if (l.startsWith("pub:")) wantPrimary = true;
    else if (l.startsWith("sub:")) wantPrimary = false;
    else if (l.startsWith("fpr:") && wantPrimary) {
      out.push(l.split(":")[9]!);
      wantPrimary = false;
    }
  }
  return out.sort();
}

async function rejects<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T): Promise<T> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(type);
  return e as T;
}

describe("loadKeyring: the pinned Debian keys", () => {
  // Long key IDs that keys/README.md names for each file.
  const expected: Record<string, string[]> = {
    "keys/debian-archive-bookworm.asc": ["B7C5D7D6350947F8", "F8D2585B8783D481", "225629DF75B188BD"],
    "keys/debian-security-bookworm.asc": ["254CF3B5AEC0A8F0", "9904613D4CCE68C6"],
  };
  for (const [path, ids] of Object.entries(expected)) {
    it(`reads ${path}`, async () => {
      const kr = await loadKeyring(path);
      expect(kr.file).toBe(path);
      expect(kr.keys).toHaveLength(ids.length);
      expect(kr.fingerprints).toEqual([...kr.fingerprints].sort());
      expect(kr.fingerprints.map((f) => f.slice(-16)).sort()).toEqual([...ids].sort());
      for (const f of kr.fingerprints) expect(f).toMatch(/^[0-9A-F]{40}$/);
      if (hasGpg) expect(kr.fingerprints).toEqual(gpgFingerprints(path));
    });
  }

  it("reads every keys/*.asc", async () => {
    for (const name of ["debian-archive-trixie.asc", "debian-security-trixie.asc"]) {
      const kr = await loadKeyring(join("keys", name));
      expect(kr.keys.length).toBeGreaterThanOrEqual(2);
      if (hasGpg) expect(kr.fingerprints).toEqual(gpgFingerprints(join("keys", name)));
    }
  });

  it.skipIf(!existsSync(SYSTEM_KEYRING) || !hasGpg)(`reads the binary ${SYSTEM_KEYRING} like gpg does (skipped where absent)`, async () => {
    const kr = await loadKeyring(SYSTEM_KEYRING);
    expect(kr.fingerprints).toEqual(gpgFingerprints(SYSTEM_KEYRING));
    const bookworm = await loadKeyring("keys/debian-archive-bookworm.asc");
    for (const f of bookworm.fingerprints) expect(kr.fingerprints).toContain(f);
  });
});

describe("loadKeyring: formats and refusals", () => {
  const keys = Promise.all([makeKey({ type: "ecc" }), makeKey({ type: "rsa" })]);

  it("reads several armored blocks in one file, and several keys in one block", async () => {
    const [a, b] = await keys;
    const twoBlocks = await loadKeyring(file("two-blocks.asc", `${a!.armoredPublicKey}\n${b!.armoredPublicKey}`));
    const oneBlock = await loadKeyring(file("one-block.asc", publicKeyring([a!, b!])));
    const expected = [a!.fingerprint, b!.fingerprint].sort();
    expect(twoBlocks.fingerprints).toEqual(expected);
    expect(oneBlock.fingerprints).toEqual(expected);
  });

  it("reads a binary keyring (concatenated transferable public keys)", async () => {
    const [a, b] = await keys;
    const bin = Buffer.concat([a!.publicKey.write(), b!.publicKey.write()]);
    const kr = await loadKeyring(file("bin.gpg", bin));
    expect(kr.fingerprints).toEqual([a!.fingerprint, b!.fingerprint].sort());
    if (hasGpg) expect(gpgFingerprints(join(tmp, "bin.gpg"))).toEqual(kr.fingerprints);
  });

  it("merges a key listed twice, keeping its revocation", async () => {
    const [a] = await keys;
    const revoked = await revoke(a!);
    const kr = await loadKeyring(file("dup.asc", `${a!.armoredPublicKey}\n${revoked.armoredPublicKey}`));
    expect(kr.fingerprints).toEqual([a!.fingerprint]);
    expect(await kr.keys[0]!.isRevoked()).toBe(true);
  });

  it("refuses secret keys, armored or binary", async () => {
    const [a] = await keys;
    const armored = await rejects(loadKeyring(file("secret.asc", a!.privateKey.armor())), ManifestError);
    expect(armored.message).toContain("secret.asc");
    expect(armored.message).toMatch(/PRIVATE KEY|secret/);
    const binary = await rejects(loadKeyring(file("secret.gpg", a!.privateKey.write())), ManifestError);
    expect(binary.message).toMatch(/secret key/);
  });

  it("says clearly when the file holds no public key", async () => {
    for (const [name, content] of [
      ["empty.asc", ""],
      ["readme.asc", "just some text\n"],
      ["garbage.gpg", new Uint8Array([0x99, 0x01, 0x02, 0x03])],
    ] as const) {
      const e = await rejects(loadKeyring(file(name, content)), ManifestError);
      expect(e.message).toContain(name);
      expect(e.message).toContain("keyring");
      expect(e.hint).toBeTruthy();
    }
    const sig = await rejects(loadKeyring(file("sig.asc", "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n")), ManifestError);
    expect(sig.message).toMatch(/not a PUBLIC KEY BLOCK/);
  });

  it("reports an unreadable file as IOError", async () => {
    const e = await rejects(loadKeyring(join(tmp, "missing.asc")), IOError);
    expect(e.message).toContain("missing.asc");
    expect(e.message).toContain("ENOENT");
  });

  it.skipIf(!hasGpg)("reads the same keys from the armored and the gpg-dearmored form (skipped without gpg)", async () => {
    const out = join(tmp, "bookworm.gpg");
    spawnSync("gpg", ["--batch", "--yes", "--dearmor", "-o", out, "keys/debian-archive-bookworm.asc"]);
    expect(readFileSync(out)[0]! & 0x80).toBe(0x80);
    expect((await loadKeyring(out)).fingerprints).toEqual((await loadKeyring("keys/debian-archive-bookworm.asc")).fingerprints);
  });
});
