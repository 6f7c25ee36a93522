/**
 * An extra layer from the user (`--add TAR`, e.g. the application built by make or Bazel):
 * used as given when it is already gzip, else gzip-compressed with the layer compressor's
 * pinned settings. Its diff_id is the sha256 of the uncompressed tar. Checked first by the
 * rules a .deb's tars obey (member-rules.ts), alone and over the layers below it.
 *
 * One streaming pass over the file does all of it (decompress, hash, check, compress), so memory
 * does not grow with the tar: the bytes an image needs stay on disk, in the given file (kept
 * open) or in a spool file, as extents re-hashed whenever they are read.
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, read } from "node:fs";
import { basename } from "node:path";
import { Readable, pipeline } from "node:stream";
import { promisify } from "node:util";
import { createGunzip } from "node:zlib";
import { readTar } from "../deb/tar-reader.js";
import { TarRules, type CheckedMember, type LookUp, type Refuse } from "../deb/member-rules.js";
import { comparePaths } from "../util/byte-order.js";
import { createSpoolFile, type SpoolFile } from "../util/spool-file.js";
import { createLayerCompressor } from "../codec/compress.js";
import { createDigestSink, type DigestSink } from "../layer/digest.js";
import type { FileExtent } from "../model/layer.js";
import { CheckFailedError, FormatError, IOError } from "../model/errors.js";
import type { LayerAccountFiles } from "./user.js";

export interface AddedLayer {
  /** The path given (after {arch} substitution). */
  file: string;
  name: string;
  /** Where the gzip layer blob is: the given file, or a spool; absent for a plain tar with `keep: "tar"`. */
  blob: FileExtent | undefined;
  /** Where the uncompressed tar is: the given file, or a spool; absent for a gzip with `keep: "blob"`. */
  tar: FileExtent | undefined;
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
  /** What it puts at /etc/passwd and /etc/group (for `--user` names), as the layer over the ones below. */
  accounts: LayerAccountFiles;
  /** Close the file and remove the spool: the extents cannot be read after this. */
  remove(): void;
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
  /**
   * Which form the image writes, so the other is not spooled: "blob" (an OCI layout, the
   * default) or "tar" (a docker-archive). A form the given file already is costs nothing.
   */
  keep?: "blob" | "tar";
}

const READ_CHUNK = 1 << 16;
const readAt = promisify(read);

export async function loadAddedLayer(file: string, opts: AddOptions = {}): Promise<AddedLayer> {
  const given = openGiven(file);
  const spools: SpoolFile[] = [];
  const remove = () => {
    for (const s of spools) s.remove();
    given.close();
  };
  try {
    return { ...(await passOver(file, given, opts.keep ?? "blob", opts.allowDevices ?? false, spools)), remove };
  } catch (e) {
    remove();
    throw e;
  }
}

interface GivenFile {
  fd: number;
  /** A pipe or device cannot be read again: its bytes are copied to a spool as they pass. */
  regular: boolean;
  close(): void;
}

function openGiven(file: string): GivenFile {
  const cannot = (e: unknown) => new IOError(`cannot read --add ${file}: ${(e as Error).message}`, { cause: e, hint: "give the path of a tar file (plain or gzip)" });
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw cannot(e);
  }
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw cannot(new Error("it is a directory"));
    return { fd, regular: st.isFile(), close };
  } catch (e) {
    close();
    throw e instanceof IOError ? e : cannot(e);
  }
}

type Passed = Omit<AddedLayer, "remove" | "file" | "name"> & Pick<AddedLayer, "file" | "name">;

/**
 * The one pass: the given bytes through their sha256 (and a copy, for a pipe), a gunzip when
 * they are gzip, then the tar through the diff_id's sha256, the compressor when it is plain, and
 * the member checks. Spools it makes go into `spools`.
 */
async function passOver(file: string, given: GivenFile, keep: "blob" | "tar", allowDevices: boolean, spools: SpoolFile[]): Promise<Passed> {
  const spool = async (): Promise<SpoolFile> => {
    const s = await createSpoolFile();
    spools.push(s);
    return s;
  };
  const copy = given.regular ? undefined : await spool();
  const givenDigest = createDigestSink(copy && ((c) => copy.write(c)));
  const { first, rest } = await firstChunk(file, given.fd);
  const wasGzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  const givenChunks = async function* (): AsyncGenerator<Uint8Array> {
    for await (const c of first.length > 0 ? [first] : []) yield (givenDigest.sink(c), c);
    for await (const c of rest) yield (givenDigest.sink(c), c);
  };

  // The blob of a plain tar is compressed as the tar passes (each gzip stream has its own zlib instance, so
  // pushing between awaits is safe); a gzip file's tar is spooled only for a docker-archive.
  const tarSpool = wasGzip && keep === "tar" ? await spool() : undefined;
  const blobSpool = !wasGzip && keep === "blob" ? await spool() : undefined;
  const blobDigest = wasGzip ? undefined : createDigestSink(blobSpool && ((c) => blobSpool.write(c)));
  const compressor = blobDigest && (await createLayerCompressor("gzip", blobDigest.sink));
  const tarDigest = createDigestSink(tarSpool && ((c) => tarSpool.write(c)));
  const tarChunks = async function* (): AsyncGenerator<Uint8Array> {
    for await (const c of wasGzip ? gunzipped(file, givenChunks()) : givenChunks()) {
      tarDigest.sink(c);
      compressor?.push(c);
      yield c;
    }
  };

  const pass = tarChunks();
  let checked: Awaited<ReturnType<typeof checkMembers>>;
  try {
    // readTar may stop at the end-of-archive blocks; whatever follows is still the layer's,
    // so readTar gets a view it cannot close, and the rest is drained here.
    checked = await checkMembers(file, { [Symbol.asyncIterator]: () => ({ next: () => pass.next() }) }, allowDevices);
    while (!(await pass.next()).done);
  } catch (e) {
    compressor?.abort(); // gzip deflates in a thread: none is left waiting
    throw e;
  } finally {
    await pass.return(undefined);
  }
  compressor?.end();
  const g = givenDigest.result();
  const t = tarDigest.result();
  const b = blobDigest?.result() ?? g;
  const hex = (d: { digest: string }) => d.digest.slice("sha256:".length);
  const givenExtent = (): FileExtent => (copy ? copy.extent(g.size, hex(g), `--add ${file}`) : { fd: given.fd, offset: 0, size: g.size, sha256: hex(g), label: `--add ${file}` });
  const blob = wasGzip ? givenExtent() : blobSpool?.extent(b.size, hex(b), `--add ${file} (gzip-compressed)`);
  const tar = wasGzip ? tarSpool?.extent(t.size, hex(t), `--add ${file} (decompressed)`) : givenExtent();
  return { file, name: basename(file), blob, tar, digest: b.digest, size: b.size, diffId: t.digest, fileDigest: g.digest, wasGzip, ...checked };
}

/** The file's first bytes, at least two unless it is shorter (to see whether it is gzip; a pipe may give less per read), and an iterator over the rest. */
async function firstChunk(file: string, fd: number): Promise<{ first: Uint8Array; rest: AsyncIterable<Uint8Array> }> {
  const chunks = readChunks(file, fd);
  let first: Uint8Array = new Uint8Array(0);
  for (let r; first.length < 2 && !(r = await chunks.next()).done; ) first = first.length === 0 ? r.value : Buffer.concat([first, r.value]);
  return { first, rest: { [Symbol.asyncIterator]: () => chunks } };
}

async function* readChunks(file: string, fd: number): AsyncGenerator<Uint8Array> {
  for (;;) {
    // A fresh buffer per chunk: the tar parser keeps chunks until it has passed them on.
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let n: number;
    try {
      n = (await readAt(fd, buf, 0, READ_CHUNK, null)).bytesRead;
    } catch (e) {
      throw new IOError(`cannot read --add ${file}: ${(e as Error).message}`, { cause: e, hint: "give the path of a tar file (plain or gzip)" });
    }
    if (n === 0) return;
    yield n === READ_CHUNK ? buf : Buffer.from(buf.subarray(0, n));
  }
}

/** The gzip stream decompressed; output is defined by the gzip format, so node:zlib's build does not matter here. */
async function* gunzipped(file: string, gz: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const gunzip = createGunzip();
  pipeline(Readable.from(gz), gunzip, () => {});
  try {
    for await (const c of gunzip) yield c as Uint8Array;
  } catch (e) {
    if (e instanceof IOError) throw e;
    throw new CheckFailedError(`--add ${file} starts like gzip but does not decompress: ${(e as Error).message}`, { hint: "give an intact tar or tar.gz" });
  } finally {
    gunzip.destroy();
  }
}

/**
 * Refuses anything but a tar whose members obey the rules of a .deb's tars (member-rules.ts)
 * on their own; hashes its regular files in the same pass. Whether it is safe over the layers
 * below it is checkAddedOver's question, per image.
 */
async function checkMembers(file: string, tar: AsyncIterable<Uint8Array>, allowDevices: boolean): Promise<{ members: CheckedMember[]; files: AddedFile[]; accounts: LayerAccountFiles }> {
  const members: CheckedMember[] = [];
  /** Regular files by index, for hard links (a link is its file's bytes under another name). */
  const hashed = new Map<number, { sha1: string; sha256: string }>();
  const files = new Map<string, AddedFile>();
  const accounts: LayerAccountFiles = { from: `--add ${file}` };
  const rules = new TarRules({ refuse: refuser(file), allowDevices, ownWhere: `earlier in ${file}` });
  try {
    await readTar(tar, async (e) => {
      const { member, placed } = rules.check(e);
      members.push(member);
      const account = ACCOUNT_FILES[member.path];
      const text = account !== undefined && member.type === "file" && member.size <= MAX_ACCOUNT_FILE ? new TextCollector() : undefined;
      const hashes = member.type === "file" ? await fileHashes(e.body, text) : placed.shares !== undefined ? hashed.get(placed.shares) : undefined;
      if (member.type === "file") hashed.set(placed.index, hashes!);
      if (hashes) files.set(member.path, { path: member.path, ...hashes });
      else files.delete(member.path);
      // The latest member at the path decides; one whose text is not at hand makes the names unknown.
      if (account !== undefined) accounts[account] = text?.text() ?? null;
      if (member.path === "/etc" && member.type !== "dir") accounts.passwd = accounts.group = null;
    });
  } catch (e) {
    // Exit 1 like the member checks: README promises `image` refuses an unsafe --add tar.
    if (e instanceof FormatError) throw new CheckFailedError(`--add ${file} is not a tar archive (${e.message})`, { hint: "give a tar (or tar.gz) of the files to add" });
    throw e;
  }
  if (members.length === 0) throw new CheckFailedError(`--add ${file} is not a tar archive, or an empty one`, { hint: "give a tar (or tar.gz) of the files to add" });
  return { members, files: [...files.values()].sort((a, b) => comparePaths(a.path, b.path)), accounts };
}

/** The account files `--user` names are looked up in, and the largest read (real ones are a few KB). */
const ACCOUNT_FILES: Readonly<Record<string, "passwd" | "group">> = { "/etc/passwd": "passwd", "/etc/group": "group" };
const MAX_ACCOUNT_FILE = 1 << 20;

/** The chunks of one small file, as text. */
class TextCollector {
  private readonly chunks: Uint8Array[] = [];
  add(chunk: Uint8Array): void {
    this.chunks.push(chunk.slice());
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
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

async function fileHashes(body: AsyncIterable<Uint8Array>, keep?: TextCollector): Promise<{ sha1: string; sha256: string }> {
  const sha1 = createHash("sha1");
  const sha256 = createHash("sha256");
  for await (const chunk of body) {
    keep?.add(chunk);
    sha1.update(chunk);
    sha256.update(chunk);
  }
  return { sha1: sha1.digest("hex"), sha256: sha256.digest("hex") };
}
