// `image --add` tars obey the rules of a .deb's tars (src/deb/member-rules.ts): each hostile tar
// of test/fixtures/hostile-tars.ts (the very bytes test/deb/refuse.test.ts puts in a .deb) is
// refused with exit 1 naming the tar and the member; over the layers below it, an added tar may
// not write through their symlinks either; devices only with --allow-devices; a tar with links
// that are not written through is accepted, and umoci unpacks the image.
import { existsSync } from "node:fs";
import { mkdir, readdir, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runImage, type ImageOptions } from "../../src/commands/image.js";
import { loadAddedLayer } from "../../src/image/add-layer.js";
import type { Fetcher } from "../../src/fetch/fetcher.js";
import { CheckFailedError } from "../../src/model/errors.js";
import { buildTar } from "../fixtures/deb.js";
import { gnuTarWithFifo, HOSTILE_TARS } from "../fixtures/hostile-tars.js";
import { rejection, removeDir, tempDir } from "../lock/helpers.js";
import { cleanEnv, compileCli, must, run } from "./helpers.js";

const canUmoci = existsSync("/usr/bin/umoci") && process.getuid?.() === 0;

let work: string;
let main: string;
const cli = (args: string[]) => run(process.execPath, [main, "image", "--no-lock", "--arch", "amd64", ...args], { env: cleanEnv({}), cwd: work });

beforeAll(async () => {
  work = await tempDir("add-tar-rules");
  main = await compileCli(join(work, "cli"));
});

afterAll(async () => {
  if (work) await removeDir(work);
});

async function tarFile(name: string, bytes: Uint8Array): Promise<string> {
  const file = join(work, name);
  await writeFile(file, bytes);
  return file;
}

describe("a hostile --add tar is refused (exit 1), naming the tar and the member", () => {
  for (const [i, h] of HOSTILE_TARS.entries()) {
    it(`refuses ${h.what}`, async () => {
      const file = await tarFile(`hostile-${i}.tar`, await h.tar());
      const e = await rejection(loadAddedLayer(file));
      expect(e).toBeInstanceOf(CheckFailedError);
      expect(e.exitCode).toBe(1);
      expect(e.message).toContain(`--add ${file}: member ${JSON.stringify(h.member)}: `);
      expect(e.message).toContain(h.why);
    });
  }

  it("through the CLI: exit 1, the tar, the member and what to do on stderr, no output written", async () => {
    const file = await tarFile("through.tar", await HOSTILE_TARS[0]!.tar());
    const output = join(work, "through-out");
    const r = await cli(["--add", file, "--output", output]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`--add ${file}: member "./a/passwd": would be written through /a, a symlink to /etc`);
    expect(r.stderr).toMatch(/hint: build the tar from a directory/);
    expect(existsSync(output)).toBe(false);
  });
});

describe("an --add tar over the layers below it", () => {
  const carrier = (add: string[]): Promise<unknown> =>
    runImage({ lockfile: "scratch.lock", noLock: true, arches: ["amd64"], output: join(work, "never"), add, entrypoint: [], cmd: [], user: undefined, env: [], workdir: undefined, labels: [], tag: undefined, sbom: undefined, mirrors: [], envMirror: undefined, aptSources: undefined, fetcher: undefined as unknown as Fetcher } satisfies ImageOptions);

  it("may not write through a symlink an earlier --add tar made, nor turn it into a directory", async () => {
    const links = await tarFile("links.tar", await buildTar([{ path: "./", type: "dir" }, { path: "./opt", type: "symlink", target: "/etc" }]));
    const through = await tarFile("over-through.tar", await buildTar([{ path: "./opt/passwd", type: "file", content: "pwned\n" }]));
    const asDir = await tarFile("over-dir.tar", await buildTar([{ path: "./opt/", type: "dir" }]));
    // Each is fine alone: only the layer below makes it unsafe.
    for (const f of [through, asDir]) (await loadAddedLayer(f)).remove();
    const e = await rejection(carrier([links, through]));
    expect(e).toBeInstanceOf(CheckFailedError);
    expect(e.message).toContain(`--add ${through}: member "./opt/passwd": would be written through /opt, a symlink to /etc (earlier in ${links})`);
    const d = await rejection(carrier([links, asDir]));
    expect(d).toBeInstanceOf(CheckFailedError);
    expect(d.message).toContain(`--add ${asDir}: member "./opt/": would replace /opt, a symlink to /etc (earlier in ${links}) with a directory`);
    expect(existsSync(join(work, "never"))).toBe(false);
  });
});

describe("devices and fifos", () => {
  it("are refused without --allow-devices, with a hint naming it, and put in the image with it", async () => {
    const fifo = await tarFile("fifo.tar", gnuTarWithFifo());
    const device = await tarFile("device.tar", await buildTar([{ path: "./dev/", type: "dir" }, { path: "./dev/null", type: "chardev", mode: 0o666, devmajor: 1, devminor: 3 }]));
    const refused = await cli(["--add", fifo, "--output", join(work, "fifo-out")]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`--add ${fifo}: member "./run/pipe": fifo refused`);
    expect(refused.stderr).toContain("--allow-devices");
    const allowed = await cli(["--allow-devices", "--add", fifo, "--add", device, "--output", join(work, "devices-out"), "--json"]);
    expect(allowed.code, allowed.stderr).toBe(0);
    const added = await loadAddedLayer(device, { allowDevices: true });
    added.remove();
    expect(added.members.map((m) => [m.path, m.type])).toEqual([["/dev", "dir"], ["/dev/null", "chardev"]]);
  });
});

describe("a tar with links that nothing is written through", () => {
  let tar: string;
  let output: string;
  beforeAll(async () => {
    const root = join(work, "good-root");
    await mkdir(join(root, "app/bin"), { recursive: true });
    await writeFile(join(root, "app/bin/tool"), "#!tool\n", { mode: 0o755 });
    await must("ln", [join(root, "app/bin/tool"), join(root, "app/bin/tool-hard")]);
    await must("ln", ["-s", "tool", join(root, "app/bin/alias")]);
    await must("ln", ["-s", "bin", join(root, "app/current")]);
    await must("ln", ["-s", "/nowhere", join(root, "app/dangling")]);
    tar = join(work, "good.tar");
    await must("tar", ["-C", root, "--sort=name", "--owner=0", "--group=0", "--mtime=@0", "-cf", tar, "."]);
    output = join(work, "good-out");
    const r = await cli(["--add", tar, "--output", output]);
    expect(r.code, r.stderr).toBe(0);
  });

  it("is accepted, its files listed with the hard link as its file", async () => {
    const added = await loadAddedLayer(tar);
    added.remove();
    expect(added.files.map((f) => f.path)).toEqual(["/app/bin/tool", "/app/bin/tool-hard"]);
  });

  it.skipIf(!canUmoci)("umoci unpacks the image, links as given", async () => {
    const bundle = join(work, "good-bundle");
    await must("umoci", ["unpack", "--image", `${output}:latest-amd64`, bundle]);
    const rootfs = join(bundle, "rootfs");
    expect((await readdir(join(rootfs, "app"))).sort()).toEqual(["bin", "current", "dangling"]);
    expect(await readlink(join(rootfs, "app/current"))).toBe("bin");
    expect(await readlink(join(rootfs, "app/bin/alias"))).toBe("tool");
  });
});
