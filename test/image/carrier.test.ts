// `image --no-lock`: a file carrier, an image of nothing but the --add tars, through the compiled
// CLI as a user runs it. No archive and no lock: the expected digests come from sha256sum and
// gzip -dc over the tars given and the blobs written, and skopeo and umoci must accept the result.
import { existsSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, tempDir } from "../lock/helpers.js";
import { cleanEnv, compileCli, must, run } from "./helpers.js";

const hasSkopeo = existsSync("/usr/bin/skopeo");
const canUmoci = existsSync("/usr/bin/umoci") && process.getuid?.() === 0;

let work: string;
let main: string;
let n = 0;
const out = (name: string): string => join(work, "out", `${n++}-${name}`);
const json = <T = Record<string, unknown>>(s: string): T => JSON.parse(s) as T;

/** sha256sum's digest of a file, or of what a shell pipeline prints, as "sha256:…". */
const sha256sum = async (file: string, filter = "cat"): Promise<string> => "sha256:" + (await must("sh", ["-c", `${filter} "$1" | sha256sum`, "sh", file])).split(/\s/)[0];

/** Runs the CLI in `cwd` (default: the work dir, which has no scratch.lock). */
const cli = (args: string[], o: { env?: Record<string, string>; umask?: string; cwd?: string } = {}) =>
  run("sh", ["-c", `umask ${o.umask ?? "022"}; exec "$0" "$@"`, process.execPath, main, "image", ...args], { env: cleanEnv(o.env ?? {}), cwd: o.cwd ?? work });

const EPOCH = "1700000000";

beforeAll(async () => {
  work = await tempDir("image-carrier");
  await mkdir(join(work, "out"), { recursive: true });
  main = await compileCli(join(work, "cli"));
  // One plain tar per architecture ({arch} in --add), and one gzip tar shared by both.
  for (const arch of ["amd64", "arm64"]) {
    const root = join(work, `root-${arch}`);
    await mkdir(join(root, "app/bin"), { recursive: true });
    await writeFile(join(root, "app/bin/tool"), `tool for ${arch}\n`, { mode: 0o755 });
    await must("tar", ["-C", root, "--sort=name", "--owner=0", "--group=0", "--mtime=@0", "-cf", join(work, `tool-${arch}.tar`), "app"]);
  }
  const data = join(work, "root-data");
  await mkdir(join(data, "app/share"), { recursive: true });
  await writeFile(join(data, "app/share/data.txt"), "shared data\n", { mode: 0o644 });
  await must("sh", ["-c", `tar -C "$1" --sort=name --owner=0 --group=0 --mtime=@0 -cf - app/share | gzip -n -9 > "$2"`, "sh", data, join(work, "data.tar.gz")]);
});

afterAll(async () => {
  if (work) await removeDir(work);
});

const carrierArgs = (output: string): string[] => ["--no-lock", "--arch", "arm64", "--arch", "amd64", "--add", join(work, "tool-{arch}.tar"), "--add", join(work, "data.tar.gz"), "--output", output, "--json"];

interface Config {
  created: string;
  architecture: string;
  variant?: string;
  config: Record<string, unknown>;
  rootfs: { diff_ids: string[] };
  history: Array<{ created: string; created_by: string }>;
}

describe("an OCI layout of only the --add tars", () => {
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = out("oci-a");
    b = out("oci-b");
    const ra = await cli(carrierArgs(a), { env: { SOURCE_DATE_EPOCH: EPOCH, TZ: "Pacific/Kiritimati", LC_ALL: "C" }, umask: "077" });
    const rb = await cli(carrierArgs(b), { env: { SOURCE_DATE_EPOCH: EPOCH, TZ: "America/Los_Angeles", LANG: "C.UTF-8" }, umask: "022" });
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
  });

  it("is the same bytes across TZ, locale and umask", async () => {
    expect(await readFile(join(a, "index.json"))).toEqual(await readFile(join(b, "index.json")));
    const names = async (d: string) => (await readdir(join(d, "blobs/sha256"))).sort();
    expect(await names(a)).toEqual(await names(b));
    for (const name of await names(a)) {
      expect(await sha256sum(join(a, "blobs/sha256", name))).toBe(`sha256:${name}`);
      expect((await lstat(join(a, "blobs/sha256", name))).mode & 0o777).toBe(0o644);
    }
  });

  it("is the same image when --platform names the platforms", async () => {
    const c = out("oci-platform");
    const args = carrierArgs(c).filter((x) => x !== "--arch" && x !== "arm64" && x !== "amd64");
    const r = await cli([...args, "--platform", "linux/arm64", "--platform", "linux/amd64"], { env: { SOURCE_DATE_EPOCH: EPOCH } });
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(c, "index.json"))).toEqual(await readFile(join(a, "index.json")));
  });

  it("has a multi-arch index and per-arch tags, and no SBOM referrer", async () => {
    const index = json<{ manifests: Array<{ digest: string; artifactType?: string; annotations?: Record<string, string> }> }>(await readFile(join(a, "index.json"), "utf8"));
    expect(index.manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"])).toEqual(["latest", "latest-amd64", "latest-arm64"]);
    expect(index.manifests.some((m) => m.artifactType !== undefined)).toBe(false);
    const multi = json<{ manifests: Array<{ platform: Record<string, string> }> }>(await readFile(join(a, "blobs/sha256", index.manifests[0]!.digest.slice(7)), "utf8"));
    expect(multi.manifests.map((m) => m.platform)).toEqual([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux", variant: "v8" },
    ]);
  });

  it.skipIf(!hasSkopeo)("skopeo reads each platform: layers are the tars, config holds nothing Debian-derived", async () => {
    const created = (await must("date", ["-u", "-d", `@${EPOCH}`, "+%Y-%m-%dT%H:%M:%SZ"])).trim();
    for (const arch of ["amd64", "arm64"]) {
      const ref = `oci:${a}:latest`;
      const over = ["--override-arch", arch, "--override-os", "linux"];
      const inspect = json<{ Architecture: string; Created: string; Layers: string[] }>(await must("skopeo", [...over, "inspect", ref]));
      const config = json<Config>(await must("skopeo", [...over, "inspect", "--config", ref]));
      const tool = join(work, `tool-${arch}.tar`);
      const data = join(work, "data.tar.gz");
      expect(inspect.Architecture).toBe(arch);
      expect(inspect.Created).toBe(created);
      expect(config.variant).toBe(arch === "arm64" ? "v8" : undefined);
      // The plain tar is gzip-compressed: its blob decompresses to the tar. The gzip tar is used as given.
      expect(inspect.Layers).toHaveLength(2);
      expect(await sha256sum(join(a, "blobs/sha256", inspect.Layers[0]!.slice(7)), "gzip -dc")).toBe(await sha256sum(tool));
      expect(inspect.Layers[1]).toBe(await sha256sum(data));
      expect(config.rootfs.diff_ids).toEqual([await sha256sum(tool), await sha256sum(data, "gzip -dc")]);
      // As `docker build` makes FROM scratch: PATH only, no user (root).
      expect(config.config).toEqual({ Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] });
      expect(config.history.map((h) => h.created_by)).toEqual([`scratch-pkgs image --add tool-${arch}.tar`, "scratch-pkgs image --add data.tar.gz"]);
      expect(config.history.every((h) => h.created === created)).toBe(true);
    }
  });

  it.skipIf(!canUmoci)("umoci unpacks exactly the files of the tars", async () => {
    for (const arch of ["amd64", "arm64"]) {
      const bundle = out(`bundle-${arch}`);
      await must("umoci", ["unpack", "--image", `${a}:latest-${arch}`, bundle]);
      const rootfs = join(bundle, "rootfs");
      const listed = (await must("find", [rootfs, "-mindepth", "1", "-printf", "/%P %m\n"])).trim().split("\n").sort();
      expect(listed).toEqual(["/app 755", "/app/bin 755", "/app/bin/tool 755", "/app/share 755", "/app/share/data.txt 644"]);
      expect(await readFile(join(rootfs, "app/bin/tool"), "utf8")).toBe(`tool for ${arch}\n`);
    }
  });

  it.skipIf(!hasSkopeo)("is created at 1970-01-01T00:00:00Z without SOURCE_DATE_EPOCH, and with --env and --user as given", async () => {
    const dir = out("oci-epoch0");
    const r = await cli(["--no-lock", "--arch", "amd64", "--add", join(work, "data.tar.gz"), "--output", dir, "--env", "TZ=UTC", "--user", "1000:1000"]);
    expect(r.code, r.stderr).toBe(0);
    const config = json<Config>(await must("skopeo", ["--override-arch", "amd64", "--override-os", "linux", "inspect", "--config", `oci:${dir}:latest`]));
    expect(config.created).toBe("1970-01-01T00:00:00Z");
    expect(config.config).toEqual({ User: "1000:1000", Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TZ=UTC"] });
  });
});

describe("--user names come from the image's own /etc/passwd and /etc/group: the topmost --add tar that has them", () => {
  /** A GNU tar of etc/passwd and etc/group with these lines (and, optionally, etc/passwd a symlink instead). */
  const accountsTar = async (name: string, passwd: string, group: string, link = false) => {
    const root = join(work, `accounts-${name}`);
    await mkdir(join(root, "etc"), { recursive: true });
    if (link) await must("ln", ["-s", "../usr/share/passwd", join(root, "etc/passwd")]);
    else await writeFile(join(root, "etc/passwd"), passwd);
    await writeFile(join(root, "etc/group"), group);
    const tar = join(work, `accounts-${name}.tar`);
    await must("tar", ["-C", root, "--sort=name", "--owner=0", "--group=0", "--mtime=@0", "-cf", tar, "etc"]);
    return tar;
  };
  const user = (tars: string[], value: string) => cli(["--no-lock", "--arch", "amd64", ...tars.flatMap((t) => ["--add", t]), "--output", out("user"), "--user", value, "--json"]);

  it("accepts names the image defines, refuses others naming the tar, and names a link it cannot read", async () => {
    const app = await accountsTar("app", "root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1000::/home/app:/sbin/nologin\n", "root:x:0:\napp:x:1000:\n");
    const other = await accountsTar("other", "root:x:0:0:root:/root:/sbin/nologin\nsvc:x:2000:2000::/:/sbin/nologin\n", "root:x:0:\nsvc:x:2000:\n");
    const linked = await accountsTar("linked", "", "root:x:0:\n", true);
    const ok = await user([app], "app:app");
    expect(ok.code, ok.stderr).toBe(0);
    // The later tar's files are the image's: app is gone, svc is there.
    const gone = await user([app, other], "app");
    expect(gone.code).toBe(2);
    expect(json<{ error: { message: string } }>(gone.stdout).error.message).toBe(`--user "app": no user "app" in the image's /etc/passwd (from --add ${other}; it has root, svc)`);
    expect((await user([app, other], "svc:svc")).code).toBe(0);
    const unreadable = await user([linked], "root");
    expect(unreadable.code).toBe(2);
    expect(json<{ error: { message: string } }>(unreadable.stdout).error.message).toBe(`--user "root": user name "root", but /etc/passwd in --add ${linked} is not a regular file, so its names cannot be checked`);
    // Without any account file: names cannot be looked up at all, numbers can.
    const none = await user([join(work, "data.tar.gz")], "app");
    expect(none.code).toBe(2);
    expect(json<{ error: { message: string } }>(none.stdout).error.message).toContain("but the image has no /etc/passwd to look it up in");
    expect((await user([join(work, "data.tar.gz")], "1000:1000")).code).toBe(0);
  });
});

describe("a docker-archive of only the --add tars", () => {
  it.skipIf(!hasSkopeo)("holds one platform that skopeo reads, with the tars' diff_ids", async () => {
    const tar = out("carrier.tar");
    const r = await cli(["--no-lock", "--arch", "arm64", "--add", join(work, "tool-{arch}.tar"), "--add", join(work, "data.tar.gz"), "--output", tar, "--tag", "example/files:1"], { env: { SOURCE_DATE_EPOCH: EPOCH } });
    expect(r.code, r.stderr).toBe(0);
    const inspect = json<{ Architecture: string; Layers: string[]; RepoTags: string[] }>(await must("skopeo", ["inspect", `docker-archive:${tar}`]));
    expect(inspect.Architecture).toBe("arm64");
    expect(inspect.Layers).toEqual([await sha256sum(join(work, "tool-arm64.tar")), await sha256sum(join(work, "data.tar.gz"), "gzip -dc")]);
    const manifest = json<Array<{ RepoTags: string[] }>>(await must("tar", ["-xOf", tar, "manifest.json"]));
    expect(manifest[0]!.RepoTags).toEqual(["example/files:1"]);
  });
});

describe("usage", () => {
  const failure = async (args: string[], cwd?: string) => {
    const r = await cli([...args, "--json"], cwd === undefined ? {} : { cwd });
    const doc = json<{ ok: boolean; error: { kind: string; message: string; hint?: string } }>(r.stdout);
    return { code: r.code, ...doc.error };
  };

  it("refuses --no-lock without --add, without --arch, with an unknown --arch, with --lockfile or --sbom (exit 2)", async () => {
    const add = ["--add", join(work, "data.tar.gz")];
    const cases: Array<[string[], RegExp]> = [
      [["--no-lock", "--arch", "amd64"], /--add/],
      [["--no-lock", ...add], /--arch/],
      [["--no-lock", "--arch", "vax", ...add], /vax/],
      [["--no-lock", "--platform", "linux/vax", ...add], /--platform linux\/vax/],
      [["--no-lock", "--arch", "amd64", "--arch", "arm64", ...add, "--output", out("two.tar")], /docker-archive.*--arch and --platform name amd64, arm64/],
      [["--no-lock", "--lockfile", "scratch.lock", "--arch", "amd64", ...add], /--no-lock and --lockfile/],
      [["--no-lock", "--arch", "amd64", ...add, "--sbom", "s.json"], /--sbom/],
    ];
    for (const [args, message] of cases) {
      const output = args.includes("--output") ? [] : ["--output", out("refused")];
      const e = await failure([...args, ...output]);
      expect(e.code, args.join(" ")).toBe(2);
      expect(e.kind, args.join(" ")).toBe("usage");
      expect(e.message, args.join(" ")).toMatch(message);
    }
    expect(await readdir(join(work, "out"))).not.toContain(expect.stringMatching(/refused|two\.tar/));
  });

  it("without --no-lock, a missing lock is the lockfile error (exit 2) whose hint names both ways on", async () => {
    for (const args of [[], ["--add", join(work, "data.tar.gz"), "--arch", "amd64"], ["--lockfile", join(work, "missing.lock")]]) {
      const e = await failure([...args, "--output", out("no-lock")]);
      expect(e.code).toBe(2);
      expect(e.kind).toBe("lockfile");
      expect(e.hint).toMatch(/scratch-pkgs lock/);
      expect(e.hint).toMatch(/--no-lock --add TAR --arch ARCH/);
    }
  });

  it("refuses a SOURCE_DATE_EPOCH that is not whole seconds (exit 2)", async () => {
    const r = await cli(["--no-lock", "--arch", "amd64", "--add", join(work, "data.tar.gz"), "--output", out("bad-epoch")], { env: { SOURCE_DATE_EPOCH: "yesterday" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/SOURCE_DATE_EPOCH=yesterday/);
  });
});
