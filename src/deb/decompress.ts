/** Which compression an ar member of a .deb uses, and its streaming decompressor. */

import { decompress as decompressIndex } from "../codec/decompress.js";
import { unzstd } from "../codec/zstd.js";

export type MemberCompression = "none" | "gz" | "xz" | "zst";

/** Known tar member suffixes (deb(5)); bzip2 and lzma are known but not supported. */
const SUFFIXES = new Map<string, MemberCompression | "unsupported">([
  ["", "none"],
  [".gz", "gz"],
  [".xz", "xz"],
  [".zst", "zst"],
  [".bz2", "unsupported"],
  [".lzma", "unsupported"],
]);

/**
 * The compression of "control.tar.xz" / "data.tar" / …; `undefined` when the name is not
 * `${base}` plus a known suffix, "unsupported" for a known suffix this tool does not decode.
 */
export function memberCompression(name: string, base: "control.tar" | "data.tar"): MemberCompression | "unsupported" | undefined {
  if (!name.startsWith(base)) return undefined;
  return SUFFIXES.get(name.slice(base.length));
}

export function decompressMember(kind: MemberCompression, input: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return kind === "zst" ? unzstd(input) : decompressIndex(kind, input);
}
