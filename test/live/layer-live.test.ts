/**
 * Live: lock the project's own scratch.json against this machine's apt mirror, build the amd64
 * and arm64 layers, and check them with Debian's own tools: dpkg-deb -x of every cached .deb,
 * Debian's update-ca-certificates for the CA bundle, GNU tar for extraction; then, on amd64,
 * run a dynamically linked program built here with gcc inside the layer with chroot.
 * Skips with the reason when there is no mirror (or no root/chroot/gcc for the last part).
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { parseProvenance } from "../../src/layer/provenance-read.js";
import type { ProvenanceEntry } from "../../src/model/provenance.js";
import { EXAMPLE_SUITES, findLiveMirror, liveManifest, LIVE_CACHE as CACHE } from "./mirror.js";
import { runDebianCaInstall } from "../derive/debian-ca.js";
import { readTree, removeTempDirs } from "../derive/helpers.js";
import { layerWith, lockWith, must, readDiskTree, removeDir, run, type DiskEntry } from "../layer/helpers.js";
import { hasCommand } from "../fixtures/deb.js";
import { compileProbe, parseProbeOutput, PROBE_EPOCHS, PROBE_TIME_FORMAT, PROBE_ZONE, type ProbeTime } from "../fixtures/probe-program.js";

const ARCHES = ["amd64", "arm64"] as const;
const LOADER: Record<string, string> = { amd64: "/lib64/ld-linux-x86-64.so.2", arm64: "/lib/ld-linux-aarch64.so.1" };

let skip: string | undefined;
let mirrors: string[] = [];
let work: string;
let lock: Lockfile;
const layers = new Map<string, { tar: string; root: string; tree: Map<string, DiskEntry>; entries: ProvenanceEntry[] }>();
const debs = new Map<string, { root: string; control: string; tree: Map<string, DiskEntry> }>();

function debPath(sha256: string): string {
  return join(CACHE, "sha256", sha256.slice(0, 2), sha256);
}

/** dpkg-deb -x and -e of a locked package's cached .deb, once per file. */
async function extracted(sha256: string): Promise<{ root: string; control: string; tree: Map<string, DiskEntry> }> {
  const hit = debs.get(sha256);
  if (hit) return hit;
  const root = join(work, "debs", sha256.slice(0, 16));
  const control = root + ".control";
  mkdirSync(join(work, "debs"), { recursive: true });
  await must("dpkg-deb", ["-x", debPath(sha256), root]);
  await must("dpkg-deb", ["-e", debPath(sha256), control]);
  const e = { root, control, tree: readDiskTree(root) };
  debs.set(sha256, e);
  return e;
}

/** Follows `path` inside an extracted tree as the kernel would inside a chroot at `root`. */
function resolveInRoot(root: string, path: string): string {
  let parts = path.split("/").filter(Boolean);
  let done: string[] = [];
  for (let hops = 0; parts.length > 0; ) {
    const name = parts.shift()!;
    if (name === ".") continue;
    if (name === "..") {
      done.pop();
      continue;
    }
    const full = join(root, ...done, name);
    const st = lstatSync(full);
    if (!st.isSymbolicLink()) {
      done.push(name);
      continue;
    }
    if (++hops > 40) throw new Error(`too many links resolving ${path}`);
    const target = readlinkSync(full);
    parts = [...target.split("/").filter(Boolean), ...parts];
    if (target.startsWith("/")) done = [];
  }
  return "/" + done.join("/");
}

beforeAll(async () => {
  const found = await findLiveMirror(EXAMPLE_SUITES);
  ({ skip } = found);
  mirrors = found.mirror?.mirrors ?? [];
  if (!skip && !["dpkg-deb", "tar", "openssl"].every((t) => hasCommand(t, t === "openssl" ? "version" : "--version"))) skip = "dpkg-deb, tar or openssl is missing";
  if (skip) {
    console.log(`live layer test skipped: ${skip}`);
    return;
  }
  work = await mkdtemp(join(tmpdir(), "scratch-pkgs-live-layer-"));
  const lockfile = join(work, "scratch.lock");
  lock = (await lockWith({ config: liveManifest(work), lockfile, cache: CACHE, mirrors, live: true })).lock;
  const results = await layerWith({ lockfile, cache: CACHE, mirrors, live: true, output: join(work, "layer-{arch}.tar") });
  expect(results.map((r) => r.arch)).toEqual([...ARCHES]);
  for (const r of results) {
    const root = join(work, `root-${r.arch}`);
    mkdirSync(root);
    await must("tar", ["-x", "--numeric-owner", "-f", r.output!, "-C", root]);
    layers.set(r.arch, { tar: r.output!, root, tree: readDiskTree(root), entries: parseProvenance(readFileSync(r.provenance!, "utf8"), r.provenance!).entries });
  }
}, 240_000);

afterAll(async () => {
  removeTempDirs();
  await removeDir(work);
});

describe("live: the layers of the example manifest", () => {
  it("every file, symlink, directory and mode taken from a package equals dpkg-deb -x of its cached .deb", async (ctx) => {
    if (skip) return ctx.skip(skip);
    for (const arch of ARCHES) {
      const layer = layers.get(arch)!;
      const taken = new Map<string, number>();
      for (const pkg of lock.architectures[arch]!.packages) {
        const deb = await extracted(pkg.sha256);
        const mine = layer.entries.filter((e) => e.origin.kind === "package" && e.origin.package === pkg.name);
        taken.set(pkg.name, mine.length);
        for (const e of mine) {
          expect(e.origin).toMatchObject({ version: pkg.version, architecture: pkg.architecture });
          const want = deb.tree.get(e.path);
          const got = layer.tree.get(e.path);
          expect(want, `${arch} ${pkg.name}: ${e.path} is not in dpkg-deb -x's tree`).toBeDefined();
          expect(got, `${arch}: ${e.path} is not in the extracted layer`).toBeDefined();
          expect(got!.type, `${arch} ${e.path}`).toBe(want!.type);
          if (want!.type === "symlink") expect(got!.target, `${arch} ${e.path}`).toBe(want!.target);
          else expect(got!.mode.toString(8), `${arch} ${e.path} mode`).toBe(want!.mode.toString(8));
          if (want!.type === "file") expect(got!.content!.equals(want!.content!), `${arch} ${e.path} bytes`).toBe(true);
        }
      }
      for (const name of ["libc6", "ca-certificates", "tzdata", "base-files", "netbase"]) expect(taken.get(name), `${arch} ${name}`).toBeGreaterThan(0);
      // docs stay out, but for each package's copyright file (its doc directory may be a link to a sibling's)
      const keys = [...layer.tree.keys()];
      expect(keys.filter((p) => p.startsWith("/usr/share/man/"))).toEqual([]);
      expect(keys.filter((p) => p.startsWith("/usr/share/doc/") && !/^\/usr\/share\/doc\/[^/]+(\/copyright)?$/.test(p))).toEqual([]);
      expect(keys).toEqual(expect.arrayContaining(["/usr/share/doc/libc6/copyright", "/usr/share/doc/ca-certificates/copyright", "/usr/share/doc/tzdata/copyright"]));
    }
  }, 120_000);

  it("/etc/ssl/certs and /etc/ca-certificates.conf equal what Debian's update-ca-certificates makes from the same .deb", async (ctx) => {
    if (skip) return ctx.skip(skip);
    const pkg = lock.architectures.amd64!.packages.find((p) => p.name === "ca-certificates")!;
    const deb = await extracted(pkg.sha256);
    const oracle = runDebianCaInstall(deb.root, deb.control);
    for (const arch of ARCHES) {
      const root = layers.get(arch)!.root;
      const ours = readTree(join(root, "etc/ssl/certs"));
      expect([...ours.keys()].sort(), arch).toEqual([...oracle.certs.keys()].sort());
      for (const [name, theirs] of oracle.certs) {
        const mine = ours.get(name)!;
        if (theirs.type === "symlink") expect(mine, `${arch} ${name}`).toEqual(theirs);
        else expect(mine.type === "file" && mine.content.equals(theirs.content), `${arch} ${name} bytes`).toBe(true);
      }
      expect(readFileSync(join(root, "etc/ca-certificates.conf")).equals(oracle.conf), `${arch} ca-certificates.conf`).toBe(true);
    }
    const bundle = oracle.certs.get("ca-certificates.crt");
    expect(bundle?.type === "file" && bundle.content.length > 100_000).toBe(true);
  }, 120_000);

  it("generated files: /etc/localtime, /etc/timezone, passwd, group, home and tmp as the contract says", (ctx) => {
    if (skip) return ctx.skip(skip);
    for (const arch of ARCHES) {
      const { root, tree } = layers.get(arch)!;
      expect(readlinkSync(join(root, "etc/localtime"))).toBe("/usr/share/zoneinfo/UTC");
      expect(tree.get(resolveInRoot(root, "/etc/localtime"))?.type).toBe("file");
      expect(readFileSync(join(root, "etc/timezone"), "utf8")).toBe("UTC\n");
      expect(readFileSync(join(root, "etc/passwd"), "utf8")).toBe(
        "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
      );
      const groups = readFileSync(join(root, "etc/group"), "utf8").split("\n").filter(Boolean).map((l) => l.split(":").slice(0, 3).join(":"));
      expect(groups.sort()).toEqual(["nobody:x:65534", "nonroot:x:65532", "root:x:0"]);
      expect(tree.get("/home/nonroot")).toMatchObject({ type: "dir", mode: 0o700, uid: 65532, gid: 65532 });
      expect(tree.get("/tmp")).toMatchObject({ type: "dir", mode: 0o1777 });
      expect(readFileSync(join(root, resolveInRoot(root, "/etc/os-release")), "utf8")).toMatch(/^ID=debian$/m);
    }
  });

  it("the dynamic loader is where the ELF interpreter path points, and resolves to a regular ELF file", (ctx) => {
    if (skip) return ctx.skip(skip);
    for (const arch of ARCHES) {
      const { root, tree } = layers.get(arch)!;
      expect(() => lstatSync(join(root, LOADER[arch]!.slice(1))), `${arch}: ${LOADER[arch]}`).not.toThrow();
      const real = resolveInRoot(root, LOADER[arch]!);
      const file = tree.get(real);
      expect(file?.type, `${arch}: ${LOADER[arch]} → ${real}`).toBe("file");
      expect(file!.content!.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
      expect(file!.mode & 0o111).not.toBe(0);
    }
  });
});

// ---------------------------------------------------------------- end-to-end proof

function proofSkipReason(): string | undefined {
  if (skip) return skip;
  if (process.getuid?.() !== 0) return "chroot needs root";
  if (!hasCommand("chroot", "--version")) return "chroot is missing";
  if (!hasCommand("gcc", "--version")) return "gcc is missing";
  if (process.arch !== "x64") return `the host is ${process.arch}, the proof runs an amd64 program`;
  if (!existsSync("/usr/share/zoneinfo/Europe/Amsterdam")) return "the host has no tzdata to compute the expected times with date(1)";
  return undefined;
}

describe("live: a gcc-built program runs inside the amd64 layer (chroot)", () => {
  it("prints Amsterdam time from /etc/localtime and TZ, and counts the bundle's certificates", async (ctx) => {
    const why = proofSkipReason();
    if (why) {
      console.log(`live chroot proof skipped: ${why}`);
      return ctx.skip(why);
    }
    // A copy of the example manifest whose tzdata set names Europe/Amsterdam (amd64 only).
    const dir = join(work, "amsterdam");
    mkdirSync(dir);
    const config = liveManifest(dir, (manifest) => {
      manifest.architectures = ["amd64"];
      manifest.fileSets.tzdata = { ...manifest.fileSets.tzdata, timezone: "Europe/Amsterdam" };
    });
    const lockfile = join(dir, "scratch.lock");
    await lockWith({ config, lockfile, cache: CACHE, mirrors, live: true });
    const [r] = await layerWith({ lockfile, cache: CACHE, mirrors, live: true, output: join(dir, "layer.tar") });
    const root = join(dir, "root");
    mkdirSync(root);
    await must("tar", ["-x", "--numeric-owner", "-f", r!.output!, "-C", root]);
    expect(readlinkSync(join(root, "etc/localtime"))).toBe("/usr/share/zoneinfo/Europe/Amsterdam");

    await compileProbe(join(root, "prog"));
    // dynamically linked: its interpreter is the loader the layer must carry
    const interp = readFileSync(join(root, "prog")).includes(Buffer.from("/lib64/ld-linux-x86-64.so.2\0"));
    expect(interp).toBe(true);

    // no TZ in the environment: the "start" times must come from the layer's /etc/localtime
    const got = await run("chroot", [root, "/prog"], { env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" } });
    expect(got.code, got.stderr).toBe(0);

    const date = async (epoch: number): Promise<ProbeTime> => {
      const out = await must("date", ["-d", `@${epoch}`, `+${PROBE_TIME_FORMAT}`], { env: { TZ: PROBE_ZONE, PATH: process.env.PATH ?? "/usr/bin:/bin" } });
      const [day, time, abbr, offset] = out.toString().trim().split(" ");
      return { epoch, wall: `${day} ${time}`, abbr: abbr!, offset: offset! };
    };
    const times = await Promise.all(PROBE_EPOCHS.map(date));
    const count = (await must("grep", ["-c", "BEGIN CERTIFICATE", join(root, "etc/ssl/certs/ca-certificates.crt")])).toString().trim();
    expect(Number(count)).toBeGreaterThan(100);
    // the zone really changed something: one instant is +0200 and the other +0100
    expect(times.map((t) => `${t.abbr} ${t.offset}`)).toEqual(["CEST +0200", "CET +0100"]);
    // chroot as root: uid and gid 0
    expect(parseProbeOutput(got.stdout.toString("utf8"))).toEqual({ uid: 0, gid: 0, start: times, amsterdam: times, certificates: Number(count) });
  }, 180_000);
});
