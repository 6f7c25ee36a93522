/**
 * An extra layer from the user (`--add TAR`, e.g. the application built by make or Bazel):
 * used as given when it is already gzip, else gzip-compressed with the layer compressor's
 * pinned settings. Its diff_id is the sha256 of the uncompressed tar. Checked lightly first:
 * it must be a tar, and no member may be absolute or climb out with "..".
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { gunzipSync } from "node:zlib";
import { readTar } from "../deb/tar-reader.js";
import { normaliseMemberPath } from "../deb/paths.js";
import { comparePaths } from "../util/byte-order.js";
import { compressLayer } from "../codec/compress.js";
import { digestBytes } from "../layer/digest.js";
import { CheckFailedError, FormatError, IOError } from "../model/errors.js";

export interface AddedLayer {
  /** The path given (after {arch} substitution). */
  file: string;
  name: string;
  /** gzip bytes of the layer blob. */
  blob: Uint8Array;
  /** The uncompressed tar. */
  tar: Uint8Array;
  digest: string;
  size: number;
  diffId: string;
  /** sha256 of the file as given ("sha256:…"). */
  fileDigest: string;
  /** Whether the file was already gzip (and is used byte for byte). */
  wasGzip: boolean;
  /** Its regular files as they land in the image (a later member of the same path wins), sorted by path bytes: the SBOM lists them. */
  files: AddedFile[];
}

export interface AddedFile {
  /** Absolute, normalised: "/usr/local/bin/app". */
  path: string;
  sha1: string;
  sha256: string;
}

export async function loadAddedLayer(file: string): Promise<AddedLayer> {
  let given: Uint8Array;
  try {
    given = await readFile(file);
  } catch (e) {
    throw new IOError(`cannot read --add ${file}: ${(e as Error).message}`, { cause: e, hint: "give the path of a tar file (plain or gzip)" });
  }
  const wasGzip = given.length >= 2 && given[0] === 0x1f && given[1] === 0x8b;
  let tar: Uint8Array;
  if (wasGzip) {
    try {
      // Decompression output is defined by the gzip format, so node:zlib's build does not matter here.
      tar = gunzipSync(given);
    } catch (e) {
      throw new CheckFailedError(`--add ${file} starts like gzip but does not decompress: ${(e as Error).message}`, { hint: "give an intact tar or tar.gz" });
    }
  } else tar = given;
  const files = await checkMembers(file, tar);
  const blob = wasGzip ? given : (await compressLayer(tar, "gzip")).bytes;
  const d = digestBytes(blob);
  return { file, name: basename(file), blob, tar, digest: d.digest, size: d.size, diffId: digestBytes(tar).digest, fileDigest: digestBytes(given).digest, wasGzip, files };
}

/**
 * Refuses anything but a tar whose member names (and hard link targets) stay inside the root;
 * hashes its regular files in the same pass.
 */
async function checkMembers(file: string, tar: Uint8Array): Promise<AddedFile[]> {
  let count = 0;
  const files = new Map<string, AddedFile>();
  const hint = "build the tar with relative member names (e.g. tar -C rootfs -cf app.tar .) and without .. components";
  try {
    await readTar(once(tar), async (e) => {
      count++;
      const bad = unsafeName(e.name);
      if (bad) throw new CheckFailedError(`--add ${file}: member ${JSON.stringify(e.name)} ${bad}; refusing to put it in the image`, { hint });
      if (e.type === "hardlink" && e.linkname !== undefined) {
        const badLink = unsafeName(e.linkname);
        if (badLink) throw new CheckFailedError(`--add ${file}: hard link ${JSON.stringify(e.name)} → ${JSON.stringify(e.linkname)} ${badLink}; refusing to put it in the image`, { hint });
      }
      const path = normaliseMemberPath(e.name, `--add ${file}`);
      // A hard link is its target's bytes under another name.
      const target = e.type === "hardlink" && e.linkname !== undefined ? files.get(normaliseMemberPath(e.linkname, `--add ${file}`)) : undefined;
      if (e.type === "file") files.set(path, { path, ...(await fileHashes(e.body)) });
      else if (target) files.set(path, { ...target, path });
      else files.delete(path);
    });
  } catch (e) {
    // Exit 1 like the member checks above: README promises `image` refuses an unsafe --add tar.
    if (e instanceof FormatError) throw new CheckFailedError(`--add ${file} is not a tar archive (${e.message})`, { hint: "give a tar (or tar.gz) of the files to add" });
    throw e;
  }
  if (count === 0) throw new CheckFailedError(`--add ${file} is not a tar archive, or an empty one`, { hint: "give a tar (or tar.gz) of the files to add" });
  return [...files.values()].sort((a, b) => comparePaths(a.path, b.path));
}

async function fileHashes(body: AsyncIterable<Uint8Array>): Promise<{ sha1: string; sha256: string }> {
  const sha1 = createHash("sha1");
  const sha256 = createHash("sha256");
  for await (const chunk of body) {
    sha1.update(chunk);
    sha256.update(chunk);
  }
  return { sha1: sha1.digest("hex"), sha256: sha256.digest("hex") };
}

/** Why a member name is unsafe, or undefined when it is fine. */
export function unsafeName(name: string): string | undefined {
  if (name.startsWith("/")) return "is absolute";
  if (name.split("/").includes("..")) return 'has a ".." component';
  return undefined;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
