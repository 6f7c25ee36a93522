/**
 * Reads a .deb (already verified by sha256) into its control files and the list of its
 * data.tar members: ar container → debian-binary, control.tar.*, data.tar.* (deb(5)), each
 * decompressed and parsed as a stream. Each tar's members obey member-rules.ts (as an
 * `image --add` tar does); whether a member passes through another package's symlink is the
 * layer tree's check.
 */

import { createHash } from "node:crypto";
import { FormatError } from "../model/errors.js";
import type { DebMember, NodeType } from "../model/layer.js";
import type { DecodedDigest, DecodedMemberName, DecodedMembers } from "../model/lock.js";
import { readArMembers, type ArMember } from "./ar.js";
import { decompressMember, memberCompression, type MemberCompression } from "./decompress.js";
import { DebFormatError } from "./errors.js";
import { TarRules, type CheckedMember } from "./member-rules.js";
import { readEntryBody, readTar, type TarEntry } from "./tar-reader.js";

export { DebFormatError } from "./errors.js";

export interface DebContents {
  /** The control file's text. */
  control: string;
  /** The md5sums control file's text, when the package has one. */
  md5sums: string | undefined;
  /** Every regular file of control.tar by name: control, md5sums, conffiles, postinst, … */
  controlFiles: Map<string, Uint8Array>;
  /** Every data.tar member in archive order; `content` only for regular files that are wanted. */
  data: DebMember[];
  /** sha256 and size of the decompressed control.tar and data.tar that were read. */
  decoded: DecodedMembers;
}

export interface ReadDebOptions {
  /** How errors name the .deb, e.g. "libc6_2.36-9_amd64.deb". */
  label: string;
  /**
   * Asked for each regular file and hard link of data.tar: whether its bytes are needed. Only
   * wanted files get `content`; a file also gets it when a wanted hard link points to it (the
   * link's bytes are its target's). Default: every file.
   */
  want?: (path: string, type: NodeType) => boolean;
  /**
   * A store for the decompressed control.tar and data.tar of this (already hash-verified) .deb:
   * `load` gives a member back from an earlier run, so xz is decoded once per package and
   * machine; `save` receives it after a successful read. The tar is parsed and checked exactly
   * as when decompressed.
   */
  plain?: PlainTarStore;
}

export type TarMemberName = DecodedMemberName;

export interface PlainTarStore {
  /** A member decoded earlier, whose bytes the store has checked to have `sha256`; undefined: decode it. */
  load(member: TarMemberName): Promise<{ tar: Uint8Array; sha256: string } | undefined>;
  /** The member as decoded in this run, with its digest, after a successful read. */
  save(member: TarMemberName, tar: Uint8Array[], digest: DecodedDigest): Promise<void>;
}

const MAX_DEBIAN_BINARY = 1024;

export async function readDeb(path: string, opts: ReadDebOptions): Promise<DebContents> {
  const { label } = opts;
  const want = opts.want ?? (() => true);
  let sawVersion = false;
  let controlFiles: Map<string, Uint8Array> | undefined;
  let controlMember = "control.tar";
  let controlDigest: DecodedDigest | undefined;
  let data: { members: DebMember[]; needs: Set<number>; member: ArMember; kind: MemberCompression; digest: DecodedDigest } | undefined;

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
      const read = await throughStore(opts.plain, "control.tar", m, kind, (source) => readControlTar(m, kind, label, source));
      controlFiles = read.value;
      controlDigest = read.digest;
      controlMember = m.name;
    } else {
      const kind = memberKind(m, "data.tar", label);
      const read = await throughStore(opts.plain, "data.tar", m, kind, (source) => readDataTar(m, kind, label, (p, type) => want(p, type), source));
      data = { ...read.value, member: m, kind, digest: read.digest };
    }
  }
  if (!sawVersion) throw new DebFormatError(label, undefined, "the ar archive is empty: not a Debian binary package");
  if (controlFiles === undefined || controlDigest === undefined) throw new DebFormatError(label, undefined, "no control.tar member");
  if (data === undefined) throw new DebFormatError(label, undefined, "no data.tar member");

  const controlBytes = controlFiles.get("control");
  if (controlBytes === undefined) throw new DebFormatError(label, controlMember, 'no "control" file');
  const md5sums = controlFiles.get("md5sums");

  if (data.needs.size > 0) await fillLinkTargets(path, label, data.member, data.kind, data.members, data.needs);

  return {
    control: decodeText(controlBytes),
    md5sums: md5sums === undefined ? undefined : decodeText(md5sums),
    controlFiles,
    data: data.members,
    decoded: { "control.tar": controlDigest, "data.tar": data.digest },
  };
}

/**
 * Reads a tar member from the store when it holds it, else decompressed (hashing what it
 * decodes, and saving it after a good read); either way with the decoded member's digest.
 */
async function throughStore<T>(
  store: PlainTarStore | undefined,
  name: TarMemberName,
  m: ArMember,
  kind: MemberCompression,
  read: (source: AsyncIterable<Uint8Array>) => Promise<T>,
): Promise<{ value: T; digest: DecodedDigest }> {
  const stored = await store?.load(name);
  if (stored) return { value: await read(once(stored.tar)), digest: { sha256: stored.sha256, size: stored.tar.length } };
  const chunks: Uint8Array[] = [];
  const hash = createHash("sha256");
  let size = 0;
  const value = await read(
    tap(decompressMember(kind, m.stream()), (c) => {
      hash.update(c);
      size += c.length;
      if (store) chunks.push(c.slice());
    }),
  );
  // readTar consumes its source to the end on success, so this is the digest of the whole member.
  const digest = { sha256: hash.digest("hex"), size };
  if (store) await store.save(name, chunks, digest);
  return { value, digest };
}

/** Pass chunks through, showing each to `see` first. */
async function* tap(input: AsyncIterable<Uint8Array>, see: (chunk: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  for await (const c of input) {
    see(c);
    yield c;
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
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

async function readControlTar(m: ArMember, kind: MemberCompression, label: string, source?: AsyncIterable<Uint8Array>): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const rules = debRules(label);
  await readTarMember(
    m,
    kind,
    label,
    async (e) => {
      const member = await toDebMember(e, rules.check(e).member, label, () => true);
      if (member.type === "file" && member.content !== undefined) files.set(member.path.slice(1), member.content);
    },
    source,
  );
  return files;
}

async function readDataTar(
  m: ArMember,
  kind: MemberCompression,
  label: string,
  want: (path: string, type: NodeType, index: number) => boolean,
  source?: AsyncIterable<Uint8Array>,
): Promise<{ members: DebMember[]; needs: Set<number> }> {
  const members: DebMember[] = [];
  const needs = new Set<number>();
  const rules = debRules(label);
  await readTarMember(m, kind, label, async (e) => {
    const index = members.length;
    const { member: checked, placed } = rules.check(e);
    const member = await toDebMember(e, checked, label, (p, t) => want(p, t, index));
    // A hard link's bytes are its file's: read them when the link is wanted.
    if (placed.shares !== undefined && want(member.path, "hardlink", index) && members[placed.shares]!.content === undefined) needs.add(placed.shares);
    members.push(member);
  }, source);
  return { members, needs };
}

/** Second pass over data.tar for files whose bytes only wanted hard links need (rare: avoids buffering all files up front). */
async function fillLinkTargets(
  path: string,
  label: string,
  dataMember: ArMember,
  kind: MemberCompression,
  members: DebMember[],
  needs: Set<number>,
): Promise<void> {
  for await (const m of readArMembers(path, label)) {
    if (m.offset !== dataMember.offset) continue;
    let index = 0;
    const rules = debRules(label);
    await readTarMember(m, kind, label, async (e) => {
      const i = index++;
      const again = await toDebMember(e, rules.check(e).member, label, () => needs.has(i));
      const first = members[i];
      if (first === undefined || first.member !== again.member) {
        throw new DebFormatError(label, m.name, "changed while it was being read");
      }
      if (again.content !== undefined) first.content = again.content;
    });
    return;
  }
  throw new DebFormatError(label, dataMember.name, "changed while it was being read");
}

/** A .deb's tars never hold devices, and a refusal names the .deb and the member. */
function debRules(label: string): TarRules {
  return new TarRules({ refuse: (member, detail, hint) => new DebFormatError(label, member, detail, hint ? { hint } : undefined) });
}

/** The reader's form of a checked member; reads its body when it is a wanted regular file. */
async function toDebMember(e: TarEntry, m: CheckedMember, label: string, want: (path: string, type: NodeType) => boolean): Promise<DebMember> {
  // No devices reach here: debRules refuses them.
  const type = m.type as NodeType;
  const base = { path: m.path, member: m.member, type, mode: m.mode & 0o7777, uid: m.uid, gid: m.gid, size: m.size, ...(m.target !== undefined ? { target: m.target } : {}) };
  if (type !== "file" || !want(m.path, "file")) return base;
  const content = await readEntryBody(e.body, e.size);
  if (content.length !== e.size) throw new DebFormatError(label, e.name, `holds ${content.length} bytes but its header says ${e.size}`);
  return { ...base, content };
}

function decodeText(bytes: Uint8Array): string {
  return new TextDecoder("utf-8").decode(bytes);
}
