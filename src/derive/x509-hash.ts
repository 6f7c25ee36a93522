/**
 * The OpenSSL subject-name hash (`openssl x509 -subject_hash`, X509_NAME_hash in OpenSSL ≥ 1.0)
 * that `openssl rehash` names its <hash>.<n> links after, and the SHA-1 certificate fingerprint
 * it uses to skip duplicates. Pure: a small DER reader, no OpenSSL.
 *
 * The hash is the first four bytes (little-endian) of SHA-1 over the name's canonical encoding:
 * each RDN's SET re-encoded with DER, the outer SEQUENCE header dropped, and every string value
 * of a "canonicalisable" type converted to UTF8String, trimmed of ASCII white space at both
 * ends, inner runs of white space collapsed to one space, and ASCII letters lower-cased.
 */
import { createHash } from "node:crypto";
import { compareBytes } from "../util/byte-order.js";

interface Tlv {
  tag: number; // the identifier octet (single-byte tags only: all X.509 needs)
  start: number; // offset of the identifier octet
  contentStart: number;
  end: number; // offset after the content
}

class DerError extends Error {}

function readTlv(buf: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new DerError("truncated DER");
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte DER tag");
  let len = buf[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError("unsupported DER length");
    len = 0;
    for (let i = 0; i < n; i++) {
      if (p >= limit) throw new DerError("truncated DER length");
      len = len * 256 + buf[p++]!;
    }
  }
  if (p + len > limit) throw new DerError("DER value overruns its container");
  return { tag, start: offset, contentStart: p, end: p + len };
}

function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.contentStart;
  while (p < parent.end) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, content: Uint8Array): Uint8Array {
  return Uint8Array.from([tag, ...derLength(content.length), ...content]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** strictly valid UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF), as OpenSSL's UTF8_getc demands */
function validUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

function codePointsToUtf8(points: number[]): Uint8Array {
  for (const cp of points) {
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new DerError("invalid character in name");
  }
  return new TextEncoder().encode(String.fromCodePoint(...points));
}

const UTF8STRING = 12;
/** Universal string tags OpenSSL canonicalises (ASN1_MASK_CANON) and their bytes per character. */
const CANON_TAGS = new Map<number, 0 | 1 | 2 | 4>([
  [12, 0], // UTF8String
  [19, 1], // PrintableString
  [20, 1], // T61String (read as Latin-1, like OpenSSL)
  [22, 1], // IA5String
  [26, 1], // VisibleString
  [30, 2], // BMPString (UCS-2)
  [28, 4], // UniversalString (UCS-4)
]);

function toUtf8(tag: number, content: Uint8Array): Uint8Array {
  const width = CANON_TAGS.get(tag)!;
  if (width === 0) {
    if (!validUtf8(content)) throw new DerError("invalid UTF8String");
    return content;
  }
  if (content.length % width !== 0) throw new DerError("string length is not a multiple of its character width");
  const points: number[] = [];
  for (let i = 0; i < content.length; i += width) {
    let cp = 0;
    for (let j = 0; j < width; j++) cp = cp * 256 + content[i + j]!;
    points.push(cp);
  }
  return codePointsToUtf8(points);
}

const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

function canonString(utf8: Uint8Array): Uint8Array {
  let from = 0;
  let to = utf8.length;
  while (from < to && isSpace(utf8[from]!)) from++;
  while (to > from && isSpace(utf8[to - 1]!)) to--;
  const out: number[] = [];
  let i = from;
  while (i < to) {
    const c = utf8[i]!;
    if (c >= 0x80) {
      out.push(c);
      i++;
    } else if (isSpace(c)) {
      out.push(0x20);
      while (i < to && isSpace(utf8[i]!)) i++;
    } else {
      out.push(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
      i++;
    }
  }
  return Uint8Array.from(out);
}

/** DER SET OF order: bytewise, a shorter prefix first. */
function derSetOrder(a: Uint8Array, b: Uint8Array): number {
  return compareBytes(a, b);
}

/** Canonical encoding of an X.509 Name given as its DER TLV. */
function canonicalName(der: Uint8Array, name?: Tlv): Uint8Array {
  const n = name ?? readTlv(der, 0, der.length);
  if (n.tag !== 0x30) throw new DerError("Name is not a SEQUENCE");
  const sets: Uint8Array[] = [];
  for (const rdn of children(der, n)) {
    if (rdn.tag !== 0x31) throw new DerError("RDN is not a SET");
    const entries: Uint8Array[] = [];
    for (const atv of children(der, rdn)) {
      if (atv.tag !== 0x30) throw new DerError("AttributeTypeAndValue is not a SEQUENCE");
      const parts = children(der, atv);
      if (parts.length !== 2 || parts[0]!.tag !== 0x06) throw new DerError("malformed AttributeTypeAndValue");
      const oid = der.subarray(parts[0]!.start, parts[0]!.end);
      const v = parts[1]!;
      const value = CANON_TAGS.has(v.tag)
        ? tlv(UTF8STRING, canonString(toUtf8(v.tag, der.subarray(v.contentStart, v.end))))
        : der.subarray(v.start, v.end); // other types are kept as they are
      entries.push(tlv(0x30, concat([oid, value])));
    }
    if (entries.length === 0) continue; // an empty RDN contributes no entries, so no set
    entries.sort(derSetOrder);
    sets.push(tlv(0x31, concat(entries)));
  }
  return concat(sets);
}

export interface CertInfo {
  /** %08x of X509_NAME_hash(subject). */
  subjectHash: string;
  /** SHA-1 over the certificate's DER (OpenSSL's duplicate check in rehash). */
  sha1: string;
}

/** Subject hash and fingerprint of one DER certificate; throws on malformed DER. */
function certInfo(der: Uint8Array): CertInfo {
  const cert = readTlv(der, 0, der.length);
  if (cert.tag !== 0x30) throw new DerError("Certificate is not a SEQUENCE");
  const tbs = children(der, cert)[0];
  if (tbs === undefined || tbs.tag !== 0x30) throw new DerError("TBSCertificate missing");
  const fields = children(der, tbs);
  const i = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version
  // serialNumber, signature, issuer, validity, subject
  const subject = fields[i + 4];
  if (subject === undefined) throw new DerError("TBSCertificate has no subject");
  const canon = canonicalName(der, subject);
  const md = createHash("sha1").update(canon).digest();
  const h = (md[0]! | (md[1]! << 8) | (md[2]! << 16) | (md[3]! << 24)) >>> 0;
  return {
    subjectHash: h.toString(16).padStart(8, "0"),
    sha1: createHash("sha1").update(der.subarray(cert.start, cert.end)).digest("hex"),
  };
}

const CERT_LABELS = new Set(["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"]);
const CRL_LABELS = new Set(["X509 CRL"]);

/**
 * What `openssl rehash` makes of one file: the certificate's info when the file holds exactly
 * one certificate (PEM), undefined when rehash would skip it (no or several certificates or
 * CRLs, a CRL — none in a CA store — or something that does not parse).
 */
export function rehashableCert(content: Uint8Array): CertInfo | undefined {
  const text = Buffer.from(content).toString("latin1");
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  const certs: Uint8Array[] = [];
  let crls = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (CERT_LABELS.has(m[1]!)) certs.push(Uint8Array.from(Buffer.from(m[2]!.replace(/[^A-Za-z0-9+/=]/g, ""), "base64")));
    else if (CRL_LABELS.has(m[1]!)) crls++;
  }
  if (certs.length !== 1 || crls !== 0) return undefined;
  try {
    return certInfo(certs[0]!);
  } catch (e) {
    if (e instanceof DerError) return undefined;
    throw e;
  }
}
