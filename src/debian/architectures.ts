/**
 * What scratch-pkgs knows per Debian architecture, in one table: the multiarch triplet
 * (/usr/lib/<triplet>), the ELF interpreter binaries built there name (PT_INTERP), how such
 * binaries identify themselves in the ELF header, and the OCI platform of an image.
 */

/** The ELF header fields that tell the architecture of a binary. */
export interface ElfIdentity {
  /** e_machine. */
  machine: number;
  class: 32 | 64;
  endian: "le" | "be";
  /** ARM only: EF_ARM_ABI_FLOAT_HARD set (armhf) or not (armel). */
  armHardFloat?: boolean;
}

export interface Architecture {
  /** dpkg-architecture's DEB_HOST_MULTIARCH. */
  triplet: string;
  /** The dynamic loader path binaries of this architecture name. */
  loader: string;
  /** Undefined where Debian's ELF files of the name are not told apart (x32) or not recognised. */
  elf?: ElfIdentity;
  /** The OCI/Go platform; undefined where no image is made for the architecture. */
  oci?: { architecture: string; variant?: string };
}

const EM_386 = 3;
const EM_MIPS = 8;
const EM_PPC64 = 21;
const EM_S390 = 22;
const EM_ARM = 40;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const EM_RISCV = 243;
const EM_LOONGARCH = 258;

export const ARCHITECTURES: Readonly<Record<string, Architecture>> = {
  amd64: { triplet: "x86_64-linux-gnu", loader: "/lib64/ld-linux-x86-64.so.2", elf: { machine: EM_X86_64, class: 64, endian: "le" }, oci: { architecture: "amd64" } },
  arm64: { triplet: "aarch64-linux-gnu", loader: "/lib/ld-linux-aarch64.so.1", elf: { machine: EM_AARCH64, class: 64, endian: "le" }, oci: { architecture: "arm64", variant: "v8" } },
  armhf: { triplet: "arm-linux-gnueabihf", loader: "/lib/ld-linux-armhf.so.3", elf: { machine: EM_ARM, class: 32, endian: "le", armHardFloat: true }, oci: { architecture: "arm", variant: "v7" } },
  armel: { triplet: "arm-linux-gnueabi", loader: "/lib/ld-linux.so.3", elf: { machine: EM_ARM, class: 32, endian: "le", armHardFloat: false }, oci: { architecture: "arm", variant: "v5" } },
  i386: { triplet: "i386-linux-gnu", loader: "/lib/ld-linux.so.2", elf: { machine: EM_386, class: 32, endian: "le" }, oci: { architecture: "386" } },
  ppc64el: { triplet: "powerpc64le-linux-gnu", loader: "/lib64/ld64.so.2", elf: { machine: EM_PPC64, class: 64, endian: "le" }, oci: { architecture: "ppc64le" } },
  ppc64: { triplet: "powerpc64-linux-gnu", loader: "/lib64/ld64.so.1", elf: { machine: EM_PPC64, class: 64, endian: "be" } },
  s390x: { triplet: "s390x-linux-gnu", loader: "/lib/ld64.so.1", elf: { machine: EM_S390, class: 64, endian: "be" }, oci: { architecture: "s390x" } },
  riscv64: { triplet: "riscv64-linux-gnu", loader: "/lib/ld-linux-riscv64-lp64d.so.1", elf: { machine: EM_RISCV, class: 64, endian: "le" }, oci: { architecture: "riscv64" } },
  mips64el: { triplet: "mips64el-linux-gnuabi64", loader: "/lib64/ld.so.1", elf: { machine: EM_MIPS, class: 64, endian: "le" }, oci: { architecture: "mips64le" } },
  mipsel: { triplet: "mipsel-linux-gnu", loader: "/lib/ld.so.1", elf: { machine: EM_MIPS, class: 32, endian: "le" } },
  loong64: { triplet: "loongarch64-linux-gnu", loader: "/lib64/ld-linux-loongarch-lp64d.so.1", elf: { machine: EM_LOONGARCH, class: 64, endian: "le" } },
  sparc64: { triplet: "sparc64-linux-gnu", loader: "/lib64/ld-linux.so.2" },
  // x32 binaries are EM_X86_64 in 32-bit ELF; Debian does not release the port.
  x32: { triplet: "x86_64-linux-gnux32", loader: "/libx32/ld-linux-x32.so.2" },
};

export function architecture(name: string): Architecture | undefined {
  return Object.hasOwn(ARCHITECTURES, name) ? ARCHITECTURES[name] : undefined;
}

/** The Debian architecture whose binaries carry this ELF identity; undefined when none does. */
export function architectureOfElf(machine: number, cls: 32 | 64, endian: "le" | "be", armHardFloat: boolean): string | undefined {
  for (const [name, a] of Object.entries(ARCHITECTURES)) {
    const e = a.elf;
    if (e && e.machine === machine && e.class === cls && e.endian === endian && (e.armHardFloat === undefined || e.armHardFloat === armHardFloat)) return name;
  }
  return undefined;
}

/**
 * The top-level directory the loader lives in when it is not /lib ("lib64" on amd64), which
 * the merged-/usr links must include for PT_INTERP to resolve.
 */
export function loaderMultilibDir(name: string): string | undefined {
  const dir = architecture(name)?.loader.split("/")[1];
  return dir !== undefined && dir !== "lib" ? dir : undefined;
}
