/**
 * The SPDX 2.3 JSON SBOM of one architecture's image: every locked Debian package (purl, the
 * .deb URL, its sha256, the license its copyright file declares), every regular file the
 * lock's derivations generate (SHA1 and SHA256, a comment naming the recipe and its inputs,
 * GENERATED_FROM the packages those inputs came from), and each --add layer. Everything in it
 * comes from the lock and the inputs, so it is byte-for-byte reproducible: the namespace and
 * the creation time derive from the lock's sha256 and sourceDateEpoch.
 */
import { createHash } from "node:crypto";
import type { LockedPackage, Lockfile } from "../model/lock.js";
import type { LayerNode } from "../model/layer.js";
import type { DeclaredLicense, ExtractedLicense } from "./copyright.js";
import { rfc3339 } from "./config.js";
import { VERSION } from "../util/version.js";
import { resolveFile } from "../derive/node.js";
import { copyrightPath } from "../layer/copyright.js";

/** The purl distro qualifier of a suite: bookworm-updates → debian-12; unknown codenames stay as they are. */
const CODENAMES: Record<string, string> = { buster: "debian-10", bullseye: "debian-11", bookworm: "debian-12", trixie: "debian-13", forky: "debian-14" };

function distroFor(suite: string): string {
  const codename = suite.split("-")[0] ?? suite;
  return CODENAMES[codename] ?? suite;
}

/** purl percent-encoding: everything but unreserved characters (RFC 3986), so "+" → %2B, ":" → %3A. */
function purlEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function debPurl(pkg: Pick<LockedPackage, "name" | "version" | "architecture" | "suite">): string {
  return `pkg:deb/debian/${purlEncode(pkg.name)}@${purlEncode(pkg.version)}?arch=${purlEncode(pkg.architecture)}&distro=${purlEncode(distroFor(pkg.suite))}`;
}

export interface SbomAddedLayer {
  name: string;
  /** "sha256:…" of the file as given, and of its uncompressed tar. */
  fileDigest: string;
  diffId: string;
}

export interface SbomInput {
  arch: string;
  lock: Lockfile;
  /** Name of the lock file (for the document's name) and the sha256 hex of its bytes. */
  lockName: string;
  lockSha256: string;
  /** Declared license per package, keyed by the package's .deb sha256. */
  licenses: ReadonlyMap<string, DeclaredLicense>;
  /** The built layer's nodes, for the derived files' bytes and where their inputs came from. */
  nodes: readonly LayerNode[];
  added: readonly SbomAddedLayer[];
}

interface SpdxIds {
  take(kind: string, name: string): string;
}

function spdxIds(): SpdxIds {
  const used = new Set<string>();
  return {
    take(kind, name) {
      const base = `SPDXRef-${kind}-${name.replace(/[^A-Za-z0-9.-]+/g, "-").replace(/^-+|-+$/g, "")}`;
      let id = base;
      for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
      used.add(id);
      return id;
    },
  };
}

const hex = (algo: "sha1" | "sha256", data: Uint8Array): string => createHash(algo).update(data).digest("hex");

/** Where the layer carries the package's copyright and licence notice (through a sibling's link too), when it does. */
function copyrightAttribution(byPath: ReadonlyMap<string, LayerNode>, pkg: string): { attributionTexts?: string[] } {
  const r = resolveFile(byPath, copyrightPath(pkg));
  return r.ok ? { attributionTexts: [`The package's copyright and licence notice is ${copyrightPath(pkg)} in the image${r.path === copyrightPath(pkg) ? "" : ` (a link to ${r.path})`}.`] } : {};
}

/** The SPDX document as a plain object with a fixed key order. */
export function buildSbom(input: SbomInput): Record<string, unknown> {
  const { lock, arch } = input;
  const locked = lock.architectures[arch];
  if (!locked) throw new Error(`buildSbom: the lock has no architecture ${arch}`);
  const ids = spdxIds();
  const extracted = new Map<string, ExtractedLicense>();
  const relationships: Array<Record<string, string>> = [];
  const describes: string[] = [];

  const packageIds = new Map<string, string>();
  const packages: Array<Record<string, unknown>> = [];
  const byPath = new Map(input.nodes.map((n) => [n.path, n]));
  for (const p of locked.packages) {
    const id = ids.take("Package", `deb-${p.name}-${p.version}-${p.architecture}`);
    packageIds.set(p.name, id);
    const lic = input.licenses.get(p.sha256);
    for (const r of lic?.refs ?? []) if (!extracted.has(r.licenseId)) extracted.set(r.licenseId, r);
    packages.push({
      SPDXID: id,
      name: p.name,
      versionInfo: p.version,
      downloadLocation: p.url,
      filesAnalyzed: false,
      checksums: [{ algorithm: "SHA256", checksumValue: p.sha256 }],
      licenseConcluded: "NOASSERTION",
      licenseDeclared: lic?.expression ?? "NOASSERTION",
      copyrightText: "NOASSERTION",
      externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: debPurl(p) }],
      comment: `From ${p.source} ${p.suite}/${p.component}; in the lock because: ${p.reasons.join("; ")}`,
      ...copyrightAttribution(byPath, p.name),
    });
    describes.push(id);
  }
  for (const a of input.added) {
    const id = ids.take("Package", `added-${a.name}`);
    const fileHex = a.fileDigest.replace(/^sha256:/, "");
    packages.push({
      SPDXID: id,
      name: a.name,
      versionInfo: a.diffId,
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      checksums: [{ algorithm: "SHA256", checksumValue: fileHex }],
      licenseConcluded: "NOASSERTION",
      licenseDeclared: "NOASSERTION",
      copyrightText: "NOASSERTION",
      externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: `pkg:generic/${purlEncode(a.name)}?checksum=sha256:${fileHex}` }],
      comment: `Layer added with scratch-pkgs image --add ${a.name} (diff_id ${a.diffId})`,
    });
    describes.push(id);
  }

  // Derived regular files; their bytes are in the built layer, their record in the lock.
  const files: Array<Record<string, unknown>> = [];
  for (const d of locked.derivations) {
    const opts = Object.keys(d.options).sort().map((k) => `${k}=${String(d.options[k])}`).join(", ");
    const inputs = d.inputs.map((i) => `${i.path} (sha256 ${i.sha256})`).join("; ");
    const from = new Set<string>();
    for (const i of d.inputs) {
      const o = byPath.get(i.path)?.origin;
      if (o?.kind === "package") from.add(o.package);
    }
    for (const out of d.outputs) {
      if (out.type !== "file") continue;
      const content = byPath.get(out.path)?.content;
      if (!content || hex("sha256", content) !== out.sha256) throw new Error(`buildSbom: the built layer's ${out.path} does not match derivation ${d.recipe}'s record`);
      const id = ids.take("File", out.path);
      files.push({
        SPDXID: id,
        fileName: `.${out.path}`,
        fileTypes: ["OTHER"],
        checksums: [
          { algorithm: "SHA1", checksumValue: hex("sha1", content) },
          { algorithm: "SHA256", checksumValue: out.sha256 },
        ],
        licenseConcluded: "NOASSERTION",
        copyrightText: "NOASSERTION",
        comment: `Generated by scratch-pkgs recipe ${d.recipe} ${d.version}${opts ? ` (${opts})` : ""} from ${d.inputs.length ? inputs : "no inputs"}`,
      });
      describes.push(id);
      for (const name of [...from].sort()) {
        const pid = packageIds.get(name);
        if (pid) relationships.push({ spdxElementId: id, relationshipType: "GENERATED_FROM", relatedSpdxElement: pid });
      }
    }
  }

  const lockName = input.lockName;
  const namespaceKey = input.added.length === 0 ? input.lockSha256 : createHash("sha256").update([input.lockSha256, ...input.added.map((a) => a.diffId)].join("\n")).digest("hex");
  const doc: Record<string, unknown> = {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: `scratch-pkgs image ${arch} from ${lockName} sha256:${input.lockSha256}`,
    documentNamespace: `https://spdx.org/spdxdocs/scratch-pkgs-${arch}-${namespaceKey}`,
    creationInfo: { created: rfc3339(lock.sourceDateEpoch), creators: [`Tool: scratch-pkgs-${VERSION}`] },
    documentDescribes: describes,
    packages,
    files,
    relationships: [...describes.map((id) => ({ spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: id })), ...relationships],
  };
  if (extracted.size > 0) {
    doc.hasExtractedLicensingInfos = [...extracted.values()].sort((a, b) => (a.licenseId < b.licenseId ? -1 : a.licenseId > b.licenseId ? 1 : 0)).map((e) => ({ licenseId: e.licenseId, name: e.name, extractedText: e.extractedText }));
  }
  return doc;
}

export function sbomText(doc: Record<string, unknown>): string {
  return JSON.stringify(doc, null, 2) + "\n";
}
