/**
 * The layer's provenance manifest: one JSON line per path in the layer (sorted by path bytes),
 * saying what it is and where it came from — the package member, or the derivation and its
 * inputs. It is stored in the layer itself at PROVENANCE_PATH (like chisel's manifest.wall) and
 * written beside the output; the lock records its sha256, not the file list.
 * The manifest does not list itself (it cannot hold its own digest).
 *
 * Layout: the format line (PROVENANCE_FORMAT), then one `{"derivation": …}` line per derivation
 * (its full record: recipe, version, options, inputs and outputs with their sha256), then one
 * line per path, whose derivation origin names the recipe only — a CA bundle reads ~150
 * certificates, and repeating them on each of its ~300 outputs would make the manifest
 * megabytes long. A path that several packages (or recipes) supply identically names the first
 * in provider order as `origin` and the others as `alsoFrom`.
 */
import { originMember, type LayerNode, type NodeOrigin } from "../model/layer.js";
import type { LockedDerivation } from "../model/lock.js";
import { PROVENANCE_FORMAT, type ProvenanceEntry, type ProvenanceOrigin } from "../model/provenance.js";
import { sortKeys } from "../util/canonical-json.js";
import { createHash } from "node:crypto";
import { comparePaths } from "../util/byte-order.js";
import { fileSha256, fileSize } from "../util/file-extent.js";
import { ChunkedOutput } from "../util/chunked-output.js";
import type { AnonymousFile } from "../util/spool-file.js";

export const PROVENANCE_PATH = "/var/lib/scratch-pkgs/manifest.jsonl";

/** How the manifest names one provider of `node`: a package with its member, a recipe without its inputs. */
function provenanceOrigin(o: NodeOrigin, node: LayerNode): ProvenanceOrigin {
  if (o.kind === "package") return { kind: "package", package: o.package, version: o.version, architecture: o.architecture, member: originMember(o, node) };
  return o.kind === "derivation" ? { kind: "derivation", recipe: o.recipe, version: o.version } : o;
}

function originKey(o: ProvenanceOrigin): string[] {
  if (o.kind === "package") return [o.kind, o.package, o.version, o.architecture, o.member];
  if (o.kind === "derivation") return [o.kind, o.recipe, o.version];
  return [o.kind, o.reason];
}

/** Provider order: by kind, then name, version, architecture and member, each by bytes. */
export function compareOrigins(a: ProvenanceOrigin, b: ProvenanceOrigin): number {
  const ka = originKey(a);
  const kb = originKey(b);
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    const c = comparePaths(ka[i]!, kb[i]!);
    if (c !== 0) return c;
  }
  return ka.length - kb.length;
}

export function provenanceEntry(n: LayerNode): ProvenanceEntry {
  // Every provider once, in provider order, whatever order the packages were read in.
  const providers = [n.origin, ...(n.alsoFrom ?? [])].map((o) => provenanceOrigin(o, n)).sort(compareOrigins);
  const [origin, ...alsoFrom] = providers.filter((o, i) => i === 0 || compareOrigins(providers[i - 1]!, o) !== 0);
  const e: ProvenanceEntry = { path: n.path, type: n.type, mode: (n.mode & 0o7777).toString(8).padStart(4, "0"), uid: n.uid, gid: n.gid, origin: origin! };
  if (alsoFrom.length > 0) e.alsoFrom = alsoFrom;
  if (n.type === "file") {
    e.size = fileSize(n);
    e.sha256 = fileSha256(n);
  } else if (n.target !== undefined) e.target = n.target;
  return e;
}

/** The manifest as written: its layer node (whose extent is the spool), digest, size and line count. */
export interface ProvenanceManifest {
  node: LayerNode;
  sha256: string;
  size: number;
  entries: number;
}

/** The manifest of `nodes`, written into `spool` (a fresh anonymous file: createAnonymousFile). */
export function provenanceManifest(nodes: readonly LayerNode[], derivations: readonly LockedDerivation[], spool: AnonymousFile): ProvenanceManifest {
  const sorted = nodes.filter((n) => n.path !== PROVENANCE_PATH).sort((a, b) => comparePaths(a.path, b.path));
  // Written line by line to a temp file, like every other member's bytes: it grows with the
  // layer's paths (16 MB for 40,000), and held in memory it was that twice over while joined.
  // The file has no name (nothing to clean up), and it outlives the layer's release: the
  // manifest is written beside the output, and audit compares it, after the tar's pass.
  const hash = createHash("sha256");
  const out = new ChunkedOutput((c) => {
    hash.update(c);
    spool.write(c);
  });
  const line = (x: unknown) => out.write(Buffer.from(JSON.stringify(sortKeys(x)) + "\n", "utf8"));
  line(PROVENANCE_FORMAT);
  for (const d of derivations) line({ derivation: d });
  for (const n of sorted) line(provenanceEntry(n));
  out.flush();
  const sha256 = hash.digest("hex");
  const size = out.size;
  return {
    node: {
      path: PROVENANCE_PATH, type: "file", mode: 0o644, uid: 0, gid: 0,
      origin: { kind: "derivation", recipe: "provenance", version: String(PROVENANCE_FORMAT.version), inputs: [] },
      extent: spool.extent(size, sha256, "the layer's provenance manifest"),
    },
    sha256,
    size,
    entries: sorted.length,
  };
}
