/**
 * Unsigned byte order (memcmp, what LC_ALL=C sort, tar writers and OpenSSL use): the order of
 * every path list in a layer, its provenance manifest and its derivation records. JavaScript's
 * `<` compares UTF-16 code units, which differs from UTF-8 byte order above U+FFFF.
 */

/** memcmp order; a shorter prefix first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(view(a), view(b));
}

/**
 * Byte order of the UTF-8 encodings of two strings (paths, package names). Without encoding
 * them where it can (a layer's 40,000 paths are sorted several times): outside the surrogates,
 * UTF-16 code units order as UTF-8 bytes do, so the first differing unit decides. Where a
 * surrogate is involved (a character above U+FFFF, or a lone surrogate, which UTF-8 encodes as
 * U+FFFD), the encodings are compared.
 */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  const x = a.charCodeAt(i); // NaN past the end
  const y = b.charCodeAt(i);
  // Equal units up to n: a prefix first, unless it ends inside a surrogate pair.
  if (i === n && !(i > 0 && isSurrogate(a.charCodeAt(i - 1))) && !isSurrogate(x) && !isSurrogate(y)) return a.length - b.length;
  if (i < n && !isSurrogate(x) && !isSurrogate(y)) return x - y;
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function isSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdfff;
}

function view(a: Uint8Array): Buffer {
  return Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
