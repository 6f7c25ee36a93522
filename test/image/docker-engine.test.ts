/**
 * The docker-archive that `image --output FILE.tar` writes, checked by a real Docker engine: a
 * private dockerd (vfs storage, no networking) loads the committed example lock's amd64 image
 * plus a layer holding the gcc-built probe program, reports the IDs and config the lock implies, runs
 * the program as the nonroot user, and saves the same layers back. The lock's packages come
 * from the repository's recorded snapshots through file: mirrors, so nothing touches the network.
 * Expected values come from the lock, from files hashed here, and from Node's own time zone data.
 * Skips, saying why, without /usr/sbin/dockerd or root (or on a host that cannot run amd64).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, openSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lockfile } from "../../src/model/lock.js";
import { compileProbe, parseProbeOutput, PROBE_EPOCHS, PROBE_ZONE, type ProbeOutput, type ProbeTime } from "../fixtures/probe-program.js";
import { cleanEnv, compileCli, must, run } from "./helpers.js";

const ROOT = resolve(import.meta.dirname, "../..");
const DOCKERD = "/usr/sbin/dockerd";
const TAG = "scratch-pkgs-test/docker-engine";
const APP = "/usr/local/bin/app";
function skipReason(): string | undefined {
  if (!existsSync(DOCKERD)) return `${DOCKERD} is missing (apt-get install docker.io)`;
  if (process.getuid?.() !== 0) return "dockerd needs root";
  if (process.arch !== "x64") return `the host is ${process.arch}; the test builds and runs an amd64 program`;
  return undefined;
}

const skip = skipReason();
if (skip) console.log(`docker engine test skipped: ${skip}`);

const json = <T>(s: string): T => JSON.parse(s) as T;

function sha256File(file: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash("sha256");
    createReadStream(file)
      .on("data", (c) => h.update(c))
      .on("error", fail)
      .on("end", () => ok(h.digest("hex")));
  });
}

/** A private Docker daemon: its own data root, exec root and socket; stopped and removed by stop(). */
class Daemon {
  private proc: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  readonly sock: string;
  readonly log: string;
  private readonly env: NodeJS.ProcessEnv;

  // Unix socket paths are limited to ~108 bytes, and containerd puts its sockets under the exec root.
  constructor(readonly dir: string) {
    this.sock = join(dir, "d.sock");
    this.log = join(dir, "dockerd.log");
    this.env = cleanEnv({ DOCKER_CONFIG: join(dir, "client") });
    delete this.env.DOCKER_HOST;
    delete this.env.DOCKER_CONTEXT;
  }

  async start(): Promise<void> {
    const fd = openSync(this.log, "a");
    const args = ["--data-root", join(this.dir, "r"), "--exec-root", join(this.dir, "x"), "--pidfile", join(this.dir, "pid"), "-H", `unix://${this.sock}`];
    args.push("--storage-driver", "vfs", "--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-masq=false");
    const proc = spawn(DOCKERD, args, { stdio: ["ignore", fd, fd], env: this.env });
    closeSync(fd);
    this.proc = proc;
    let gone = false;
    this.exited = new Promise((ok) => proc.once("exit", () => ((gone = true), ok())));
    proc.once("error", () => (gone = true));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (gone) throw new Error(`dockerd exited during start-up:\n${readFileSync(this.log, "utf8")}`);
      if ((await this.docker(["version"])).code === 0) return;
      if (Date.now() > deadline) throw new Error(`dockerd did not answer on ${this.sock} within 20 s:\n${readFileSync(this.log, "utf8")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  docker(args: string[]): ReturnType<typeof run> {
    return run("docker", ["-H", `unix://${this.sock}`, ...args], { env: this.env });
  }

  async must(args: string[]): Promise<string> {
    const r = await this.docker(args);
    if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** SIGTERM, wait for dockerd (which stops its containerd) to exit, then remove every file it made. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const containerdPid = readPid(join(this.dir, "x", "containerd", "containerd.pid"));
      proc.kill("SIGTERM");
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 20_000).unref());
      if ((await Promise.race([this.exited, timeout])) === "timeout") {
        proc.kill("SIGKILL");
        await this.exited;
      }
      if (containerdPid !== undefined) await waitGone(containerdPid);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A process by pid and start time: the test suite spawns thousands of processes, so pids are reused. */
interface ProcessId {
  pid: number;
  started: string;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks), after the parenthesised command name. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function readPid(file: string): ProcessId | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    const started = Number.isInteger(pid) && pid > 0 ? startTime(pid) : undefined;
    return started !== undefined ? { pid, started } : undefined;
  } catch {
    return undefined;
  }
}

/** Waits for that very process to end; only it (same pid and start time) is ever killed. */
async function waitGone(p: ProcessId): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (startTime(p.pid) !== p.started) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (startTime(p.pid) === p.started) process.kill(p.pid, "SIGKILL");
}

let work: string;
let daemon: Daemon | undefined;
let lock: Lockfile;
let archive: string;
let appTar: string;
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

  const buildApp = async (): Promise<void> => {
    const root = join(work, "app-root");
    await mkdir(join(root, "usr/local/bin"), { recursive: true });
    await compileProbe(join(root, APP));
    appTar = join(work, "app.tar");
    await must("tar", ["-C", root, "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-cf", appTar, "usr"]);
  };
  const [cli] = await Promise.all([compileCli(join(work, "cli")), buildApp(), daemon.start()]);

  archive = join(work, "image.tar");
  const args = [cli, "image", "--lockfile", join(ROOT, "scratch.lock"), "--output", archive, "--arch", "amd64", "--add", appTar, "--entrypoint", JSON.stringify([APP]), "--tag", TAG];
  args.push("--mirror", `debian=file://${ROOT}/snapshots/debian`, "--mirror", `debian-security=file://${ROOT}/snapshots/debian-security`, "--cache", join(work, "cache"), "--quiet");
  await must(process.execPath, args, { cwd: work, env: cleanEnv() });

  // The archive as files (GNU tar reads it), and the CA bundle as the lock layer carries it,
  // for the count the program must print.
  unpacked = join(work, "archive");
  await mkdir(unpacked);
  await must("tar", ["-xf", archive, "-C", unpacked]);
  manifest = json<DockerManifest[]>(await readFile(join(unpacked, "manifest.json"), "utf8"))[0]!;
  const bundle = await must("tar", ["-xOf", join(unpacked, manifest.Layers[0]!), "etc/ssl/certs/ca-certificates.crt"]);
  bundleCerts = bundle.split("\n").filter((l) => l.includes("BEGIN CERTIFICATE")).length;
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
    expect(img!.RootFS).toEqual({ Type: "layers", Layers: [lock.architectures.amd64!.layer.diffId, "sha256:" + (await sha256File(appTar))] });
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
    expect(layers).toEqual([lock.architectures.amd64!.layer.diffId, "sha256:" + (await sha256File(appTar))]);
  });
});

/** What the probe prints as nonroot with `zone` at start, the wall-clock times computed with Node's (ICU's) zone data. */
function expectedOutput(zone: string, certificates: number): ProbeOutput {
  return { uid: 65532, gid: 65532, start: expectedTimes(zone), amsterdam: expectedTimes(PROBE_ZONE), certificates };
}

function expectedTimes(zone: string): ProbeTime[] {
  return PROBE_EPOCHS.map((epoch) => {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "longOffset" })
        .formatToParts(new Date(epoch * 1000))
        .map((p) => [p.type, p.value]),
    );
    // "GMT+02:00" → "+0200"; plain "GMT" is UTC itself
    const m = /^GMT(?:([+-])(\d\d):(\d\d))?$/.exec(parts.timeZoneName!);
    if (!m) throw new Error(`unexpected offset ${parts.timeZoneName} for ${zone}`);
    const offset = m[1] ? `${m[1]}${m[2]}${m[3]}` : "+0000";
    const abbr = zone === "UTC" ? "UTC" : { "+0100": "CET", "+0200": "CEST" }[offset];
    if (!abbr) throw new Error(`no abbreviation known for ${zone} at ${offset}`);
    return { epoch, wall: `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`, abbr, offset };
  });
}
