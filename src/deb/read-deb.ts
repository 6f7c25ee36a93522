/**
 * Reads a .deb (already verified by sha256) into its control files and the list of its
 * data.tar members: ar container → debian-binary, control.tar.*, data.tar.* (deb(5)), each
 * decompressed and parsed as a stream. Each tar's members obey member-rules.ts (as an
 * `image --add` tar does); whether a member passes through another package's symlink is the
 * layer tree's check.
 */

import { createHash } from "node:crypto";
import { writeSync } from "node:fs";
import { open, unlink, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FormatError } from "../model/errors.js";
import type { DebMember, FileExtent, NodeType } from "../model/layer.js";
import { hashRange, memberExtent, readExtent, type ExtentFile } from "../util/file-extent.js";
import { tempFileName } from "../util/temp-files.js";
import { fileChunks } from "../util/file-chunks.js";
import type { DecodedDigest, DecodedMemberName, DecodedMembers } from "../model/lock.js";
import { readArMembers, type ArMember } from "./ar.js";
import { decompressMember, memberCompression, type MemberCompression } from "./decompress.js";
import { DebFormatError } from "./errors.js";
import { TarRules, type CheckedMember } from "./member-rules.js";
import { readTar, type TarEntry } from "./tar-reader.js";

export { DebFormatError } from "./errors.js";

export interface DebContents {
  /** The control file's text. */
  control: string;
  /** The md5sums control file's text, when the package has one. */
  md5sums: string | undefined;
  /** Every regular file of control.tar by name: control, md5sums, conffiles, postinst, … */
  controlFiles: Map<string, Uint8Array>;
  /**
   * Every data.tar member in archive order; an `extent` (where its bytes are in the decoded
   * data.tar, open until `release`) only for regular files that are wanted.
   */
  data: DebMember[];
  /** sha256 and size of the decompressed control.tar and data.tar that were read. */
  decoded: DecodedMembers;
  /** Close the decoded tars: the members' extents cannot be read after this. */
  release(): Promise<void>;
}

export interface ReadDebOptions {
  /** How errors name the .deb, e.g. "libc6_2.36-9_amd64.deb". */
  label: string;
  /**
   * Asked for each regular file and hard link of data.tar: whether its bytes are needed. Only
   * wanted files get an `extent`; a file also gets it when a wanted hard link points to it (the
   * link's bytes are its target's). Default: every file.
   */
  want?: (path: string, type: NodeType) => boolean;
  /**
   * A store for the decompressed control.tar and data.tar of this (already hash-verified) .deb:
   * `load` gives a member back from an earlier run, so xz is decoded once per package and
   * machine; otherwise the member is decoded into the store's temp file, which `keep` receives
   * after a successful read. The tar is parsed and checked exactly as when decompressed.
   * Without a store, members are decoded into a temp file that is unlinked at once.
   */
  plain?: PlainTarStore;
}

export type TarMemberName = DecodedMemberName;

export interface PlainTarStore {
  /** A member decoded earlier, open, its bytes checked through that handle to have `sha256`; undefined: decode it. */
  load(member: TarMemberName): Promise<{ file: FileHandle; sha256: string; size: number } | undefined>;
  /** A fresh temp file name of the store's to decode into. */
  tempPath(): Promise<string>;
  /** After a successful read: the member decoded at `tmp` in this run, with its digest; the store moves or removes it. */
  keep(member: TarMemberName, tmp: string, digest: DecodedDigest): Promise<void>;
}

const MAX_DEBIAN_BINARY = 1024;

export async function readDeb(path: string, opts: ReadDebOptions): Promise<DebContents> {
  const opened: FileHandle[] = [];
  const release = async () => {
    await Promise.all(opened.splice(0).map((f) => f.close().catch(() => {})));
  };
  try {
    return { ...(await readDebInto(path, opts, opened)), release };
  } catch (e) {
    await release();
    throw e;
  }
}

async function readDebInto(path: string, opts: ReadDebOptions, opened: FileHandle[]): Promise<Omit<DebContents, "release">> {
  const { label } = opts;
  const want = opts.want ?? (() => true);
  let sawVersion = false;
  let controlFiles: Map<string, Uint8Array> | undefined;
  let controlMember = "control.tar";
  let controlDigest: DecodedDigest | undefined;
  let data: { members: DebMember[]; digest: DecodedDigest } | undefined;

  for await (const m of readArMembers(path, label)) {
    if (!sawVersion) {
      if (m.name !== "debian-binary") {
        throw new DebFormatError(label, m.name, 'the first ar member must be "debian-binary": this is not a Debian binary package');
      }
      await checkFormatVersion(m, label);
      sawVersion = true;
    } else if (data !== undefined || m.name.startsWith("_")) {
      // deb(5): members after data.tar, and names starting with "_", are to be ignored.
    } else if (controlFiles === undefined) {
      const kind = memberKind(m, "control.tar", label);
      const read = await throughStore(opts.plain, "control.tar", m, kind, opened, (source, fd) => readControlTar(m, kind, label, source, fd));
      controlFiles = read.value;
      controlDigest = read.digest;
      controlMember = m.name;
    } else {
      const kind = memberKind(m, "data.tar", label);
      const read = await throughStore(opts.plain, "data.tar", m, kind, opened, (source, fd) => readDataTar(m, kind, label, (p, type) => want(p, type), source, fd));
      data = { members: read.value, digest: read.digest };
    }
  }
  if (!sawVersion) throw new DebFormatError(label, undefined, "the ar archive is empty: not a Debian binary package");
  if (controlFiles === undefined || controlDigest === undefined) throw new DebFormatError(label, undefined, "no control.tar member");
  if (data === undefined) throw new DebFormatError(label, undefined, "no data.tar member");

  const controlBytes = controlFiles.get("control");
  if (controlBytes === undefined) throw new DebFormatError(label, controlMember, 'no "control" file');
  const md5sums = controlFiles.get("md5sums");

  return {
    control: decodeText(controlBytes),
    md5sums: md5sums === undefined ? undefined : decodeText(md5sums),
    controlFiles,
    data: data.members,
    decoded: { "control.tar": controlDigest, "data.tar": data.digest },
  };
}

/**
 * Reads a tar member from the store when it holds it, else decompressed into a temp file
 * (hashing what it decodes, and handing the file to the store after a good read); either way
 * parsed from a stream, with the decoded member's digest and the open file its extents name.
 */
async function throughStore<T>(
  store: PlainTarStore | undefined,
  name: TarMemberName,
  m: ArMember,
  kind: MemberCompression,
  opened: FileHandle[],
  read: (source: AsyncIterable<Uint8Array>, fd: number) => Promise<T>,
): Promise<{ value: T; digest: DecodedDigest }> {
  const stored = await store?.load(name);
  if (stored) {
    opened.push(stored.file);
    return { value: await read(fileChunks(stored.file), stored.file.fd), digest: { sha256: stored.sha256, size: stored.size } };
  }
  const tmp = store ? await store.tempPath() : join(tmpdir(), tempFileName());
  const file = await open(tmp, "wx+", 0o600);
  opened.push(file);
  // Without a store, nobody needs the name: the open handle is all that is read from.
  if (!store) await unlink(tmp);
  const hash = createHash("sha256");
  let size = 0;
  let value: T;
  try {
    value = await read(
      tapAsync(decompressMember(kind, m.stream()), async (c) => {
        hash.update(c);
        // Synchronous: an asynchronous write per decoder chunk costs more in its round trip
        // through the thread pool than the write itself (the decoder runs in its own process).
        for (let at = 0; at < c.length; ) at += writeSync(file.fd, c, at, c.length - at, size + at);
        size += c.length;
      }),
      file.fd,
    );
  } catch (e) {
    if (store) await unlink(tmp).catch(() => {});
    throw e;
  }
  // readTar consumes its source to the end on success, so this is the digest of the whole member.
  const digest = { sha256: hash.digest("hex"), size };
  if (store) await store.keep(name, tmp, digest);
  return { value, digest };
}

/** Pass chunks through, awaiting `see` on each first. */
async function* tapAsync(input: AsyncIterable<Uint8Array>, see: (chunk: Uint8Array) => Promise<void>): AsyncGenerator<Uint8Array> {
  for await (const c of input) {
    await see(c);
    yield c;
  }
}

function memberKind(m: ArMember, base: "control.tar" | "data.tar", label: string): MemberCompression {
  const kind = memberCompression(m.name, base);
  if (kind === undefined) {
    const expected = base === "control.tar" ? "control.tar after debian-binary" : "data.tar after control.tar";
    throw new DebFormatError(label, m.name, `unexpected ar member: expected ${expected} (with .gz, .xz, .zst or no suffix)`);
  }
  if (kind === "unsupported") {
    throw new DebFormatError(label, m.name, "this compression is not supported: only uncompressed, gzip, xz and zstd tar members can be read", {
      hint: "Debian uses xz (and Ubuntu zstd); a package compressed otherwise must be repacked with dpkg-deb -Zxz.",
    });
  }
  return kind;
}

async function checkFormatVersion(m: ArMember, label: string): Promise<void> {
  if (m.size > MAX_DEBIAN_BINARY) throw new DebFormatError(label, m.name, `is ${m.size} bytes: not a format version`);
  const chunks: Uint8Array[] = [];
  for await (const c of m.stream()) chunks.push(c);
  const text = Buffer.concat(chunks).toString("latin1");
  const line = text.split("\n", 1)[0] ?? "";
  const v = /^([0-9]+)\.([0-9]+)$/.exec(line);
  if (v === null || !text.includes("\n")) {
    throw new DebFormatError(label, m.name, `malformed format version ${JSON.stringify(line)} (expected "2.0")`);
  }
  if (v[1] !== "2") {
    throw new DebFormatError(label, m.name, `unsupported .deb format version ${line}: only format 2.x is supported`);
  }
}

/** Runs one tar member through its decompressor and parser, turning format failures into DebFormatError. */
async function readTarMember(
  m: ArMember,
  kind: MemberCompression,
  label: string,
  onEntry: (e: TarEntry) => Promise<void>,
  source: AsyncIterable<Uint8Array> = decompressMember(kind, m.stream()),
): Promise<void> {
  try {
    await readTar(source, onEntry);
  } catch (e) {
    if (e instanceof FormatError) throw new DebFormatError(label, m.name, e.message, { cause: e });
    throw e;
  }
}

async function readControlTar(m: ArMember, kind: MemberCompression, label: string, source: AsyncIterable<Uint8Array>, fd: number): Promise<Map<string, Uint8Array>> {
  const extents = new Map<string, FileExtent>();
  const file: ExtentFile = { fd, label };
  const rules = debRules(label);
  await readTarMember(
    m,
    kind,
    label,
    async (e) => {
      const member = await toDebMember(e, rules.check(e).member, file, () => true);
      if (member.type === "file" && member.extent !== undefined) extents.set(member.path.slice(1), member.extent);
    },
    source,
  );
  // The control files are small, and wanted as text: read into memory.
  return new Map([...extents].map(([name, extent]) => [name, readExtent(extent)]));
}

async function readDataTar(
  m: ArMember,
  kind: MemberCompression,
  label: string,
  want: (path: string, type: NodeType, index: number) => boolean,
  source: AsyncIterable<Uint8Array>,
  fd: number,
): Promise<DebMember[]> {
  const members: DebMember[] = [];
  const needs = new Set<number>();
  const bodies = new Map<number, { offset: number; size: number }>();
  const rules = debRules(label);
  const file: ExtentFile = { fd, label };
  await readTarMember(m, kind, label, async (e) => {
    const index = members.length;
    const { member: checked, placed } = rules.check(e);
    const member = await toDebMember(e, checked, file, (p, t) => want(p, t, index));
    if (member.type === "file") bodies.set(index, { offset: e.offset, size: e.size });
    // A hard link's bytes are its file's: hashed below when the link is wanted.
    if (placed.shares !== undefined && want(member.path, "hardlink", index) && members[placed.shares]!.extent === undefined) needs.add(placed.shares);
    members.push(member);
  }, source);
  // The decoded tar is on disk by now: the files only wanted links need are hashed from there.
  for (const i of needs) {
    const body = bodies.get(i)!;
    const first = members[i]!;
    first.extent = memberExtent(file, body.offset, body.size, hashRange(fd, body.offset, body.size), first);
  }
  return members;
}

/** A .deb's tars never hold devices, and a refusal names the .deb and the member. */
function debRules(label: string): TarRules {
  return new TarRules({ refuse: (member, detail, hint) => new DebFormatError(label, member, detail, hint ? { hint } : undefined) });
}

/** The reader's form of a checked member; hashes its body, and records where it is, when it is a wanted regular file. */
async function toDebMember(e: TarEntry, m: CheckedMember, file: ExtentFile, want: (path: string, type: NodeType) => boolean): Promise<DebMember> {
  // No devices reach here: debRules refuses them.
  const type = m.type as NodeType;
  // One literal of every key, the extent set in place: members made by spreads were tenured by
  // V8, so every member of every package read stayed in the old generation as garbage.
  const member: DebMember = { path: m.path, member: m.member, type, mode: m.mode & 0o7777, uid: m.uid, gid: m.gid, size: m.size, target: m.target, extent: undefined };
  if (type !== "file" || !want(m.path, "file")) return member;
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of e.body) {
    hash.update(chunk);
    size += chunk.length;
  }
  if (size !== e.size) throw new DebFormatError(file.label, e.name, `holds ${size} bytes but its header says ${e.size}`);
  member.extent = memberExtent(file, e.offset, size, hash.digest("hex"), m);
  return member;
}

function decodeText(bytes: Uint8Array): string {
  return new TextDecoder("utf-8").decode(bytes);
}
