/**
 * OpenPGP helpers for tests: make throw-away signing keys and sign Release files the way an
 * archive does (clear-signed InRelease, detached Release.gpg). Keys are generated with openpgp,
 * never read from disk, so the tests need no secrets.
 *
 * Stable API (the fixture archive generator imports it): makeKey, clearsign, detachSign, revoke,
 * publicKeyring.
 */
import * as openpgp from "openpgp";

export interface TestKey {
  privateKey: openpgp.PrivateKey;
  publicKey: openpgp.PublicKey;
  /** The public key, armored: write it to a file to use it as a source's keyring. */
  armoredPublicKey: string;
  /** Primary key fingerprint, upper-case hex. */
  fingerprint: string;
  /** Key ID (upper-case hex) of the key that signs: the signing subkey when there is one. */
  signingKeyId: string;
}

export interface MakeKeyOptions {
  type: "rsa" | "ecc";
  /** RSA modulus size; 2048 (the fastest openpgp accepts) unless given. */
  rsaBits?: number;
  /** Key expiry, seconds after `date`. Omitted: never expires. */
  expiresInSeconds?: number;
  /** Key creation time (default: now). Back-date it to make a key that is already expired. */
  date?: Date;
  /** Sign with a dedicated signing subkey (as Debian's archive keys do) instead of the primary. */
  signingSubkey?: boolean;
}

export type HashName = "sha1" | "sha256" | "sha384" | "sha512";

export interface SignOptions {
  /** Signature creation time (default: now). */
  date?: Date;
  /** Digest algorithm (default: openpgp's choice, SHA-512 in practice). "sha1" makes a weak signature on
   *  purpose; it needs RSA keys (openpgp refuses SHA-1 with EdDSA). */
  hash?: HashName;
}

const upper = (s: string): string => s.toUpperCase();

export async function makeKey(opts: MakeKeyOptions): Promise<TestKey> {
  const date = opts.date ?? new Date();
  const algo =
    opts.type === "rsa"
      ? { type: "rsa" as const, rsaBits: opts.rsaBits ?? 2048 }
      : { type: "ecc" as const, curve: "ed25519Legacy" as const };
  const { privateKey, publicKey } = await openpgp.generateKey({
    ...algo,
    userIDs: [{ name: "Test Archive Signing Key", email: "archive@test.invalid" }],
    date,
    ...(opts.expiresInSeconds !== undefined ? { keyExpirationTime: opts.expiresInSeconds } : {}),
    // A signing subkey, or openpgp's default encryption subkey (the primary then signs).
    subkeys: [opts.signingSubkey ? { sign: true } : {}],
    format: "object",
  });
  return describe(privateKey, publicKey, date);
}

async function describe(privateKey: openpgp.PrivateKey, publicKey: openpgp.PublicKey, date: Date): Promise<TestKey> {
  let signingKeyId: string;
  try {
    signingKeyId = (await privateKey.getSigningKey(undefined, date)).getKeyID().toHex();
  } catch {
    // Revoked or expired keys have no valid signing key; report the primary's ID.
    signingKeyId = privateKey.getKeyID().toHex();
  }
  return {
    privateKey,
    publicKey,
    armoredPublicKey: publicKey.armor(),
    fingerprint: upper(privateKey.getFingerprint()),
    signingKeyId: upper(signingKeyId),
  };
}

function asArray(keys: TestKey | TestKey[]): TestKey[] {
  return Array.isArray(keys) ? keys : [keys];
}

/** openpgp's LiteralDataPacket methods that its typings mark private. */
interface LiteralInternals {
  setText(text: string): void;
  setBytes(bytes: Uint8Array, format: openpgp.enums.literal): void;
}

/**
 * Signature packets over `literal`, one per key. With an explicit hash the packet is built by
 * hand, because openpgp's high-level sign() only uses hashes the key prefers and would never
 * make the weak (SHA-1) signature a verifier must refuse.
 */
async function signaturePackets(
  literal: openpgp.LiteralDataPacket,
  keys: TestKey[],
  textMode: boolean,
  opts: SignOptions,
): Promise<openpgp.Signature> {
  const date = opts.date ?? new Date();
  const list = new openpgp.PacketList<openpgp.SignaturePacket>();
  for (const key of keys) {
    const signing = await key.privateKey.getSigningKey(undefined, date);
    const packet = new openpgp.SignaturePacket();
    packet.signatureType = textMode ? openpgp.enums.signature.text : openpgp.enums.signature.binary;
    packet.publicKeyAlgorithm = signing.keyPacket.algorithm;
    packet.hashAlgorithm = openpgp.enums.hash[opts.hash ?? "sha512"];
    packet.rawNotations = [];
    // The typings omit the config argument and say Uint8Array; openpgp signs a literal data
    // packet here, as its own sign() does.
    const sign = packet.sign.bind(packet) as unknown as (
      key: openpgp.SecretKeyPacket | openpgp.SecretSubkeyPacket,
      data: openpgp.LiteralDataPacket,
      date: Date,
      detached: boolean,
      config: openpgp.Config,
    ) => Promise<void>;
    // No salt notation: openpgp only knows salt sizes for SHA-2/SHA-3.
    await sign(signing.keyPacket as openpgp.SecretKeyPacket, literal, date, true, { ...openpgp.config, nonDeterministicSignaturesViaNotation: false });
    list.push(packet);
  }
  return new openpgp.Signature(list);
}

/** Clear-sign `text` (an InRelease file) with one signature per key, in the order given. */
export async function clearsign(text: string, keys: TestKey | TestKey[], opts: SignOptions = {}): Promise<string> {
  const message = await openpgp.createCleartextMessage({ text });
  if (opts.hash) {
    const literal = new openpgp.LiteralDataPacket() as unknown as LiteralInternals;
    // The canonical text (CRLF, trailing blanks removed) that CleartextMessage.sign() would sign.
    literal.setText(message.getText().replace(/\n/g, "\r\n"));
    const signature = await signaturePackets(literal as unknown as openpgp.LiteralDataPacket, asArray(keys), true, opts);
    const Cleartext = openpgp.CleartextMessage as unknown as new (text: string, sig: openpgp.Signature) => openpgp.CleartextMessage;
    return new Cleartext(message.getText(), signature).armor();
  }
  return openpgp.sign({
    message,
    signingKeys: asArray(keys).map((k) => k.privateKey),
    ...(opts.date ? { date: opts.date } : {}),
  });
}

/** Detached, armored binary-mode signature over `bytes` (a Release.gpg). */
export async function detachSign(bytes: Uint8Array, keys: TestKey | TestKey[], opts: SignOptions = {}): Promise<string> {
  if (opts.hash) {
    const literal = new openpgp.LiteralDataPacket() as unknown as LiteralInternals;
    literal.setBytes(bytes, openpgp.enums.literal.binary);
    return (await signaturePackets(literal as unknown as openpgp.LiteralDataPacket, asArray(keys), false, opts)).armor();
  }
  const message = await openpgp.createMessage({ binary: bytes });
  return openpgp.sign({
    message,
    signingKeys: asArray(keys).map((k) => k.privateKey),
    detached: true,
    ...(opts.date ? { date: opts.date } : {}),
  });
}

/** The same key with a key revocation signature (made at `date`, default now) added. */
export async function revoke(key: TestKey, date: Date = new Date()): Promise<TestKey> {
  const { privateKey, publicKey } = await openpgp.revokeKey({
    key: key.privateKey,
    date,
    reasonForRevocation: { flag: openpgp.enums.reasonForRevocation.keyCompromised, string: "test" },
    format: "object",
  });
  const described = await describe(privateKey, publicKey, date);
  return { ...described, signingKeyId: key.signingKeyId };
}

/** Several test keys' public parts in one armored block, as a keyring file holds them. */
export function publicKeyring(keys: TestKey | TestKey[]): string {
  const parts = asArray(keys).map((k) => k.publicKey.write());
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return openpgp.armor(openpgp.enums.armor.publicKey, all);
}
