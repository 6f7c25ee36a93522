import { describe, expect, it } from "vitest";
import { CACHE_SWEEP, isStaleTemp, OUTPUT_SWEEP, processAlive, STALE_TEMP_MS, tempFileName, tempFileOwner } from "../../src/util/temp-files.js";
import { deadPid } from "../fixtures/pids.js";

describe("our temp files", () => {
  it("carry the writer's pid in a name only scratch-pkgs makes", () => {
    const name = tempFileName(4242);
    expect(name).toMatch(/^\.scratch-pkgs-4242-[0-9a-f]{16}\.part$/);
    expect(tempFileOwner(name)).toBe(4242);
    expect(tempFileName(4242)).not.toBe(name);
    for (const other of ["4242-0123456789abcdef.part", ".scratch-pkgs-4242-0123.part", ".scratch-pkgs-0-0123456789abcdef.part", "notes.txt", `${name}.bak`]) {
      expect(tempFileOwner(other), other).toBeUndefined();
    }
  });

  it("tell a running process from one that is gone", async () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(process.ppid)).toBe(true);
    expect(processAlive(await deadPid())).toBe(false);
  });

  it("are stale only when ours, a regular file, untouched for a day and their owner is gone", () => {
    const now = 10 * STALE_TEMP_MS;
    const old = now - STALE_TEMP_MS - 1;
    const gone = () => false;
    const f = { name: tempFileName(4242), isRegularFile: true, mtimeMs: old };
    expect(isStaleTemp(f, now, gone)).toBe(true);
    expect(isStaleTemp({ ...f, mtimeMs: now - STALE_TEMP_MS + 1000 }, now, gone)).toBe(false);
    expect(isStaleTemp(f, now, () => true)).toBe(false);
    expect(isStaleTemp({ ...f, isRegularFile: false }, now, gone)).toBe(false);
    expect(isStaleTemp({ ...f, name: "notes.txt" }, now, gone)).toBe(false);
    expect(isStaleTemp({ ...f, name: tempFileName(process.pid) }, now, gone)).toBe(false);
  });

  it("beside outputs are stale as soon as their owner is gone, and may be a directory (a layout being built)", () => {
    const now = 10 * STALE_TEMP_MS;
    const gone = () => false;
    const f = { name: tempFileName(4242), isRegularFile: true, isDirectory: false, mtimeMs: now };
    expect(isStaleTemp(f, now, gone, OUTPUT_SWEEP)).toBe(true);
    expect(isStaleTemp(f, now, gone, CACHE_SWEEP)).toBe(false);
    expect(isStaleTemp(f, now, () => true, OUTPUT_SWEEP)).toBe(false);
    const dir = { ...f, isRegularFile: false, isDirectory: true };
    expect(isStaleTemp(dir, now, gone, OUTPUT_SWEEP)).toBe(true);
    expect(isStaleTemp({ ...dir, mtimeMs: 0 }, now, gone, CACHE_SWEEP)).toBe(false);
    expect(isStaleTemp({ ...dir, isDirectory: false }, now, gone, OUTPUT_SWEEP)).toBe(false);
    expect(isStaleTemp({ ...dir, name: "build" }, now, gone, OUTPUT_SWEEP)).toBe(false);
  });
});
