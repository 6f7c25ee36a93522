/**
 * A private Docker daemon for the engine tests: its own data root, exec root and socket (vfs
 * storage, no networking), so a test never touches the machine's engine; stop() ends exactly the
 * processes it started and removes every file they made.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { cleanEnv, run } from "./helpers.js";

export const DOCKERD = "/usr/sbin/dockerd";

/** Why the engine tests cannot run here, or undefined when they can. */
export function dockerSkipReason(): string | undefined {
  if (!existsSync(DOCKERD)) return `${DOCKERD} is missing (apt-get install docker.io)`;
  if (process.getuid?.() !== 0) return "dockerd needs root";
  if (process.arch !== "x64") return `the host is ${process.arch}; the test builds and runs an amd64 program`;
  return undefined;
}

export class Daemon {
  private proc: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  readonly sock: string;
  readonly log: string;
  private readonly env: NodeJS.ProcessEnv;

  // Unix socket paths are limited to ~108 bytes, and containerd puts its sockets under the exec root.
  constructor(readonly dir: string) {
    this.sock = join(dir, "d.sock");
    this.log = join(dir, "dockerd.log");
    // The classic builder: it needs no buildx plugin and no network for FROM scratch.
    this.env = cleanEnv({ DOCKER_CONFIG: join(dir, "client"), DOCKER_BUILDKIT: "0" });
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

  docker(args: string[], cwd?: string): ReturnType<typeof run> {
    return run("docker", ["-H", `unix://${this.sock}`, ...args], { env: this.env, cwd });
  }

  async must(args: string[], cwd?: string): Promise<string> {
    const r = await this.docker(args, cwd);
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
