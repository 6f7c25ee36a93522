import { afterEach, describe, expect, it, vi } from "vitest";
import { Writable } from "node:stream";
import { clearStatusLines, createProgress, formatBytes, mirrorOf } from "../../src/fetch/progress.js";

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
      p.phase("fetching releases");
      const task = p.task("a.deb", 1000, "http://mirror.example/debian/pool/a.deb");
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

  it("draws one status line on a terminal stream, never on stdout: the phase, counts, bytes and the mirror used", () => {
    const stdout = vi.spyOn(process.stdout, "write");
    const t = fakeTerminal(true);
    Object.assign(t.stream, { columns: 200 });
    const p = createProgress({ quiet: false, stream: t.stream });
    p.phase("building the arm64 layer", "7 packages");
    const a = p.task("libc6.deb", 4096, "http://user:secret@mirror.example/debian/pool/main/g/glibc/libc6.deb");
    a.advance(2048);
    a.done();
    p.close();
    const draws = t.text().split("\r").filter((d) => d !== "");
    expect(draws[0]).toBe("building the arm64 layer (7 packages)\x1b[K");
    expect(draws).toContain("building the arm64 layer (7 packages): 1/1 files, 2.0 KiB/4.0 KiB from http://mirror.example/debian\x1b[K");
    // Closing erases it; the credentials in the URL never reach the screen.
    expect(t.text().endsWith("\r\x1b[K")).toBe(true);
    expect(t.text()).not.toContain("secret");
    expect(stdout).not.toHaveBeenCalled();
  });

  it("cuts the line to the terminal's width instead of turning line wrap off, and prints no control characters from the archive", () => {
    const t = fakeTerminal(true);
    Object.assign(t.stream, { columns: 40 });
    const p = createProgress({ quiet: false, stream: t.stream });
    p.phase("decoding the amd64 indexes");
    p.task("x", 10, "http://mirror.example/debian\x1b]0;evil\x07/dists/x/InRelease");
    for (const d of t.text().split("\r").filter((x) => x !== "")) {
      expect(d.endsWith("\x1b[K")).toBe(true);
      expect(d.slice(0, -3).length).toBeLessThanOrEqual(39);
      expect(d.slice(0, -3)).not.toMatch(/[\u0000-\u001f]/);
    }
    expect(t.text()).not.toContain("\x1b[?7l");
    clearStatusLines();
    expect(t.text().endsWith("\r\x1b[K")).toBe(true);
    p.close();
  });

  it("names the base a URL is fetched from", () => {
    expect(mirrorOf("https://deb.example/debian/dists/bookworm/InRelease")).toBe("https://deb.example/debian");
    expect(mirrorOf("file:///srv/mirror/pool/main/h/hello/hello.deb")).toBe("file:///srv/mirror");
    expect(mirrorOf("http://127.0.0.1:8080/x/y.deb")).toBe("http://127.0.0.1:8080/x");
  });

  it("formats byte counts", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MiB");
  });
});
