/**
 * What a real Docker engine makes of what we build, on a private dockerd (vfs storage, no
 * networking; see docker-daemon.ts). The committed example lock's amd64 packages come from the
 * repository's recorded snapshots through file: mirrors, so nothing touches the network.
 *
 * - The docker-archive that `image --output FILE.tar` writes, plus a layer holding the gcc-built
 *   probe program: `docker load` reports the IDs and config the lock implies, `docker run` runs
 *   the program as the nonroot user, and `docker save` gives back the same layers.
 * - The layer tar that `layer --output` writes, used from a Dockerfile (`FROM scratch`,
 *   `ADD layer.tar /`, `COPY` the program) with the classic builder: the program runs, and the
 *   container's filesystem (`docker export`) holds every entry of the layer with its mode, owner,
 *   link target and bytes.
 *
 * Expected values come from the lock, from files hashed or unpacked here with GNU tar, and from
 * Node's own time zone data. Skips, saying why, without /usr/sbin/dockerd or root (or on a host
 * that cannot run amd64).
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { parseProbeOutput, PROBE_ZONE } from "../fixtures/probe-program.js";
import { readDiskTree, type DiskEntry } from "../layer/helpers.js";
import { Daemon, dockerSkipReason } from "./docker-daemon.js";
import { cleanEnv, compileCli, must } from "./helpers.js";
import { APP, buildProbeTar, bundleCertificates, expectedOutput, ROOT, sha256File, snapshotMirrorArgs } from "./probe-image.js";

const TAG = "scratch-pkgs-test/docker-engine";
const BUILT = "scratch-pkgs-test/dockerfile";
const skip = dockerSkipReason();
if (skip) console.log(`docker engine test skipped: ${skip}`);

const json = <T>(s: string): T => JSON.parse(s) as T;

let work: string;
let daemon: Daemon | undefined;
let lock: Lockfile;
let archive: string;
let app: { binary: string; tar: string };
let layerTar: string;
let bundleCerts: number;
let unpacked: string;
let manifest: DockerManifest;

interface DockerManifest {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

beforeAll(async () => {
  if (skip) return;
  work = await mkdtemp(join(tmpdir(), "scratch-pkgs-docker-"));
  lock = json<Lockfile>(await readFile(join(ROOT, "scratch.lock"), "utf8"));
  // A short private dir for the daemon: its sockets must fit a sun_path.
  daemon = new Daemon(await mkdtemp("/tmp/spd-"));
  const [cli, built] = await Promise.all([compileCli(join(work, "cli")), buildProbeTar(work), daemon.start()]);
  app = built;

  // One after the other: the second reads what the first left in the cache.
  const common = ["--lockfile", join(ROOT, "scratch.lock"), "--arch", "amd64", ...snapshotMirrorArgs(), "--cache", join(work, "cache"), "--quiet"];
  archive = join(work, "image.tar");
  await must(process.execPath, [cli, "image", ...common, "--output", archive, "--add", app.tar, "--entrypoint", JSON.stringify([APP]), "--tag", TAG], { cwd: work, env: cleanEnv() });
  layerTar = join(work, "layer.tar");
  await must(process.execPath, [cli, "layer", ...common, "--output", layerTar], { cwd: work, env: cleanEnv() });

  // The archive as files (GNU tar reads it), and the count of the CA bundle's certificates
  // the program must print.
  unpacked = join(work, "archive");
  await mkdir(unpacked);
  await must("tar", ["-xf", archive, "-C", unpacked]);
  manifest = json<DockerManifest[]>(await readFile(join(unpacked, "manifest.json"), "utf8"))[0]!;
  bundleCerts = await bundleCertificates(layerTar);
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}, 60_000);

describe.skipIf(skip !== undefined)("docker engine: the docker-archive of the committed lock", () => {
  let imageId: string;

  beforeAll(async () => {
    // The image ID is the digest of the config blob the archive's manifest.json names.
    imageId = "sha256:" + (await sha256File(join(unpacked, manifest.Config)));
  });

  it("docker load accepts it under the tag given", async () => {
    const out = await daemon!.must(["load", "-i", archive]);
    expect(out).toContain(`Loaded image: ${TAG}:latest`);
  });

  it("docker image inspect reports the config digest, the lock's layer, the added layer and the image config", async () => {
    const [img] = json<
      Array<{ Id: string; RepoTags: string[]; Architecture: string; Os: string; Created: string; RootFS: { Type: string; Layers: string[] }; Config: { User: string; Entrypoint: string[]; Cmd: string[] | null; Env: string[] } }>
    >(await daemon!.must(["image", "inspect", `${TAG}:latest`]));
    const tzSet = lock.architectures.amd64!.derivations.find((d) => d.recipe === "tzdata");
    expect(img!.Id).toBe(imageId);
    expect(img!.RepoTags).toEqual([`${TAG}:latest`]);
    expect(img!.Architecture).toBe("amd64");
    expect(img!.Os).toBe("linux");
    expect(img!.RootFS).toEqual({ Type: "layers", Layers: [lock.architectures.amd64!.layer.diffId, "sha256:" + (await sha256File(app.tar))] });
    expect(img!.Config.User).toBe("65532:65532");
    expect(img!.Config.Entrypoint).toEqual([APP]);
    expect(img!.Config.Cmd ?? null).toBeNull();
    expect(img!.Config.Env).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
      `TZ=${String(tzSet?.options.timezone)}`,
    ]);
    expect(tzSet?.options.timezone).toBe("UTC");
    expect(Date.parse(img!.Created)).toBe(lock.sourceDateEpoch * 1000);
    expect(img!.Created).toBe(new Date(lock.sourceDateEpoch * 1000).toISOString().replace(".000Z", "Z"));
  });

  it("docker run executes the program as 65532:65532 with the image's TZ (UTC) and the layer's CA bundle", async () => {
    const r = await daemon!.docker(["run", "--rm", "--network", "none", `${TAG}:latest`]);
    expect(r.code, r.stderr).toBe(0);
    expect(bundleCerts).toBeGreaterThan(100);
    expect(parseProbeOutput(r.stdout)).toEqual(expectedOutput("UTC", bundleCerts));
  });

  it("docker run -e TZ=Europe/Amsterdam reads the layer's zoneinfo: CEST in summer, CET in winter", async () => {
    const r = await daemon!.docker(["run", "--rm", "--network", "none", "-e", "TZ=Europe/Amsterdam", `${TAG}:latest`]);
    expect(r.code, r.stderr).toBe(0);
    const want = expectedOutput(PROBE_ZONE, bundleCerts);
    expect(want.start.map((t) => `${t.abbr} ${t.offset}`)).toEqual(["CEST +0200", "CET +0100"]);
    expect(parseProbeOutput(r.stdout)).toEqual(want);
  });

  it("docker save gives back the same config and layer bytes", async () => {
    const saved = join(work, "saved.tar");
    const dir = join(work, "saved");
    await daemon!.must(["save", "-o", saved, `${TAG}:latest`]);
    await mkdir(dir);
    await must("tar", ["-xf", saved, "-C", dir]);
    const [m] = json<DockerManifest[]>(await readFile(join(dir, "manifest.json"), "utf8"));
    expect("sha256:" + (await sha256File(join(dir, m!.Config)))).toBe(imageId);
    const layers = await Promise.all(m!.Layers.map(async (l) => "sha256:" + (await sha256File(join(dir, l)))));
    expect(layers).toEqual([lock.architectures.amd64!.layer.diffId, "sha256:" + (await sha256File(app.tar))]);
  });
});

/** The Dockerfile the README shows: the layer unpacked by ADD, the program copied beside it. */
const DOCKERFILE = `FROM scratch
ADD layer.tar /
COPY app ${APP}
USER 65532:65532
ENTRYPOINT ["${APP}"]
`;

describe.skipIf(skip !== undefined)("docker build: FROM scratch, ADD the lock's layer tar, COPY a program", () => {
  let layer: Map<string, DiskEntry>;
  let container: Map<string, DiskEntry>;

  beforeAll(async () => {
    const context = join(work, "context");
    await mkdir(context);
    await Promise.all([copyFile(layerTar, join(context, "layer.tar")), copyFile(app.binary, join(context, "app")), writeFile(join(context, "Dockerfile"), DOCKERFILE)]);
    await chmod(join(context, "app"), 0o755); // COPY keeps the mode; not the test's umask
    await daemon!.must(["build", "--network", "none", "--tag", BUILT, "."], context);

    // Both trees as GNU tar unpacks them as root: owners and modes as each tar records them.
    const exported = join(work, "exported.tar");
    const id = (await daemon!.must(["create", BUILT])).trim();
    await daemon!.must(["export", "--output", exported, id]);
    await daemon!.must(["rm", id]);
    const unpack = async (tar: string, into: string): Promise<Map<string, DiskEntry>> => {
      await mkdir(into);
      await must("tar", ["-x", "--numeric-owner", "-f", tar, "-C", into]);
      return readDiskTree(into);
    };
    [layer, container] = await Promise.all([unpack(layerTar, join(work, "layer-tree")), unpack(exported, join(work, "container-tree"))]);
  }, 60_000);

  it("builds from the very layer the lock pins", async () => {
    expect("sha256:" + (await sha256File(layerTar))).toBe(lock.architectures.amd64!.layer.diffId);
  });

  it("docker run --network none runs the program as 65532:65532, in UTC from /etc/localtime, with the layer's CA bundle", async () => {
    const r = await daemon!.docker(["run", "--rm", "--network", "none", BUILT]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseProbeOutput(r.stdout)).toEqual(expectedOutput("UTC", bundleCerts));
  });

  it("the container holds every entry of the layer with its type, mode, owner, link target and bytes", () => {
    // What a program in the container sees of each entry; mtimes are not compared.
    const same = (a: DiskEntry, b: DiskEntry) =>
      a.type === b.type && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.target === b.target && (a.content === undefined ? b.content === undefined : b.content !== undefined && a.content.equals(b.content));
    expect(layer.size).toBeGreaterThan(500);
    const differing = [...layer].filter(([path, e]) => {
      const c = container.get(path);
      return c === undefined || !same(c, e);
    });
    expect(differing.map(([path]) => path)).toEqual([]);
  });

  it("the nonroot home, /tmp, /etc/localtime, the loader link, the CA hash links and the bundle are there as Debian and distroless have them", () => {
    expect(container.get("/home/nonroot")).toMatchObject({ type: "dir", mode: 0o700, uid: 65532, gid: 65532 });
    expect(container.get("/tmp")).toMatchObject({ type: "dir", mode: 0o1777, uid: 0, gid: 0 });
    expect(container.get("/etc/localtime")).toMatchObject({ type: "symlink", target: layer.get("/etc/localtime")!.target });
    expect(layer.get("/etc/localtime")!.target).toMatch(/\/zoneinfo\/UTC$/);
    // The loader link: /lib64/ld-linux-x86-64.so.2 as bookworm ships it, or in a merged-/usr
    // layer (trixie) /usr/lib64/ld-linux-x86-64.so.2 with /lib64 a link to usr/lib64.
    const merged = layer.get("/lib64")?.type === "symlink";
    const loader = merged ? "/usr/lib64/ld-linux-x86-64.so.2" : "/lib64/ld-linux-x86-64.so.2";
    expect(container.get(loader)).toMatchObject({ type: "symlink", target: layer.get(loader)!.target });
    if (merged) expect(container.get("/lib64")).toMatchObject({ type: "symlink", target: layer.get("/lib64")!.target });
    const hashLinks = [...layer].filter(([path, e]) => /^\/etc\/ssl\/certs\/[0-9a-f]{8}\.\d$/.test(path) && e.type === "symlink");
    expect(hashLinks.length).toBeGreaterThan(100);
    for (const [path, e] of hashLinks) expect(container.get(path), path).toMatchObject({ type: "symlink", target: e.target });
    const bundle = container.get("/etc/ssl/certs/ca-certificates.crt");
    expect(bundle?.type).toBe("file");
    expect(bundle!.content!.equals(layer.get("/etc/ssl/certs/ca-certificates.crt")!.content!)).toBe(true);
    expect(container.get(APP)).toMatchObject({ type: "file", mode: 0o755, uid: 0, gid: 0 });
  });
});
