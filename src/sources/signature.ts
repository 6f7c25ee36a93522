/**
 * Verify an archive's InRelease (clear-signed) or Release + Release.gpg (detached) against a
 * pinned keyring, with apt's rules: one good signature by a pinned key (or its subkey) is enough;
 * signatures by unknown keys are ignored; a key expired or revoked at `at` does not count, nor
 * does a digest weaker than SHA-256. Only the signed text is returned: nothing outside the
 * signature may reach the Release parser.
 */
import * as openpgp from "openpgp";
import { VerificationError } from "../model/errors.js";
import { BEGIN_SIG, END_SIG, decodeUtf8, frameClearsigned, framingError, isBlank, stripTrailing } from "./clearsigned.js";
import type { Keyring } from "./keyring.js";

export interface VerifiedRelease {
  /** Exactly the signed content (clear-signed: dash-escaping undone, "\n" line ends, trailing blanks dropped as OpenPGP does before hashing). */
  text: string;
  /** Primary key fingerprint of the key that made the accepted signature, upper-case hex. */
  fingerprint: string;
  /** Key ID (upper-case hex) of the (sub)key that made it. */
  signingKeyId: string;
  /**
   * The first instant after `at` at which the same check could judge otherwise (a signature,
   * key or binding begins or ends being in effect); null when nothing in the signatures or the
   * keyring changes after `at`. Until then the verdict holds: signature-verdicts.ts keeps it.
   */
  stableUntil: Date | null;
}

export interface VerifyOptions {
  /** The URL or file, for messages. */
  label: string;
  /** Keys must be valid (not expired, not revoked) at this time; signatures made after it fail. */
  at: Date;
  /**
   * "signature-time" (snapshot archives, allowExpired): a key that was valid when it signed
   * counts even if it has expired since; revocation is still judged at `at`, since a revoked
   * key may have been compromised before it was revoked.
   */
  keyValidity?: "at" | "signature-time";
}

const { hash } = openpgp.enums;

/** Digests a signature may use; apt refuses SHA-1 and MD5 on Release files. */
const STRONG_HASHES = new Set<number>([hash.sha256, hash.sha384, hash.sha512, hash.sha3_256, hash.sha3_512]);

/** openpgp already refuses SHA-1 message signatures by default; pin that here so no global config change can weaken it. */
const POLICY: openpgp.PartialConfig = {
  rejectHashAlgorithms: new Set([hash.md5, hash.ripemd]),
  rejectMessageHashAlgorithms: new Set([hash.md5, hash.ripemd, hash.sha1, hash.sha224]),
  minRSABits: 2047,
};

export async function verifyClearsigned(data: Uint8Array, keyring: Keyring, opts: VerifyOptions): Promise<VerifiedRelease> {
  const input = decodeUtf8(data, opts.label);
  const framed = frameClearsigned(input, opts.label);
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: framed.armored, config: POLICY });
  } catch (e) {
    throw framingError(opts.label, (e as Error).message, e);
  }
  const text = message.getText();
  // Both readings must agree on what was signed, or the signed text is ambiguous.
  if (text !== framed.text) throw framingError(opts.label, "the signed text is ambiguous (parsers disagree)");
  const result = await openpgp.verify({ message, verificationKeys: keyring.keys, date: opts.at, config: POLICY });
  const accepted = await firstValid(result.signatures, keyring, opts);
  return { text, ...accepted, stableUntil: await nextChange(result.signatures, keyring, opts.at) };
}

export async function verifyDetached(
  data: Uint8Array,
  signature: Uint8Array,
  keyring: Keyring,
  opts: VerifyOptions,
): Promise<VerifiedRelease> {
  const text = decodeUtf8(data, opts.label);
  const sig = await readDetachedSignature(signature, opts.label);
  const message = await openpgp.createMessage({ binary: data });
  const result = await openpgp.verify({
    message,
    signature: sig,
    verificationKeys: keyring.keys,
    date: opts.at,
    format: "binary",
    config: POLICY,
  });
  const accepted = await firstValid(result.signatures, keyring, opts);
  return { text, ...accepted, stableUntil: await nextChange(result.signatures, keyring, opts.at) };
}

async function readDetachedSignature(bytes: Uint8Array, label: string): Promise<openpgp.Signature> {
  const sigLabel = `${label} (detached signature)`;
  try {
    const first = bytes.findIndex((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
    if (first < 0) throw new Error("the signature file is empty");
    if ((bytes[first]! & 0x80) !== 0) return await openpgp.readSignature({ binarySignature: bytes, config: POLICY });
    const text = decodeUtf8(bytes, sigLabel);
    const lines = text.split("\n").map(stripTrailing);
    const begin = lines.findIndex((l) => !isBlank(l));
    const end = lines.indexOf(END_SIG);
    if (lines[begin] !== BEGIN_SIG || end < 0) throw new Error(`expected one "${BEGIN_SIG}" … "${END_SIG}" block`);
    if (lines.slice(begin + 1, end).some((l) => l.startsWith("-"))) throw new Error("more than one armor block");
    if (!lines.slice(end + 1).every(isBlank)) throw new Error(`unexpected content after "${END_SIG}"`);
    return await openpgp.readSignature({ armoredSignature: lines.slice(begin, end + 1).join("\n") + "\n", config: POLICY });
  } catch (e) {
    if (e instanceof VerificationError) throw e;
    throw new VerificationError(`${sigLabel}: not a valid OpenPGP signature: ${(e as Error).message}`, {
      hint: "Fetch Release and Release.gpg again (they must come from the same update of the archive), or try another mirror.",
      cause: e,
    });
  }
}

interface Outcome {
  keyId: string;
  /** Set when the signature counts. */
  accepted?: { fingerprint: string; signingKeyId: string };
  reason?: string;
}

/** Judge each signature (in file order, so the choice is deterministic) and keep the first good one. */
async function firstValid(
  signatures: openpgp.VerifyMessageResult["signatures"],
  keyring: Keyring,
  opts: VerifyOptions,
): Promise<{ fingerprint: string; signingKeyId: string }> {
  const outcomes = await Promise.all(signatures.map((s) => judge(s, keyring, opts.at, opts.keyValidity ?? "at")));
  const good = outcomes.find((o) => o.accepted);
  if (good?.accepted) return good.accepted;
  const details =
    outcomes.length === 0 ? " (the file carries no signature)" : "\n" + outcomes.map((o) => `  - key ${o.keyId}: ${o.reason}`).join("\n");
  throw new VerificationError(
    `${opts.label}: no valid signature by a key in ${keyring.file}${details}`,
    {
      hint:
        `Check that ${keyring.file} holds the archive's current signing key (keys/README.md lists Debian's) and that ` +
        "the clock is right. If it does, the file may be tampered with or from a broken mirror: do not use it; fetch it again or use another mirror.",
    },
  );
}

async function judge(
  sig: openpgp.VerifyMessageResult["signatures"][number],
  keyring: Keyring,
  at: Date,
  keyValidity: "at" | "signature-time",
): Promise<Outcome> {
  const keyId = sig.keyID.toHex().toUpperCase();
  const primary = keyring.keys.find((k) => k.getKeys(sig.keyID).length > 0);
  if (!primary) {
    // Also mark openpgp's own rejection of this promise as handled.
    await sig.verified.catch(() => undefined);
    return { keyId, reason: "no such key in the keyring" };
  }
  try {
    await sig.verified;
  } catch (e) {
    return { keyId, reason: `bad signature: ${(e as Error).message}` };
  }
  const packet = (await sig.signature).packets[0];
  if (!packet || packet.hashAlgorithm === null || !STRONG_HASHES.has(packet.hashAlgorithm)) {
    const name = packet?.hashAlgorithm != null ? openpgp.enums.read(hash, packet.hashAlgorithm) : "unknown";
    return { keyId, reason: `weak digest ${String(name).toUpperCase()} (SHA-256 or stronger required)` };
  }
  // openpgp checked the key at the signature's creation time; it must also be valid now (`at`).
  if (keyValidity === "at") {
    try {
      await primary.getSigningKey(sig.keyID, at, undefined, { ...openpgp.config, ...POLICY });
    } catch (e) {
      return { keyId, reason: `key not valid at ${at.toISOString()}: ${(e as Error).message}` };
    }
  } else {
    const subkeys = primary.getSubkeys().filter((k) => k.getKeyID().equals(sig.keyID));
    // openpgp's own verifyPrimaryKey passes null for "any revocation signature"; its typings say otherwise.
    const anySig = null as unknown as openpgp.SignaturePacket;
    const anyKey = null as unknown as openpgp.PublicKeyPacket;
    const revoked =
      (await primary.isRevoked(undefined, undefined, at)) ||
      (await Promise.all(subkeys.map((k) => k.isRevoked(anySig, anyKey, at)))).some(Boolean);
    if (revoked) return { keyId, reason: `key revoked (judged at ${at.toISOString()})` };
  }
  return { keyId, accepted: { fingerprint: primary.getFingerprint().toUpperCase(), signingKeyId: keyId } };
}

/**
 * openpgp's judgment of these signatures by these keys depends on the time only by comparing it
 * with instants written in the packets: the creation of every key, subkey and signature, the
 * expiry of every signature, and every key expiry a self-signature or binding sets. Between two
 * such instants it cannot change, so the verdict at `at` holds until the first one after `at`
 * (openpgp compares whole seconds, as the packets store them). An unreadable signature makes
 * the verdict hold for no time at all.
 */
async function nextChange(signatures: openpgp.VerifyMessageResult["signatures"], keyring: Keyring, at: Date): Promise<Date | null> {
  const instants: number[] = [];
  const ofSignature = (sig: openpgp.SignaturePacket, keyCreated?: Date): void => {
    if (sig.created) instants.push(sig.created.getTime());
    const expires = sig.getExpirationTime();
    if (expires instanceof Date) instants.push(expires.getTime());
    if (keyCreated && sig.keyNeverExpires === false && sig.keyExpirationTime) instants.push(keyCreated.getTime() + sig.keyExpirationTime * 1000);
  };
  for (const s of signatures) {
    const packet = (await s.signature.catch(() => undefined))?.packets[0];
    if (!packet) return at;
    ofSignature(packet);
  }
  for (const key of keyring.keys) {
    const created = key.keyPacket.created;
    instants.push(created.getTime());
    // Direct-key signatures are not in openpgp's typings but are judged like the others.
    const direct = (key as unknown as { directSignatures?: openpgp.SignaturePacket[] }).directSignatures ?? [];
    for (const sig of [...direct, ...key.revocationSignatures]) ofSignature(sig, created);
    for (const user of key.users) for (const sig of [...user.selfCertifications, ...user.otherCertifications, ...user.revocationSignatures]) ofSignature(sig, created);
    for (const sub of key.subkeys) {
      instants.push(sub.keyPacket.created.getTime());
      for (const sig of [...sub.bindingSignatures, ...sub.revocationSignatures]) ofSignature(sig, sub.keyPacket.created);
    }
  }
  const atSecond = Math.floor(at.getTime() / 1000) * 1000;
  const later = instants.filter((t) => t > atSecond);
  return later.length ? new Date(Math.min(...later)) : null;
}
