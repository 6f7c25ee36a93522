/**
 * podman runs the OCI image layout that `image --output DIR` writes, straight from the
 * directory (`oci:DIR:TAG`), as a user types it: the committed example lock's image (both
 * architectures, built offline from snapshots/) plus a layer holding the gcc-built probe program.
 * podman picks the host's platform from the multi-arch index, keeps the config's user, and the
 * program runs as 65532:65532 with the image's TZ and the layer's CA bundle.
 *
 * podman runs as root with a private store (vfs, in a temp dir), runc, cgroupfs and explicit
 * ulimits: what works on a CI machine without systemd or delegated cgroups. Skips, saying why,
 * without podman or runc, without root, or on a host that cannot run amd64.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { parseProbeOutput } from "../fixtures/probe-program.js";
import { cleanEnv, compileCli, must, run } from "./helpers.js";
import { APP, buildProbeTar, bundleCertificates, expectedOutput, ROOT, sha256File, snapshotMirrorArgs } from "./probe-image.js";

const PODMAN = "/usr/bin/podman";
const RUNC = "/usr/sbin/runc";
/** The layout's directory, in the work dir. */
const LAYOUT = "image";

function skipReason(): string | undefined {
  if (!existsSync(PODMAN)) return `${PODMAN} is missing (apt-get install podman)`;
  if (!existsSync(RUNC)) return `${RUNC} is missing (apt-get install runc)`;
  if (process.getuid?.() !== 0) return "the test runs podman as root with a private store";
  if (process.arch !== "x64") return `the host is ${process.arch}; the test builds and runs an amd64 program`;
  return undefined;
}

const skip = skipReason();
if (skip) console.log(`podman test skipped: ${skip}`);

const json = <T>(s: string): T => JSON.parse(s) as T;

interface Descriptor {
  digest: string;
  annotations?: Record<string, string>;
}

let work: string;
let store: string;
let layout: string;
let lock: Lockfile;
let appTar: string;
let amd64Config: string;
let bundleCerts: number;

/**
 * podman with a store of its own (nothing of the machine's containers is read or written), in
 * the work dir: podman 4 names an image pulled from `oci:PATH` after PATH, which must then be
 * lowercase, so the layout is named relative to it as a user would ("oci:image:latest").
 */
function podman(args: string[]): ReturnType<typeof run> {
  const global = ["--root", join(store, "root"), "--runroot", join(store, "run"), "--tmpdir", join(store, "tmp"), "--storage-driver", "vfs"];
  global.push("--cgroup-manager", "cgroupfs", "--runtime", RUNC, "--events-backend", "none");
  return run(PODMAN, [...global, ...args], { cwd: work, env: cleanEnv({ TMPDIR: join(store, "tmp") }) });
}

async function podmanMust(args: string[]): Promise<string> {
  const r = await podman(args);
  if (r.code !== 0) throw new Error(`podman ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The blob a descriptor names, in the layout. */
const blob = (digest: string): string => join(layout, "blobs", ...digest.split(":"));

beforeAll(async () => {
  if (skip) return;
  work = await mkdtemp(join(tmpdir(), "scratch-pkgs-podman-"));
  // Short: conmon puts its sockets under the run root, and they must fit a sun_path.
  store = await mkdtemp("/tmp/spp-");
  lock = json<Lockfile>(await readFile(join(ROOT, "scratch.lock"), "utf8"));
  const [cli, app] = await Promise.all([compileCli(join(work, "cli")), buildProbeTar(work)]);
  appTar = app.tar;

  layout = join(work, LAYOUT);
  const args = [cli, "image", "--lockfile", join(ROOT, "scratch.lock"), "--output", layout, "--add", appTar, "--entrypoint", JSON.stringify([APP])];
  await must(process.execPath, [...args, ...snapshotMirrorArgs(), "--cache", join(work, "cache"), "--quiet"], { cwd: work, env: cleanEnv() });

  // The amd64 manifest by its tag, its config (the image ID podman must report) and the lock's layer in it.
  const index = json<{ manifests: Descriptor[] }>(await readFile(join(layout, "index.json"), "utf8"));
  const tagged = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === "latest-amd64");
  if (!tagged) throw new Error(`${layout}/index.json has no manifest tagged latest-amd64`);
  const manifest = json<{ config: Descriptor; layers: Descriptor[] }>(await readFile(blob(tagged.digest), "utf8"));
  amd64Config = manifest.config.digest;
  bundleCerts = await bundleCertificates(blob(manifest.layers[0]!.digest));
}, 120_000);

afterAll(async () => {
  if (store) await rm(store, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
}, 60_000);

describe.skipIf(skip !== undefined)("podman: the OCI layout of the committed lock", () => {
  it("podman pull oci:DIR:latest takes the amd64 image from the multi-arch index", async () => {
    const out = await podmanMust(["pull", `oci:${LAYOUT}:latest`]);
    expect(out.trim().split("\n").pop()).toBe(amd64Config.replace(/^sha256:/, ""));
  });

  it("podman image inspect reports the lock's layer, the added layer and the nonroot user", async () => {
    const [img] = json<Array<{ Id: string; Config: { User: string; Entrypoint: string[] }; RootFS: { Type: string; Layers: string[] } }>>(await podmanMust(["image", "inspect", amd64Config.replace(/^sha256:/, "")]));
    expect(img!.Id).toBe(amd64Config.replace(/^sha256:/, ""));
    expect(img!.Config.User).toBe("65532:65532");
    expect(img!.Config.Entrypoint).toEqual([APP]);
    expect(img!.RootFS.Layers).toEqual([lock.architectures.amd64!.layer.diffId, "sha256:" + (await sha256File(appTar))]);
  });

  it("podman run --network none oci:DIR:latest-amd64 runs the program as 65532:65532 with the image's TZ (UTC) and the layer's CA bundle", async () => {
    const r = await podman(["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", `oci:${LAYOUT}:latest-amd64`]);
    expect(r.code, r.stderr).toBe(0);
    expect(bundleCerts).toBeGreaterThan(100);
    expect(parseProbeOutput(r.stdout)).toEqual(expectedOutput("UTC", bundleCerts));
  });
});
