/**
 * What a binary probably reads at run time that is not ELF, told by a byte search of the binary
 * (its strings are ASCII): the built-in file sets that provide it.
 */
export interface RuntimeHint {
  fileSet: "ca-certs" | "tzdata";
  reason: string;
}

export function runtimeHints(bytes: Uint8Array): RuntimeHint[] {
  const hay = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hints: RuntimeHint[] = [];
  if (hay.includes("/etc/ssl/certs", 0, "latin1")) hints.push({ fileSet: "ca-certs", reason: 'the binary mentions "/etc/ssl/certs" (TLS certificate verification)' });
  if (hay.includes("zoneinfo", 0, "latin1")) hints.push({ fileSet: "tzdata", reason: 'the binary mentions "zoneinfo" (time zone data)' });
  return hints;
}
