/**
 * The architecture table against independent tools: dpkg-architecture for triplets, word size
 * and byte order of every row, and this machine's own binaries (readelf's view of them, through
 * our ELF reader) for its row's loader and ELF identity.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ARCHITECTURES, architectureOfElf, loaderMultilibDir } from "../../src/debian/architectures.js";
import { parseElf } from "../../src/doctor/elf.js";

const query = (arch: string, v: string): string => execFileSync("dpkg-architecture", [`-a${arch}`, `-q${v}`], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();

describe("ARCHITECTURES", () => {
  it.each(Object.entries(ARCHITECTURES))("%s: triplet, word size and byte order as dpkg-architecture says", (arch, a) => {
    expect(a.triplet).toBe(query(arch, "DEB_HOST_MULTIARCH"));
    if (a.elf) {
      expect(String(a.elf.class)).toBe(query(arch, "DEB_HOST_ARCH_BITS"));
      expect(a.elf.endian).toBe(query(arch, "DEB_HOST_ARCH_ENDIAN") === "little" ? "le" : "be");
    }
  });

  it("has this machine's loader and ELF identity in its row", () => {
    const host = execFileSync("dpkg", ["--print-architecture"]).toString().trim();
    const bin = parseElf(new Uint8Array(readFileSync("/bin/true")), "/bin/true");
    const interp = execFileSync("readelf", ["-l", "/bin/true"]).toString().match(/Requesting program interpreter: (\S+)\]/)?.[1];
    expect(ARCHITECTURES[host]?.loader).toBe(interp);
    expect(bin.interpreter).toBe(interp);
    expect(bin.debianArch).toBe(host);
  });

  it("tells every ELF identity apart: no two rows claim the same binaries", () => {
    const ids = Object.values(ARCHITECTURES).flatMap((a) => (a.elf ? [JSON.stringify(a.elf)] : []));
    expect(new Set(ids).size).toBe(ids.length);
    for (const [arch, a] of Object.entries(ARCHITECTURES)) {
      if (a.elf) expect(architectureOfElf(a.elf.machine, a.elf.class, a.elf.endian, a.elf.armHardFloat ?? false)).toBe(arch);
    }
    expect(architectureOfElf(62, 32, "le", false)).toBeUndefined(); // x32: not told apart
  });

  it("names the multilib directory of loaders outside /lib, for the merged-/usr links", () => {
    expect(loaderMultilibDir("amd64")).toBe("lib64");
    expect(loaderMultilibDir("x32")).toBe("libx32");
    expect(loaderMultilibDir("arm64")).toBeUndefined();
    expect(loaderMultilibDir("s390x")).toBeUndefined();
    expect(loaderMultilibDir("hurd-i386")).toBeUndefined();
    expect(loaderMultilibDir("constructor")).toBeUndefined();
  });
});
