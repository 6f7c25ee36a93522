/**
 * An extra layer from the user (`--add TAR`, e.g. the application built by make or Bazel):
 * used as given when it is already gzip, else gzip-compressed with the layer compressor's
 * pinned settings. Its diff_id is the sha256 of the uncompressed tar. Checked first by the
 * rules a .deb's tars obey (member-rules.ts), alone and over the layers below it.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { gunzipSync } from "node:zlib";
import { readTar } from "../deb/tar-reader.js";
import { TarRules, type CheckedMember, type LookUp, type Refuse } from "../deb/member-rules.js";
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
  /** Every member in archive order, checked: what checkAddedOver replays over the layers below. */
  members: CheckedMember[];
}

export interface AddedFile {
  /** Absolute, normalised: "/usr/local/bin/app". */
  path: string;
  sha1: string;
  sha256: string;
}

export interface AddOptions {
  /** Accept device nodes and fifos (`--allow-devices`); refused by default, as in a .deb. */
  allowDevices?: boolean;
}

export async function loadAddedLayer(file: string, opts: AddOptions = {}): Promise<AddedLayer> {
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
  const { members, files } = await checkMembers(file, tar, opts.allowDevices ?? false);
  const blob = wasGzip ? given : (await compressLayer(tar, "gzip")).bytes;
  const d = digestBytes(blob);
  return { file, name: basename(file), blob, tar, digest: d.digest, size: d.size, diffId: digestBytes(tar).digest, fileDigest: digestBytes(given).digest, wasGzip, files, members };
}

/**
 * Refuses anything but a tar whose members obey the rules of a .deb's tars (member-rules.ts)
 * on their own; hashes its regular files in the same pass. Whether it is safe over the layers
 * below it is checkAddedOver's question, per image.
 */
async function checkMembers(file: string, tar: Uint8Array, allowDevices: boolean): Promise<{ members: CheckedMember[]; files: AddedFile[] }> {
  const members: CheckedMember[] = [];
  /** Regular files by index, for hard links (a link is its file's bytes under another name). */
  const hashed = new Map<number, { sha1: string; sha256: string }>();
  const files = new Map<string, AddedFile>();
  const rules = new TarRules({ refuse: refuser(file), allowDevices, ownWhere: `earlier in ${file}` });
  try {
    await readTar(once(tar), async (e) => {
      const { member, placed } = rules.check(e);
      members.push(member);
      const hashes = member.type === "file" ? await fileHashes(e.body) : placed.shares !== undefined ? hashed.get(placed.shares) : undefined;
      if (member.type === "file") hashed.set(placed.index, hashes!);
      if (hashes) files.set(member.path, { path: member.path, ...hashes });
      else files.delete(member.path);
    });
  } catch (e) {
    // Exit 1 like the member checks: README promises `image` refuses an unsafe --add tar.
    if (e instanceof FormatError) throw new CheckFailedError(`--add ${file} is not a tar archive (${e.message})`, { hint: "give a tar (or tar.gz) of the files to add" });
    throw e;
  }
  if (members.length === 0) throw new CheckFailedError(`--add ${file} is not a tar archive, or an empty one`, { hint: "give a tar (or tar.gz) of the files to add" });
  return { members, files: [...files.values()].sort((a, b) => comparePaths(a.path, b.path)) };
}

/**
 * Refuses an added tar that, applied over `below` (the layers before it in the image), writes
 * through one of their symlinks or files, or turns one of their directories into something
 * else or the reverse: an OCI applier would follow the link (an added `lib/x` over the
 * packages' `lib → usr/lib` lands in /usr/lib) or delete what is there. Returns what the image
 * holds at a path once this tar is applied, for the next one.
 */
export function checkAddedOver(added: AddedLayer, below: LookUp): LookUp {
  const rules = new TarRules({ refuse: refuser(added.file), below, ownWhere: `earlier in ${added.file}` });
  for (const m of added.members) rules.place(m);
  return rules.at;
}

const HINT = "build the tar from a directory laid out as the image should be, with relative names and only files, directories and links (e.g. tar -C rootfs -cf app.tar .); put files at their real paths, not through a link (usr/lib/x, not lib/x, where /lib → usr/lib); pass --allow-devices if device nodes or fifos are meant";

function refuser(file: string): Refuse {
  return (member, detail, hint) => new CheckFailedError(`--add ${file}: member ${JSON.stringify(member)}: ${detail}; refusing to put it in the image`, { hint: hint ?? HINT });
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

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
