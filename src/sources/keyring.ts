/**
 * Load the public keys that a source pins: an armored file (one or several PUBLIC KEY BLOCKs,
 * each possibly holding several keys, like keys/*.asc) or a binary gpg keyring (concatenated
 * transferable public keys, like /usr/share/keyrings/debian-archive-keyring.gpg).
 * Read and parsed in two steps: a warm `lock` needs only the file's sha256 (its signature
 * verdicts are keyed by it), so openpgp is loaded only when a signature must be checked.
 */
import { readFile } from "node:fs/promises";
import type * as openpgp from "openpgp";
import { IOError, ManifestError } from "../model/errors.js";
import { sha256Hex } from "../util/hash.js";

export interface Keyring {
  file: string;
  keys: openpgp.PublicKey[];
  /** Primary key fingerprints, upper-case hex, sorted. */
  fingerprints: string[];
}

const FIELD = "keyring";
const HINT = "Point the source's \"keyring\" at an OpenPGP public keyring, e.g. one of keys/*.asc.";

/** A source's keyring file, read but not parsed. */
export interface PinnedKeyring {
  file: string;
  /** Of the file's bytes: what a signature verdict was judged against. */
  sha256: string;
  /** The keys, parsed on first use (ManifestError when the file holds none or a secret one). */
  parse(): Promise<Keyring>;
}

export async function loadKeyring(path: string): Promise<Keyring> {
  return (await readKeyring(path)).parse();
}

export async function readKeyring(path: string): Promise<PinnedKeyring> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new IOError(`cannot read keyring ${path}: ${code}`, {
      hint: "Check the source's \"keyring\" path in scratch.json (relative paths are resolved from the manifest's folder).",
      cause: e,
    });
  }
  let parsed: Promise<Keyring> | undefined;
  return {
    file: path,
    sha256: sha256Hex(bytes),
    parse: () => (parsed ??= parseKeyring(bytes, path).then((keys) => keyringFromKeys(path, keys))),
  };
}

/** Parse keyring bytes; `file` names them in errors. */
async function parseKeyring(bytes: Uint8Array, file: string): Promise<openpgp.PublicKey[]> {
  const first = bytes.findIndex((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
  if (first < 0) throw new ManifestError(file, FIELD, "the file is empty: it holds no OpenPGP public key", { hint: HINT });
  const pgp = await import("openpgp");
  let keys: openpgp.Key[];
  if ((bytes[first]! & 0x80) !== 0) {
    // Every binary OpenPGP packet header has its top bit set.
    keys = await readBinary(pgp, bytes, file);
  } else {
    keys = await readArmored(pgp, new TextDecoder("utf-8").decode(bytes), file);
  }
  if (keys.some((k) => k.isPrivate())) {
    throw new ManifestError(file, FIELD, "holds a secret key; a keyring must hold public keys only", {
      hint: "Export the public part (gpg --export KEYID > keyring.gpg) and keep the secret key out of the project.",
    });
  }
  if (keys.length === 0) throw new ManifestError(file, FIELD, "holds no OpenPGP public key", { hint: HINT });
  return keys as openpgp.PublicKey[];
}

type OpenPgp = typeof openpgp;

async function readBinary(pgp: OpenPgp, bytes: Uint8Array, file: string): Promise<openpgp.Key[]> {
  try {
    return await pgp.readKeys({ binaryKeys: bytes });
  } catch (e) {
    throw new ManifestError(file, FIELD, `not a valid OpenPGP keyring: ${(e as Error).message}`, { hint: HINT, cause: e });
  }
}

const BLOCK = /^-----BEGIN PGP ([A-Z0-9 ,/]+)-----[ \t\r]*$[\s\S]*?^-----END PGP \1-----[ \t\r]*$/gm;

async function readArmored(pgp: OpenPgp, text: string, file: string): Promise<openpgp.Key[]> {
  const keys: openpgp.Key[] = [];
  let blocks = 0;
  for (const m of text.matchAll(BLOCK)) {
    blocks++;
    const type = m[1]!;
    if (type === "PRIVATE KEY BLOCK") {
      throw new ManifestError(file, FIELD, "holds a PGP PRIVATE KEY BLOCK; a keyring must hold public keys only", {
        hint: "Export the public part (gpg --armor --export KEYID) and keep the secret key out of the project.",
      });
    }
    if (type !== "PUBLIC KEY BLOCK") {
      throw new ManifestError(file, FIELD, `holds a PGP ${type}, not a PUBLIC KEY BLOCK`, { hint: HINT });
    }
    try {
      keys.push(...(await pgp.readKeys({ armoredKeys: m[0] })));
    } catch (e) {
      throw new ManifestError(file, FIELD, `public key block ${blocks} is not valid: ${(e as Error).message}`, {
        hint: HINT,
        cause: e,
      });
    }
  }
  if (blocks === 0) {
    throw new ManifestError(file, FIELD, "holds no OpenPGP public key (no -----BEGIN PGP PUBLIC KEY BLOCK----- found)", {
      hint: HINT,
    });
  }
  return keys;
}

/**
 * A Keyring from parsed keys. The same key listed twice (e.g. once with a later revocation) is
 * merged, so that every signature openpgp knows of for it counts.
 */
export async function keyringFromKeys(file: string, keys: openpgp.PublicKey[]): Promise<Keyring> {
  const byFingerprint = new Map<string, openpgp.PublicKey>();
  for (const key of keys) {
    const fp = key.getFingerprint().toUpperCase();
    const prev = byFingerprint.get(fp);
    byFingerprint.set(fp, prev ? await prev.update(key) : key);
  }
  const fingerprints = [...byFingerprint.keys()].sort();
  return { file, keys: fingerprints.map((fp) => byFingerprint.get(fp)!), fingerprints };
}
