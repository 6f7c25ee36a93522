/**
 * Where things are printed. stdout carries results only (one JSON document with --json);
 * notes, progress and errors go to stderr; --quiet silences everything but errors.
 */
import { EXIT, isScratchError, type ScratchError } from "../model/errors.js";
import { clearStatusLines } from "../fetch/progress.js";

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
}

export class Output {
  constructor(
    readonly opts: OutputOptions,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** A human result line (not printed with --json or --quiet). */
  result(line: string): void {
    if (this.opts.json || this.opts.quiet) return;
    clearStatusLines();
    this.stdout.write(line + "\n");
  }

  /** The one JSON document of a --json run. */
  json(doc: unknown): void {
    if (this.opts.json) this.stdout.write(JSON.stringify(doc, null, 2) + "\n");
  }

  note(line: string): void {
    if (this.opts.quiet) return;
    clearStatusLines();
    this.stderr.write(`scratch-pkgs: ${line}\n`);
  }

  error(e: unknown): number {
    clearStatusLines();
    if (isScratchError(e)) {
      this.stderr.write(`scratch-pkgs: error: ${e.message}\n`);
      if (e.hint) this.stderr.write(`  hint: ${e.hint}\n`);
      if (this.opts.json) this.stdout.write(JSON.stringify({ ok: false, error: errorJson(e) }, null, 2) + "\n");
      return e.exitCode;
    }
    // Not one of ours: a bug. Say so plainly, with the stack for the report.
    const err = e instanceof Error ? e : new Error(String(e));
    this.stderr.write(`scratch-pkgs: internal error: ${err.stack ?? err.message}\nThis is a bug in scratch-pkgs; please report it.\n`);
    if (this.opts.json) this.stdout.write(JSON.stringify({ ok: false, error: { kind: "internal", message: err.message } }, null, 2) + "\n");
    return EXIT.internal;
  }
}

function errorJson(e: ScratchError): Record<string, unknown> {
  return { kind: e.kind, message: e.message, ...(e.hint ? { hint: e.hint } : {}), exitCode: e.exitCode };
}
