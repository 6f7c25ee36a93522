/**
 * Progress on an interactive terminal (and without --quiet): one status line on stderr naming
 * the step that runs ("decoding the amd64 indexes") and, while files download, their count,
 * bytes and the mirror they come from. Anywhere else nothing at all is printed, so piped output
 * stays clean. Never writes to stdout.
 *
 * The line is cut to the terminal's width and redrawn with "\r…\x1b[K", so it never wraps and
 * line wrap is never switched off; clearStatusLines() erases it before anything else is
 * printed (cli/output.ts calls it before every result, note and error), so no result line is
 * clipped or followed by leftover status text.
 */

export interface ProgressTask {
  advance(bytes: number): void;
  /** Start over from zero, e.g. when a download is retried. Optional for other implementations. */
  reset?(): void;
  done(): void;
}

export interface Progress {
  /**
   * The step now running, e.g. "fetching releases", "building the arm64 layer". `size` says
   * what it works on where that is known ("7 packages").
   */
  phase(name: string, size?: string): void;
  /** A download of `label` (`total` bytes when known) from `url`, the mirror actually used. */
  task(label: string, total?: number, url?: string): ProgressTask;
  close(): void;
}

const silentTask: ProgressTask = {
  advance() {},
  reset() {},
  done() {},
};

/** A Progress that prints nothing. */
export const silentProgress: Progress = {
  phase() {},
  task: () => silentTask,
  close() {},
};

/** The status lines on screen now (one per open Progress on a terminal). */
const shown = new Set<StatusLine>();

/** Erase every status line, so that what is printed next starts on a clean line. The next update redraws it. */
export function clearStatusLines(): void {
  for (const s of shown) s.clear();
}

export function createProgress(opts: { quiet: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || !stream.isTTY) return silentProgress;
  return new StatusLine(stream);
}

/** Redraws at most this often while bytes arrive; a new phase or a finished file redraws at once. */
const REDRAW_MS = 100;

class StatusLine implements Progress {
  private name = "working";
  private size: string | undefined;
  private started = 0;
  private finished = 0;
  private bytes = 0;
  private totalBytes = 0;
  private totalKnown = true;
  private from: string | undefined;
  private lastDraw = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  phase(name: string, size?: string): void {
    this.name = name;
    this.size = size;
    this.started = this.finished = this.bytes = this.totalBytes = 0;
    this.totalKnown = true;
    this.from = undefined;
    this.draw(true);
  }

  task(_label: string, total?: number, url?: string): ProgressTask {
    this.started++;
    if (total !== undefined && total > 0) this.totalBytes += total;
    else this.totalKnown = false;
    if (url !== undefined) this.from = mirrorOf(url);
    let value = 0;
    let over = false;
    this.draw(true);
    return {
      advance: (n: number) => {
        if (over) return;
        value += n;
        this.bytes += n;
        this.draw(false);
      },
      reset: () => {
        if (over) return;
        this.bytes -= value;
        value = 0;
      },
      done: () => {
        if (over) return;
        over = true;
        this.finished++;
        this.draw(true);
      },
    };
  }

  /** What the line says now. */
  private text(): string {
    const head = this.size ? `${this.name} (${this.size})` : this.name;
    if (this.started === 0) return head;
    const bytes = this.totalKnown ? `${formatBytes(this.bytes)}/${formatBytes(this.totalBytes)}` : formatBytes(this.bytes);
    return `${head}: ${this.finished}/${this.started} files, ${bytes}${this.from ? ` from ${this.from}` : ""}`;
  }

  private draw(now: boolean): void {
    const t = Date.now();
    if (!now && t - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = t;
    // One column short of the width: a character in the last column would make some terminals wrap.
    const width = Math.max(10, (this.stream.columns || 80) - 1);
    this.stream.write(`\r${fit(printable(this.text()), width)}\x1b[K`);
    shown.add(this);
  }

  clear(): void {
    if (!shown.delete(this)) return;
    this.stream.write("\r\x1b[K");
  }

  close(): void {
    this.clear();
  }
}

/** Archive text (file names from an index, URLs) reaches the terminal without its control characters. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}

function fit(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, width - 3) + "...";
}

/** The mirror a URL is fetched from: its base before dists/ or pool/, without credentials. */
export function mirrorOf(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  u.username = "";
  u.password = "";
  u.search = "";
  u.hash = "";
  const m = /^(.*?)\/(?:dists|pool)\//.exec(u.pathname);
  u.pathname = m ? m[1]! : u.pathname.replace(/\/[^/]*$/, "");
  return u.href.replace(/\/$/, "");
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
