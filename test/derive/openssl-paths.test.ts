import { describe, expect, test } from "vitest";
import { resolveFile } from "../../src/derive/node.js";
import { opensslPaths } from "../../src/derive/openssl-paths.js";
import { LayerTree } from "../../src/layer/tree.js";
import type { LayerNode } from "../../src/model/layer.js";
import { sha256Hex } from "../../src/util/hash.js";

const LIBSSL = { kind: "package" as const, package: "libssl3", version: "3.0.19-1~deb12u2", architecture: "amd64", member: "." };
const OPENSSL = { ...LIBSSL, package: "openssl" };
const CA = { kind: "derivation" as const, recipe: "ca-certificates", version: "1", inputs: [] };
const ELF = new Uint8Array([0x7f, 0x45, 0x4c, 0x46]);
const file = (path: string, origin: LayerNode["origin"] = LIBSSL, content = ELF): [string, LayerNode] => [path, { path, type: "file", mode: 0o644, uid: 0, gid: 0, content, origin }];
const link = (path: string, target: string, origin: LayerNode["origin"] = LIBSSL): [string, LayerNode] => [path, { path, type: "symlink", mode: 0o777, uid: 0, gid: 0, target, origin }];
const dir = (path: string, origin: LayerNode["origin"] = CA): [string, LayerNode] => [path, { path, type: "dir", mode: 0o755, uid: 0, gid: 0, origin }];

const BUNDLE = new TextEncoder().encode("-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n");
/** What the ca-certificates recipe leaves: the directory, the bundle and one hash link. */
const caCerts = (): Array<[string, LayerNode]> => [dir("/etc/ssl"), dir("/etc/ssl/certs"), file("/etc/ssl/certs/ca-certificates.crt", CA, BUNDLE), link("/etc/ssl/certs/4042bcee.0", "ISRG_Root_X1.pem", CA)];
const libs = (): Array<[string, LayerNode]> => [file("/usr/lib/x86_64-linux-gnu/libssl.so.3"), file("/usr/lib/x86_64-linux-gnu/libcrypto.so.3")];
const links = (nodes: Map<string, LayerNode>) => opensslPaths({ nodes }).nodes.map((n) => `${n.path} -> ${n.target}`);

describe("openssl-paths: OpenSSL's default CA file and directory", () => {
  test("libssl3 and the CA bundle: the two links Debian's openssl package ships, absolute, as links 0777 root", () => {
    const d = opensslPaths({ nodes: new Map([...libs(), ...caCerts()]) });
    expect(d.nodes.map((n) => [n.path, n.type, n.target, n.mode, n.uid, n.gid])).toEqual([
      ["/usr/lib/ssl/cert.pem", "symlink", "/etc/ssl/certs/ca-certificates.crt", 0o777, 0, 0],
      ["/usr/lib/ssl/certs", "symlink", "/etc/ssl/certs", 0o777, 0, 0],
    ]);
    // The lock's record: recipe, version, the libraries that made it apply, the outputs.
    expect(d.record).toEqual({
      recipe: "openssl-paths",
      version: "1",
      options: {},
      inputs: [
        { path: "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", sha256: sha256Hex(ELF) },
        { path: "/usr/lib/x86_64-linux-gnu/libssl.so.3", sha256: sha256Hex(ELF) },
      ],
      outputs: [
        { path: "/usr/lib/ssl/cert.pem", type: "symlink", mode: "0777", uid: 0, gid: 0, sha256: sha256Hex("/etc/ssl/certs/ca-certificates.crt") },
        { path: "/usr/lib/ssl/certs", type: "symlink", mode: "0777", uid: 0, gid: 0, sha256: sha256Hex("/etc/ssl/certs") },
      ],
    });
    expect(d.nodes[0]!.origin).toMatchObject({ kind: "derivation", recipe: "openssl-paths", version: "1" });
  });

  test("the links resolve to the bundle and to the hashed directory", () => {
    const nodes = new Map([...libs(), ...caCerts()]);
    const all = new Map([...nodes, ...opensslPaths({ nodes }).nodes.map((n) => [n.path, n] as [string, LayerNode])]);
    const r = resolveFile(all, "/usr/lib/ssl/cert.pem");
    expect(r.ok && r.path).toBe("/etc/ssl/certs/ca-certificates.crt");
    expect(resolveFile(all, "/usr/lib/ssl/certs/4042bcee.0").ok).toBe(false); // the hash link's .pem is not in this map yet
    const viaDir = resolveFile(new Map([...all, file("/etc/ssl/certs/ISRG_Root_X1.pem", CA, BUNDLE)]), "/usr/lib/ssl/certs/4042bcee.0");
    expect(viaDir.ok && viaDir.path).toBe("/etc/ssl/certs/ISRG_Root_X1.pem");
  });

  test("libcrypto alone (any SONAME, even through a link) is enough; libssl.so (the -dev link) is not", () => {
    expect(links(new Map([file("/usr/lib/aarch64-linux-gnu/libcrypto.so.1.1"), ...caCerts()]))).toEqual(["/usr/lib/ssl/cert.pem -> /etc/ssl/certs/ca-certificates.crt", "/usr/lib/ssl/certs -> /etc/ssl/certs"]);
    expect(links(new Map([link("/lib/x86_64-linux-gnu/libcrypto.so.3", "../../usr/lib/x86_64-linux-gnu/libcrypto.so.3"), ...caCerts()]))).toHaveLength(2);
    expect(links(new Map([link("/usr/lib/x86_64-linux-gnu/libssl.so", "libssl.so.3"), file("/usr/lib/x86_64-linux-gnu/libssl.a"), ...caCerts()]))).toEqual([]);
  });

  test("no libssl or libcrypto: nothing, and the record says it read nothing", () => {
    const d = opensslPaths({ nodes: new Map([file("/usr/lib/x86_64-linux-gnu/libc.so.6"), ...caCerts()]) });
    expect(d.nodes).toEqual([]);
    expect(d.record).toMatchObject({ inputs: [], outputs: [] });
  });

  test("no CA bundle or directory in the layer: no link points at nothing", () => {
    expect(links(new Map(libs()))).toEqual([]);
    // the directory without the bundle (every certificate left out): the directory link only
    expect(links(new Map([...libs(), dir("/etc/ssl/certs")]))).toEqual(["/usr/lib/ssl/certs -> /etc/ssl/certs"]);
  });

  test("the user's file set took openssl's own links: they stay, and the layer tree accepts the result", () => {
    const own: Array<[string, LayerNode]> = [dir("/usr/lib/ssl", OPENSSL), link("/usr/lib/ssl/certs", "/etc/ssl/certs", OPENSSL), link("/usr/lib/ssl/cert.pem", "/etc/ssl/certs/ca-certificates.crt", OPENSSL)];
    const nodes = new Map([...libs(), ...caCerts(), ...own]);
    expect(links(nodes)).toEqual([]);
    // only one of them: the other is added
    const one = new Map([...libs(), ...caCerts(), own[0]!, own[1]!]);
    const d = opensslPaths({ nodes: one });
    expect(d.nodes.map((n) => n.path)).toEqual(["/usr/lib/ssl/cert.pem"]);
    const tree = new LayerTree();
    for (const n of one.values()) tree.add(n);
    for (const n of d.nodes) tree.add(n);
    expect(tree.get("/usr/lib/ssl/certs")?.origin).toEqual(OPENSSL);
    expect(tree.get("/usr/lib/ssl/cert.pem")?.origin).toMatchObject({ kind: "derivation", recipe: "openssl-paths" });
  });

  test("something else at the path, or a link above it: left alone, never written through", () => {
    expect(links(new Map([...libs(), ...caCerts(), dir("/usr/lib/ssl/certs", LIBSSL)]))).toEqual(["/usr/lib/ssl/cert.pem -> /etc/ssl/certs/ca-certificates.crt"]);
    expect(links(new Map([...libs(), ...caCerts(), file("/usr/lib/ssl/cert.pem", LIBSSL, BUNDLE)]))).toEqual(["/usr/lib/ssl/certs -> /etc/ssl/certs"]);
    expect(links(new Map([...libs(), ...caCerts(), link("/usr/lib/ssl", "/opt/ssl")]))).toEqual([]);
  });

  test("the result does not depend on the map's order", () => {
    const nodes = [...libs(), ...caCerts()];
    expect(opensslPaths({ nodes: new Map([...nodes].reverse()) }).record).toEqual(opensslPaths({ nodes: new Map(nodes) }).record);
  });
});
