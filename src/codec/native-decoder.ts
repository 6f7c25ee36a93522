/**
 * The system's own decoder (`xz`, `zstd`), when this machine has one, run as a child process
 * streaming stdin → stdout. It decodes the same bytes as the bundled WASM/JS decoders, about
 * 1.6× faster, and in another process, so several .debs decode on several cores. The bundled
 * decoder stays the fallback: when the tool is absent, too old, fails to start, or
 * SCRATCH_PKGS_NATIVE_DECODERS=0 asks for it. Output is only whole after the tool exited 0: the
 * last chunk is held back until then, so a failure is never mistaken for a short result.
 */

import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";

export type NativeTool = "xz" | "zstd";

/** Set to "0" to decode with the bundled decoders only. Read at each decode. */
export const NATIVE_DECODERS_ENV = "SCRATCH_PKGS_NATIVE_DECODERS";

/** Oldest release of each tool whose decoder and options (xz --single-stream, zstd --no-check) are relied on. */
const MIN_VERSION: Record<NativeTool, { pattern: RegExp; major: number; minor: number }> = {
  xz: { pattern: /^xz \(XZ Utils\) (\d+)\.(\d+)/m, major: 5, minor: 2 },
  zstd: { pattern: /Zstandard CLI .* v(\d+)\.(\d+)/, major: 1, minor: 5 },
};

/** How many decodes took each path in this process: lets tests prove which one ran. */
const uses = { native: 0, fallback: 0 };

export function decoderUses(): Readonly<typeof uses> {
  return { ...uses };
}

/** Probes by tool and PATH: the tool is looked up once per process for each PATH it runs with. */
const probes = new Map<string, Promise<boolean>>();

function usable(tool: NativeTool): Promise<boolean> {
  const key = `${tool}\0${process.env.PATH ?? ""}`;
  let probe = probes.get(key);
  if (probe === undefined) {
    probe = new Promise((done) =>
      execFile(tool, ["--version"], { env: cLocale(), timeout: 10_000 }, (error, stdout) => {
        const v = error ? null : MIN_VERSION[tool].pattern.exec(stdout);
        const { major, minor } = MIN_VERSION[tool];
        done(v !== null && (Number(v[1]) > major || (Number(v[1]) === major && Number(v[2]) >= minor)));
      }),
    );
    probes.set(key, probe);
  }
  return probe;
}

/**
 * The tools' environment: messages in English whatever the user's locale (failures are
 * recognised by their text), and none of the user's default options (a memory limit in XZ_OPT
 * would fail decodes the fallback does).
 */
function cLocale(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: "C" };
  for (const name of Object.keys(env)) if (/^(XZ_OPT|XZ_DEFAULTS|ZSTD_.*)$/.test(name)) delete env[name];
  return env;
}

/** The tool's child process, or undefined when it is not to be used or did not start. */
async function start(tool: NativeTool, args: string[]): Promise<ChildProcessWithoutNullStreams | undefined> {
  if (process.env[NATIVE_DECODERS_ENV] === "0" || !(await usable(tool))) return undefined;
  const child = spawn(tool, args, { env: cLocale(), stdio: ["pipe", "pipe", "pipe"] });
  const started = await new Promise<boolean>((done) => {
    child.once("spawn", () => done(true));
    child.once("error", () => done(false));
  });
  return started ? child : undefined;
}

export interface NativeDecode {
  tool: NativeTool;
  args: string[];
  /**
   * The input, pulled chunk by chunk. The tool may stop reading before its end (xz
   * --single-stream): what it did not read stays in the iterator for the caller.
   */
  input: AsyncIterator<Uint8Array>;
  /** The bundled decoder, given the same untouched input. */
  fallback: (input: AsyncIterator<Uint8Array>) => AsyncIterable<Uint8Array>;
  /** The error for a run that exited non-zero, from what the tool wrote on stderr. */
  failure: (stderr: string, status: string) => Error;
}

/**
 * Decodes with the system tool when usable, else with the fallback. The input is closed when
 * decoding fails or the consumer stops early; after a whole decode it is left to the caller.
 */
export async function* decodePreferringNative(d: NativeDecode): AsyncGenerator<Uint8Array> {
  let finished = false;
  try {
    const child = await start(d.tool, d.args);
    if (child === undefined) {
      uses.fallback++;
      yield* d.fallback(d.input);
    } else {
      uses.native++;
      yield* throughChild(child, d);
    }
    finished = true;
  } finally {
    if (!finished) await d.input.return?.();
  }
}

const STDERR_LIMIT = 4096;

async function* throughChild(child: ChildProcessWithoutNullStreams, d: NativeDecode): AsyncGenerator<Uint8Array> {
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += s;
  });
  const exited = new Promise<string>((done) => child.once("close", (code, signal) => done(code === 0 ? "" : signal ? `killed by ${signal}` : `exit status ${code}`)));
  // The tool closing its stdin early (EPIPE) is not a failure in itself: its exit status says.
  child.stdin.on("error", () => {});
  let inputError: { error: unknown } | undefined;
  const feeding = (async () => {
    try {
      for (;;) {
        if (child.stdin.destroyed || !child.stdin.writable) return;
        const r = await d.input.next();
        if (r.done) break;
        if (!child.stdin.write(r.value)) await drained(child.stdin);
      }
      child.stdin.end();
    } catch (error) {
      inputError = { error };
      child.kill("SIGKILL");
    }
  })();

  let finished = false;
  try {
    let held: Uint8Array | undefined;
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      if (held !== undefined) yield held;
      held = chunk;
    }
    const status = await exited;
    await feeding;
    if (inputError) throw inputError.error; // the input's own error (I/O, a failed check), unchanged
    if (status !== "") throw d.failure(stderr.trim(), status);
    if (held !== undefined) yield held;
    finished = true;
  } finally {
    if (!finished) {
      child.kill("SIGKILL");
      await feeding;
    }
  }
}

function drained(stdin: NodeJS.WritableStream): Promise<void> {
  return new Promise((done) => {
    const settle = (): void => {
      stdin.off("drain", settle);
      stdin.off("close", settle);
      stdin.off("error", settle);
      done();
    };
    stdin.on("drain", settle);
    stdin.on("close", settle);
    stdin.on("error", settle);
  });
}
