// --add TAR: tars made with GNU tar here; gzip used as given, plain tars compressed; the
// diff_id checked against `gzip -dc | sha256sum`; unsafe member names refused; a 64 MiB tar
// streamed through `image`, not held in memory.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckFailedError, IOError } from "../../src/model/errors.js";
import { loadAddedLayer } from "../../src/image/add-layer.js";
import { compressLayer } from "../../src/codec/compress.js";
import { runImage, type ImageOptions } from "../../src/commands/image.js";
import type { Fetcher } from "../../src/fetch/fetcher.js";
import { readExtent } from "../../src/util/file-extent.js";
import { rejection, removeDir, tempDir } from "../lock/helpers.js";
import { must } from "./helpers.js";
import { heldDuring } from "../fixtures/held-memory.js";

let work: string;

beforeAll(async () => {
  work = await tempDir("image-add");
  await mkdir(join(work, "root/usr/local/bin"), { recursive: true });
  await writeFile(join(work, "root/usr/local/bin/app"), "#!app\n", { mode: 0o755 });
  await must("tar", ["-C", join(work, "root"), "--sort=name", "--owner=0", "--group=0", "--mtime=@0", "-cf", join(work, "app.tar"), "usr"]);
  await must("sh", ["-c", `gzip -9 -n -c "$1" > "$2"`, "sh", join(work, "app.tar"), join(work, "app.tar.gz")]);
  // Unsafe names: an absolute member and one that climbs out (GNU tar keeps both with -P).
  await mkdir(join(work, "sub"), { recursive: true });
  await writeFile(join(work, "outside"), "x\n");
  await must("tar", ["-P", "-cf", join(work, "abs.tar"), join(work, "outside")]);
  await must("tar", ["-P", "-C", join(work, "sub"), "-cf", join(work, "dotdot.tar"), "../outside"]);
  await writeFile(join(work, "not-a-tar"), "hello, this is not a tar archive\n".repeat(40));
});

afterAll(async () => {
  await removeDir(work);
});

const sha = async (cmd: string): Promise<string> => "sha256:" + (await must("sh", ["-c", cmd])).split(/\s/)[0];

describe("loadAddedLayer", () => {
  it("uses a gzip file byte for byte; the diff_id is the uncompressed tar's sha256", async () => {
    const gz = join(work, "app.tar.gz");
    const a = await loadAddedLayer(gz);
    expect(a.wasGzip).toBe(true);
    expect(Buffer.compare(Buffer.from(readExtent(a.blob!)), await readFile(gz))).toBe(0);
    expect(a.tar).toBeUndefined();
    expect(a.digest).toBe(await sha(`sha256sum "${gz}"`));
    expect(a.diffId).toBe(await sha(`gzip -dc "${gz}" | sha256sum`));
    expect(a.name).toBe("app.tar.gz");
    a.remove();
    // A docker-archive keeps the tar: decompressed to a spool.
    const t = await loadAddedLayer(gz, { keep: "tar" });
    expect(Buffer.compare(Buffer.from(readExtent(t.tar!)), await readFile(join(work, "app.tar")))).toBe(0);
    expect([t.digest, t.diffId]).toEqual([a.digest, a.diffId]);
    t.remove();
  });

  it("lists its regular files with sha1 and sha256, hard links as their target's bytes, the last member of a path winning", async () => {
    const root = join(work, "files-root");
    await mkdir(join(root, "bin"), { recursive: true });
    await writeFile(join(root, "bin/b"), "bee\n");
    await writeFile(join(root, "bin/a"), "old\n");
    await must("ln", [join(root, "bin/b"), join(root, "bin/b-link")]);
    await must("ln", ["-s", "b", join(root, "bin/sym")]);
    const tar = join(work, "files.tar");
    await must("tar", ["-C", root, "--sort=name", "-cf", tar, "./bin"]);
    await writeFile(join(root, "bin/a"), "new\n");
    await must("tar", ["-C", root, "-rf", tar, "./bin/a"]);
    const hashes = async (text: string) => ({
      sha1: (await must("sh", ["-c", `printf %s "$1" | sha1sum`, "sh", text])).split(/\s/)[0],
      sha256: (await must("sh", ["-c", `printf %s "$1" | sha256sum`, "sh", text])).split(/\s/)[0],
    });
    const added = await loadAddedLayer(tar);
    added.remove();
    expect(added.files).toEqual([
      { path: "/bin/a", ...(await hashes("new\n")) },
      { path: "/bin/b", ...(await hashes("bee\n")) },
      { path: "/bin/b-link", ...(await hashes("bee\n")) },
    ]);
  });

  it("gzips a plain tar as the in-memory compressor does; the blob decompresses to it; a pipe works as a file", async () => {
    const tar = join(work, "app.tar");
    const a = await loadAddedLayer(tar);
    expect(a.wasGzip).toBe(false);
    const blob = readExtent(a.blob!);
    expect(Buffer.compare(Buffer.from(blob), Buffer.from((await compressLayer(await readFile(tar), "gzip")).bytes))).toBe(0);
    expect(Buffer.compare(Buffer.from(readExtent(a.tar!)), await readFile(tar))).toBe(0);
    expect(a.diffId).toBe(await sha(`sha256sum "${tar}"`));
    await writeFile(join(work, "blob.gz"), blob);
    expect(await sha(`gzip -dc "${join(work, "blob.gz")}" | sha256sum`)).toBe(a.diffId);
    expect(a.digest).toBe(await sha(`sha256sum "${join(work, "blob.gz")}"`));
    // A pipe cannot be read twice: what an image needs of it is copied as it passes.
    const fifo = join(work, "app.fifo");
    await must("mkfifo", [fifo]);
    const writer = must("sh", ["-c", `cat "$1" > "$2"`, "sh", tar, fifo]);
    const p = await loadAddedLayer(fifo, { keep: "tar" });
    await writer;
    expect(Buffer.compare(Buffer.from(readExtent(p.tar!)), await readFile(tar))).toBe(0);
    expect([p.digest, p.diffId, p.fileDigest]).toEqual([a.digest, a.diffId, a.fileDigest]);
    for (const l of [a, p]) l.remove();
  });

  it("refuses absolute and .. members, and non-tars", async () => {
    for (const [f, why] of [
      ["abs.tar", /absolute member path refused/],
      ["dotdot.tar", /"\.\." segment refused/],
      ["not-a-tar", /not a tar/],
    ] as const) {
      const e = await rejection(loadAddedLayer(join(work, f)));
      expect(e).toBeInstanceOf(CheckFailedError);
      expect(e.exitCode).toBe(1);
      expect(e.message).toContain(join(work, f));
      expect(e.message).toMatch(why);
    }
    expect(await rejection(loadAddedLayer(join(work, "missing.tar")))).toBeInstanceOf(IOError);
  });
});

describe("a 64 MiB --add tar.gz", () => {
  const size = 64 * 1024 * 1024;
  let gz: string;
  beforeAll(async () => {
    const root = join(work, "big-root");
    await mkdir(root);
    await must("sh", ["-c", `head -c ${size} /dev/zero > "$1/zeros" && tar -C "$1" --owner=0 --group=0 --mtime=@0 -cf - zeros | gzip -1 -n > "$2"`, "sh", root, join(work, "big.tar.gz")]);
    await rm(root, { recursive: true });
    gz = join(work, "big.tar.gz");
  });

  const image = (output: string): Promise<unknown> =>
    runImage({ lockfile: "scratch.lock", noLock: true, arches: ["amd64"], output, add: [gz], entrypoint: [], cmd: [], user: undefined, env: [], workdir: undefined, labels: [], tag: undefined, sbom: undefined, mirrors: [], envMirror: undefined, aptSources: undefined, fetcher: undefined as unknown as Fetcher } satisfies ImageOptions);

  it("is streamed into an OCI layout and a docker-archive, never held whole; the digests are sha256sum's", async () => {
    const diffId = await sha(`gzip -dc "${gz}" | sha256sum`);
    const oci = join(work, "big-oci");
    expect((await heldDuring(() => image(oci))).held, "OCI layout").toBeLessThan(size / 2);
    const index = JSON.parse(await readFile(join(oci, "index.json"), "utf8")) as { manifests: Array<{ digest: string }> };
    const blobFile = (digest: string) => join(oci, "blobs/sha256", digest.slice("sha256:".length));
    const manifest = JSON.parse(await readFile(blobFile(index.manifests[1]!.digest), "utf8")) as { config: { digest: string }; layers: Array<{ digest: string; size: number }> };
    const config = JSON.parse(await readFile(blobFile(manifest.config.digest), "utf8")) as { rootfs: { diff_ids: string[] } };
    expect(config.rootfs.diff_ids).toEqual([diffId]);
    // The given gzip is the blob, byte for byte.
    expect(manifest.layers[0]!.digest).toBe(await sha(`sha256sum "${gz}"`));
    await must("cmp", [gz, blobFile(manifest.layers[0]!.digest)]);

    const archive = join(work, "big-docker.tar");
    expect((await heldDuring(() => image(archive))).held, "docker-archive").toBeLessThan(size / 2);
    expect(await sha(`tar -xOf "${archive}" "blobs/sha256/${diffId.slice("sha256:".length)}" | sha256sum`)).toBe(diffId);
  });
});
