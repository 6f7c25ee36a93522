// How the bench runs what it measures: each command a separate process under GNU time (wall
// time, peak RSS %M), watched so that a run past the memory cap is killed instead of taking
// the shared machine down with it; and the failure lines the run ends with.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";

/** The memory target of lock and layer (issue 14, item 1). */
export const RSS_TARGET_MB = 300;
/** Past this a measured process is killed (it has failed the target ~10 times over by then). */
const RSS_CAP_MB = Number(process.env.SCRATCH_PKGS_BENCH_RSS_CAP_MB ?? 6144);

const failures = [];
export const fail = (line) => {
  failures.push(line);
  console.log(`FAIL ${line}`);
};
/** Prints every failure line again and returns the exit code of the bench. */
export function summary() {
  if (failures.length === 0) {
    console.log("\nbench: every lock and layer within the memory target; every run succeeded");
    return 0;
  }
  console.log(`\nbench: ${failures.length} failure(s):`);
  for (const f of failures) console.log(`FAIL ${f}`);
  return 1;
}

export const fmt = (s) => (s === undefined ? "—" : s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median wall seconds of a synchronous function. */
export function timeIt(fn, runs = 3) {
  const t = [];
  for (let i = 0; i < runs; i++) {
    const s = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e9);
  }
  return median(t);
}

/** Median wall seconds of a sh script (a floor: native tools only); throws when it fails. */
export function shellWall(script, runs = 3) {
  return timeIt(() => {
    const r = spawnSync("sh", ["-c", script], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    if (r.status !== 0) throw new Error(`floor failed: ${script.slice(0, 200)}: ${r.stderr}`);
  }, runs);
}

/** A file listing `paths`, one a line, for a floor script to read (a command line would overflow). */
export function listFile(file, paths) {
  writeFileSync(file, paths.join("\n") + "\n");
  return file;
}

function treeRssKB(pid) {
  let kb = 0;
  try {
    kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean)) kb += treeRssKB(Number(c));
    }
  } catch {
    // the process ended between two reads
  }
  return kb;
}
function treePids(pid) {
  try {
    return [pid, ...readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").split(" ").filter(Boolean).flatMap((c) => treePids(Number(c))))];
  } catch {
    return [];
  }
}

/**
 * Runs `cmd args` under GNU time: {ok, wall (s), rssMB (peak, %M), stdout, error}. Never throws:
 * a failed run is returned with ok false and the command's stderr in `error`.
 */
export function measure(cmd, args, env = {}) {
  return new Promise((done) => {
    const s = process.hrtime.bigint();
    const child = spawn("/usr/bin/time", ["-f", "%M", cmd, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    let killed = false;
    const watch = setInterval(() => {
      if (treeRssKB(child.pid) / 1024 <= RSS_CAP_MB) return;
      killed = true;
      for (const p of treePids(child.pid).slice(1)) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }, 200);
    child.on("close", (status) => {
      clearInterval(watch);
      const wall = Number(process.hrtime.bigint() - s) / 1e9;
      const lines = stderr.trim().split("\n");
      const rssMB = Number(lines.pop()) / 1024;
      const ok = status === 0 && !killed;
      const error = killed ? `killed past the bench's cap of ${RSS_CAP_MB} MB (SCRATCH_PKGS_BENCH_RSS_CAP_MB)` : ok ? undefined : lines.slice(-6).join("\n");
      done({ ok, killed, wall, rssMB, stdout, error });
    });
  });
}

/**
 * measure() of a lock or layer run: a failure line when it fails or peaks past the memory
 * target. Returns the result (ok false when it failed).
 */
export async function measureTarget(what, cmd, args, env) {
  const r = await measure(cmd, args, env);
  if (r.killed) fail(`memory: ${what} was ${r.error}, > ${RSS_TARGET_MB} MB`);
  else if (!r.ok) fail(`run: ${what} failed: ${r.error}`);
  else if (r.rssMB > RSS_TARGET_MB) fail(`memory: ${what} peaked at ${r.rssMB.toFixed(0)} MB > ${RSS_TARGET_MB} MB`);
  return r;
}
