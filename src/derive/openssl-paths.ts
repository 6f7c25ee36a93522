/**
 * The links OpenSSL's compiled-in default lookups need. Debian builds OpenSSL with
 * OPENSSLDIR=/usr/lib/ssl, so `X509_STORE_set_default_paths` (and
 * `SSL_CTX_set_default_verify_paths`) read X509_get_default_cert_file() = /usr/lib/ssl/cert.pem
 * and X509_get_default_cert_dir() = /usr/lib/ssl/certs. Those are links that Debian's `openssl`
 * package ships (not libssl3), so a layer with only the libraries trusts nothing unless
 * SSL_CERT_FILE is set — and a layer used from a Dockerfile or rules_oci has no such variable.
 *
 * We add the same two links, with the absolute targets bookworm's openssl 3.0 ships, when the
 * layer holds libssl or libcrypto and what they point to:
 *   /usr/lib/ssl/certs    → /etc/ssl/certs                        (the hashed directory)
 *   /usr/lib/ssl/cert.pem → /etc/ssl/certs/ca-certificates.crt    (the bundle)
 * openssl's other links (openssl.cnf, private) are left out: a missing config file is not an
 * error for the library's default initialisation, and no verification reads private/.
 * A path the layer already has (the user's file set took the openssl package's own link, or
 * put something else there) is left as it is, as is one under a non-directory.
 */
import type { LayerNode } from "../model/layer.js";
import { InputSet, finish, symlinkNode, type OutputNode } from "./node.js";
import type { Derivation, DerivationInput } from "./types.js";
import { BUNDLE_PATH } from "./ca-certificates.js";
import { OPENSSL_PATHS_RECIPE as RECIPE } from "../model/builtin-file-sets.js";

export const OPENSSL_PATHS_RECIPE = RECIPE;
const OPENSSL_PATHS_VERSION = "1";

const OPENSSL_DIR = "/usr/lib/ssl";
const CERT_DIR = "/etc/ssl/certs";

/** libssl.so.<soname> or libcrypto.so.<soname> (any SONAME: 1.1, 3, …), anywhere in the layer. */
const LIBRARY = /\/lib(ssl|crypto)\.so\.[^/]+$/;

/** The links, each with the type its target must have in the layer. */
const LINKS: ReadonlyArray<{ path: string; target: string; targetType: LayerNode["type"] }> = [
  { path: `${OPENSSL_DIR}/cert.pem`, target: BUNDLE_PATH, targetType: "file" },
  { path: `${OPENSSL_DIR}/certs`, target: CERT_DIR, targetType: "dir" },
];

/**
 * Inputs: the libraries that make the recipe apply (their bytes or link targets). The link
 * targets are the ca-certificates recipe's outputs, recorded there.
 */
export function opensslPaths(input: DerivationInput, _opts: Record<string, never> = {}): Derivation {
  const inputs = new InputSet();
  for (const node of input.nodes.values()) {
    if (!LIBRARY.test(node.path)) continue;
    if (node.type === "file") inputs.addFile(node.path, node);
    else if (node.type === "symlink" || node.type === "hardlink") inputs.add(node.path, node.target ?? "");
  }
  const outputs: OutputNode[] = [];
  if (inputs.list().length > 0) {
    for (const l of LINKS) {
      if (input.nodes.get(l.target)?.type !== l.targetType) continue;
      if (input.nodes.has(l.path) || !underDirectories(input.nodes, l.path)) continue;
      outputs.push(symlinkNode(l.path, l.target));
    }
  }
  return finish(OPENSSL_PATHS_RECIPE, OPENSSL_PATHS_VERSION, {}, inputs, outputs);
}

/** Whether every ancestor of `path` the layer has is a directory (a link there would be written through). */
function underDirectories(nodes: ReadonlyMap<string, LayerNode>, path: string): boolean {
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const n = nodes.get(path.slice(0, i));
    if (n !== undefined && n.type !== "dir") return false;
  }
  return true;
}
