/**
 * Download progress. On an interactive terminal (and without --quiet) a cli-progress MultiBar
 * on stderr; anywhere else nothing at all is printed, so piped output stays clean.
 * Never writes to stdout. cli-progress is loaded when the first bar is made, so a run that
 * downloads nothing (a warm `lock`) does not load it.
 */
import { createRequire } from "node:module";
import type cliProgress from "cli-progress";

export interface ProgressTask {
  advance(bytes: number): void;
  /** Start over from zero, e.g. when a download is retried. Optional for other implementations. */
  reset?(): void;
  done(): void;
}

export interface Progress {
  task(label: string, total?: number): ProgressTask;
  close(): void;
}

const silentTask: ProgressTask = {
  advance() {},
  reset() {},
  done() {},
};

/** A Progress that prints nothing. */
export const silentProgress: Progress = {
  task: () => silentTask,
  close() {},
};

export function createProgress(opts: { quiet: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || !stream.isTTY) return silentProgress;
  return new BarProgress(stream);
}

class BarProgress implements Progress {
  private bars: cliProgress.MultiBar | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  private get multi(): cliProgress.MultiBar {
    if (this.bars) return this.bars;
    const lib = createRequire(import.meta.url)("cli-progress") as typeof cliProgress;
    return (this.bars = new lib.MultiBar(
      {
        stream: this.stream,
        format: formatLine,
        hideCursor: true,
        clearOnComplete: true,
        autopadding: true,
        barsize: 24,
      },
      lib.Presets.shades_classic,
    ));
  }

  task(label: string, total?: number): ProgressTask {
    const known = total !== undefined && total > 0;
    const bar = this.multi.create(known ? total : 0, 0, { label, known });
    let value = 0;
    let finished = false;
    return {
      advance: (bytes: number) => {
        if (finished) return;
        value += bytes;
        bar.update(value);
      },
      reset: () => {
        if (finished) return;
        value = 0;
        bar.update(0);
      },
      done: () => {
        if (finished) return;
        finished = true;
        // Finished downloads leave the screen so hundreds of packages do not scroll it away.
        this.multi.remove(bar);
      },
    };
  }

  close(): void {
    this.bars?.stop();
  }
}

function formatLine(options: cliProgress.Options, params: cliProgress.Params, payload: { label?: string; known?: boolean }): string {
  const label = payload.label ?? "";
  if (!payload.known) return `${label}  ${formatBytes(params.value)}`;
  const size = options.barsize ?? 24;
  const filled = Math.max(0, Math.min(size, Math.round(params.progress * size)));
  const complete = options.barCompleteString ?? "#";
  const incomplete = options.barIncompleteString ?? "-";
  const bar = complete.slice(0, 1).repeat(filled) + incomplete.slice(0, 1).repeat(size - filled);
  const pct = Math.floor(params.progress * 100);
  return `${bar} ${String(pct).padStart(3)}% ${formatBytes(params.value)}/${formatBytes(params.total)}  ${label}`;
}

/** Human-readable byte counts for the terminal (binary units). */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
