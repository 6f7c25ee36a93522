import { afterEach, describe, expect, it, vi } from "vitest";
import { Writable } from "node:stream";
import { createProgress, formatBytes } from "../../src/fetch/progress.js";

/** A stream that claims to be a terminal and records what is written to it. */
function fakeTerminal(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  Object.assign(w, { isTTY, columns: 100, rows: 30 });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => chunks.join("") };
}

describe("createProgress", () => {
  afterEach(() => vi.restoreAllMocks());

  it("prints nothing at all when the stream is not a terminal, or with quiet", () => {
    const stdout = vi.spyOn(process.stdout, "write");
    for (const [tty, quiet] of [
      [false, false],
      [true, true],
    ] as const) {
      const t = fakeTerminal(tty);
      const p = createProgress({ quiet, stream: t.stream });
      const task = p.task("a.deb", 1000);
      task.advance(500);
      task.reset?.();
      task.advance(1000);
      task.done();
      p.task("InRelease").done();
      p.close();
      expect(t.text()).toBe("");
    }
    expect(stdout).not.toHaveBeenCalled();
  });

  it("draws bars on a terminal stream, never on stdout", async () => {
    const stdout = vi.spyOn(process.stdout, "write");
    const t = fakeTerminal(true);
    const p = createProgress({ quiet: false, stream: t.stream });
    const a = p.task("libc6.deb", 4096);
    const b = p.task("InRelease");
    a.advance(2048);
    b.advance(10);
    // The bars redraw on a timer (10 per second by default): let one redraw happen.
    await new Promise((r) => setTimeout(r, 250));
    a.done();
    b.done();
    p.close();
    expect(t.text()).toContain("libc6.deb");
    expect(stdout).not.toHaveBeenCalled();
  });

  it("formats byte counts", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MiB");
  });
});
