/**
 * The SPDX 2.3 JSON SBOM of one architecture's image, with the NTIA minimum elements. The
 * document DESCRIBES one root package, the image (its manifest digest, a pkg:oci purl), which
 * CONTAINS every locked Debian package (purl, the .deb URL, its sha256, the supplier its
 * Maintainer names, the license its copyright file declares), every regular file the lock's
 * derivations generate (SHA1 and SHA256, a comment naming the recipe and its inputs,
 * GENERATED_FROM the packages those inputs came from), and each --add layer with its files.
 * DEPENDS_ON edges are the lock's reason chains. Everything in it comes from the lock and the
 * inputs, so it is byte-for-byte reproducible: the namespace derives from the lock's and the
 * manifest's sha256, the creation time is the lock's sourceDateEpoch.
 */
import { createHash } from "node:crypto";
import type { LockedPackage, Lockfile } from "../model/lock.js";
import type { LayerNode } from "../model/layer.js";
import type { DeclaredLicense, ExtractedLicense } from "./copyright.js";
import { rfc3339 } from "./config.js";
import { VERSION } from "../util/version.js";
import { comparePaths } from "../util/byte-order.js";
import { splitChain } from "../resolve/reason-chain.js";
import { chainWithScope } from "../resolve/request-scope.js";
import { LockfileError } from "../model/errors.js";
import { locateFile } from "../derive/node.js";
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
  /** Its regular files, sorted by path bytes. */
  files: ReadonlyArray<{ path: string; sha1: string; sha256: string }>;
}

/** The image the SBOM is about: its manifest is written before the SBOM, which points at it. */
export interface SbomImage {
  /** The purl name: lower-case, like a registry repository's last component. */
  name: string;
  /** "sha256:…" of the architecture's image manifest, and of its config (the image ID). */
  manifestDigest: string;
  configDigest: string;
  /** The ref name or tag that names this architecture's image, when there is one. */
  tag: string | undefined;
  /** Who supplies the image and its --add layers, in SPDX form ("Organization: …", "Person: …"); none: NOASSERTION. */
  supplier?: string | undefined;
}

export interface SbomInput {
  arch: string;
  lock: Lockfile;
  /** Name of the lock file (for the document's name) and the sha256 hex of its bytes. */
  lockName: string;
  lockSha256: string;
  image: SbomImage;
  /** Declared license per package, keyed by the package's .deb sha256. */
  licenses: ReadonlyMap<string, DeclaredLicense>;
  /** SPDX supplier per package (supplierOf its control file), keyed by the package's .deb sha256. */
  suppliers: ReadonlyMap<string, string>;
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

const hex = (algo: "sha1" | "sha256", data: Uint8Array | string): string => createHash(algo).update(data).digest("hex");
const bare = (digest: string): string => digest.replace(/^sha256:/, "");

type SpdxObject = Record<string, unknown>;
interface Relationship {
  spdxElementId: string;
  relationshipType: "DESCRIBES" | "CONTAINS" | "DEPENDS_ON" | "GENERATED_FROM";
  relatedSpdxElement: string;
}
const relate = (from: string, type: Relationship["relationshipType"], to: string): Relationship => ({ spdxElementId: from, relationshipType: type, relatedSpdxElement: to });

/** `pkg:oci/NAME@sha256%3AHEX?arch=…&tag=…` (purl's oci type: the version is the manifest digest; qualifiers sorted). */
function ociPurl(image: SbomImage, arch: string): string {
  const tag = image.tag === undefined ? "" : `&tag=${purlEncode(image.tag)}`;
  return `pkg:oci/${purlEncode(image.name)}@${purlEncode(image.manifestDigest)}?arch=${purlEncode(arch)}${tag}`;
}

/** The root: the image itself, identified by its manifest digest. */
function imagePackage(id: string, image: SbomImage, arch: string, lockName: string): SpdxObject {
  return {
    SPDXID: id,
    name: image.name,
    versionInfo: image.manifestDigest,
    supplier: image.supplier ?? "NOASSERTION",
    downloadLocation: "NOASSERTION",
    filesAnalyzed: false,
    checksums: [{ algorithm: "SHA256", checksumValue: bare(image.manifestDigest) }],
    licenseConcluded: "NOASSERTION",
    licenseDeclared: "NOASSERTION",
    copyrightText: "NOASSERTION",
    externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: ociPurl(image, arch) }],
    primaryPackagePurpose: "CONTAINER",
    comment: `The ${arch} image built by scratch-pkgs from ${lockName}: version and checksum are its OCI image manifest's, its image ID (config) is ${image.configDigest}`,
  };
}

/** One locked Debian package; one field per fact, so that adding one is one line. */
function debianPackage(id: string, p: LockedPackage, requests: Lockfile["requests"], facts: { license: string; supplier: string; attribution: { attributionTexts?: string[] } }): SpdxObject {
  return {
    SPDXID: id,
    name: p.name,
    versionInfo: p.version,
    supplier: facts.supplier,
    downloadLocation: p.url,
    filesAnalyzed: false,
    checksums: [{ algorithm: "SHA256", checksumValue: p.sha256 }],
    licenseConcluded: "NOASSERTION",
    licenseDeclared: facts.license,
    copyrightText: "NOASSERTION",
    externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: debPurl(p) }],
    comment: `From ${p.source} ${p.suite}/${p.component}; in the lock because: ${p.reasons.map((r) => chainWithScope(requests, r, p.name)).join("; ")}`,
    ...facts.attribution,
  };
}

/**
 * DEPENDS_ON edges exactly as the lock's reason chains walk them: "file set libc → libc6 →
 * libgcc-s1" gives libc6 → libgcc-s1. Each distinct edge once, sorted by (dependent, dependency).
 */
export function dependencyEdges(packages: readonly Pick<LockedPackage, "name" | "reasons">[], where: string): Array<[from: string, to: string]> {
  const names = new Set(packages.map((p) => p.name));
  const edges = new Map<string, [string, string]>();
  for (const p of packages) {
    for (const chain of p.reasons) {
      const steps = splitChain(chain).packages;
      const last = steps[steps.length - 1];
      if (last !== undefined && last !== p.name) throw new LockfileError(`${where}: ${p.name}'s reason ${JSON.stringify(chain)} ends at ${last}, not at ${p.name}`, { hint: "run scratch-pkgs lock again: the lock was edited or is damaged" });
      for (const [i, from] of steps.entries()) {
        const to = steps[i + 1];
        if (to === undefined) break;
        for (const n of [from, to]) {
          if (!names.has(n)) throw new LockfileError(`${where}: ${p.name}'s reason ${JSON.stringify(chain)} names ${n}, which is not locked`, { hint: "run scratch-pkgs lock again: the lock was edited or is damaged" });
        }
        edges.set(`${from}\n${to}`, [from, to]);
      }
    }
  }
  return [...edges.values()].sort((a, b) => comparePaths(a[0], b[0]) || comparePaths(a[1], b[1]));
}

/** SPDX 2.3 §7.9: the SHA1 of the sorted SHA1s of the package's files. */
function verificationCode(files: ReadonlyArray<{ sha1: string }>): string {
  return hex("sha1", files.map((f) => f.sha1).sort().join(""));
}

/** Where the layer carries the package's copyright and licence notice (through a sibling's link too), when it does. */
function copyrightAttribution(byPath: ReadonlyMap<string, LayerNode>, pkg: string): { attributionTexts?: string[] } {
  const r = locateFile(byPath, copyrightPath(pkg));
  return r.ok ? { attributionTexts: [`The package's copyright and licence notice is ${copyrightPath(pkg)} in the image${r.path === copyrightPath(pkg) ? "" : ` (a link to ${r.path})`}.`] } : {};
}

/** The SPDX document as a plain object with a fixed key order. */
export function buildSbom(input: SbomInput): Record<string, unknown> {
  const { lock, arch } = input;
  const locked = lock.architectures[arch];
  if (!locked) throw new Error(`buildSbom: the lock has no architecture ${arch}`);
  const ids = spdxIds();
  const extracted = new Map<string, ExtractedLicense>();
  const rootId = ids.take("Image", `${input.image.name}-${arch}`);
  const contained: string[] = [];
  const relationships: Relationship[] = [];

  const packageIds = new Map<string, string>();
  const packages: SpdxObject[] = [imagePackage(rootId, input.image, arch, input.lockName)];
  const byPath = new Map(input.nodes.map((n) => [n.path, n]));
  for (const p of locked.packages) {
    const id = ids.take("Package", `deb-${p.name}-${p.version}-${p.architecture}`);
    packageIds.set(p.name, id);
    const lic = input.licenses.get(p.sha256);
    for (const r of lic?.refs ?? []) if (!extracted.has(r.licenseId)) extracted.set(r.licenseId, r);
    packages.push(debianPackage(id, p, lock.requests, { license: lic?.expression ?? "NOASSERTION", supplier: input.suppliers.get(p.sha256) ?? "NOASSERTION", attribution: copyrightAttribution(byPath, p.name) }));
    contained.push(id);
  }
  for (const [from, to] of dependencyEdges(locked.packages, `${input.lockName} (${arch})`)) {
    relationships.push(relate(packageIds.get(from)!, "DEPENDS_ON", packageIds.get(to)!));
  }

  // Derived regular files; their bytes are in the built layer, their record in the lock.
  const files: SpdxObject[] = [];
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
      contained.push(id);
      for (const name of [...from].sort()) {
        const pid = packageIds.get(name);
        if (pid) relationships.push(relate(id, "GENERATED_FROM", pid));
      }
    }
  }

  // Each --add layer: a package whose files are listed, hashed from its tar.
  for (const a of input.added) {
    const id = ids.take("Package", `added-${a.name}`);
    const fileIds = a.files.map((f) => ids.take("File", `added-${a.name}-${f.path}`));
    const fileHex = bare(a.fileDigest);
    packages.push({
      SPDXID: id,
      name: a.name,
      versionInfo: a.diffId,
      supplier: input.image.supplier ?? "NOASSERTION",
      downloadLocation: "NOASSERTION",
      filesAnalyzed: a.files.length > 0,
      ...(a.files.length > 0 ? { packageVerificationCode: { packageVerificationCodeValue: verificationCode(a.files) } } : {}),
      checksums: [{ algorithm: "SHA256", checksumValue: fileHex }],
      licenseConcluded: "NOASSERTION",
      licenseDeclared: "NOASSERTION",
      copyrightText: "NOASSERTION",
      externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: `pkg:generic/${purlEncode(a.name)}?checksum=sha256:${fileHex}` }],
      ...(fileIds.length > 0 ? { hasFiles: fileIds } : {}),
      comment: `Layer added with scratch-pkgs image --add ${a.name} (diff_id ${a.diffId}); its regular files are listed`,
    });
    contained.push(id);
    for (const [i, f] of a.files.entries()) {
      files.push({
        SPDXID: fileIds[i],
        fileName: `.${f.path}`,
        checksums: [
          { algorithm: "SHA1", checksumValue: f.sha1 },
          { algorithm: "SHA256", checksumValue: f.sha256 },
        ],
        licenseConcluded: "NOASSERTION",
        copyrightText: "NOASSERTION",
      });
      relationships.push(relate(id, "CONTAINS", fileIds[i]!));
    }
  }

  const doc: Record<string, unknown> = {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: `scratch-pkgs image ${arch} from ${input.lockName} sha256:${input.lockSha256}`,
    // Unique per document without randomness: the lock and the manifest determine every byte.
    documentNamespace: `https://spdx.org/spdxdocs/scratch-pkgs/${arch}/${input.lockSha256}/${bare(input.image.manifestDigest)}`,
    creationInfo: { created: rfc3339(lock.sourceDateEpoch), creators: [`Tool: scratch-pkgs-${VERSION}`] },
    documentDescribes: [rootId],
    packages,
    files,
    relationships: [relate("SPDXRef-DOCUMENT", "DESCRIBES", rootId), ...contained.map((id) => relate(rootId, "CONTAINS", id)), ...relationships],
  };
  if (extracted.size > 0) {
    doc.hasExtractedLicensingInfos = [...extracted.values()].sort((a, b) => (a.licenseId < b.licenseId ? -1 : a.licenseId > b.licenseId ? 1 : 0)).map((e) => ({ licenseId: e.licenseId, name: e.name, extractedText: e.extractedText }));
  }
  return doc;
}

export function sbomText(doc: Record<string, unknown>): string {
  return JSON.stringify(doc, null, 2) + "\n";
}
