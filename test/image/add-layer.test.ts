// --add TAR: tars made with GNU tar here; gzip used as given, plain tars compressed; the
// diff_id checked against `gzip -dc | sha256sum`; unsafe member names refused.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckFailedError, IOError } from "../../src/model/errors.js";
import { loadAddedLayer } from "../../src/image/add-layer.js";
import { rejection, removeDir, tempDir } from "../lock/helpers.js";
import { must } from "./helpers.js";

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
    expect(Buffer.compare(Buffer.from(a.blob), await readFile(gz))).toBe(0);
    expect(a.digest).toBe(await sha(`sha256sum "${gz}"`));
    expect(a.diffId).toBe(await sha(`gzip -dc "${gz}" | sha256sum`));
    expect(a.name).toBe("app.tar.gz");
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
    expect((await loadAddedLayer(tar)).files).toEqual([
      { path: "/bin/a", ...(await hashes("new\n")) },
      { path: "/bin/b", ...(await hashes("bee\n")) },
      { path: "/bin/b-link", ...(await hashes("bee\n")) },
    ]);
  });

  it("gzips a plain tar; the blob decompresses to it", async () => {
    const tar = join(work, "app.tar");
    const a = await loadAddedLayer(tar);
    expect(a.wasGzip).toBe(false);
    expect(a.blob[0]).toBe(0x1f);
    expect(a.blob[1]).toBe(0x8b);
    expect(a.diffId).toBe(await sha(`sha256sum "${tar}"`));
    await writeFile(join(work, "blob.gz"), a.blob);
    expect(await sha(`gzip -dc "${join(work, "blob.gz")}" | sha256sum`)).toBe(a.diffId);
    expect(a.digest).toBe(await sha(`sha256sum "${join(work, "blob.gz")}"`));
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
