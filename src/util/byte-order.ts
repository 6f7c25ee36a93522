/**
 * Unsigned byte order (memcmp, what LC_ALL=C sort, tar writers and OpenSSL use): the order of
 * every path list in a layer, its provenance manifest and its derivation records. JavaScript's
 * `<` compares UTF-16 code units, which differs from UTF-8 byte order above U+FFFF.
 */

/** memcmp order; a shorter prefix first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(view(a), view(b));
}

/** Byte order of the UTF-8 encodings of two strings (paths, package names). */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function view(a: Uint8Array): Buffer {
  return Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
