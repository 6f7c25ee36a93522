import type { PackageRecord } from "../../src/model/package.js";
import type { PackageRequest } from "../../src/resolve/types.js";

/** A synthetic package record; only the fields resolution reads matter. */
export function rec(
  name: string,
  version: string,
  fields: Partial<Omit<PackageRecord, "name" | "version" | "origin">> & { suite?: string } = {},
): PackageRecord {
  const { suite = "stable", ...rest } = fields;
  const architecture = rest.architecture ?? "amd64";
  return {
    name,
    version,
    architecture,
    multiArch: "no",
    essential: false,
    important: false,
    priority: "optional",
    depends: "",
    preDepends: "",
    provides: "",
    conflicts: "",
    breaks: "",
    sourcePackage: name,
    filename: `pool/main/${name[0]}/${name}/${name}_${version.replace(/^\d+:/, "")}_${architecture}.deb`,
    size: 1000,
    sha256: "0".repeat(64),
    origin: { source: "debian", suite, component: "main" },
    ...rest,
  };
}

export function req(name: string, reason = `packages: ${name}`, extra: Partial<PackageRequest> = {}): PackageRequest {
  return { name, reason, ...extra };
}
