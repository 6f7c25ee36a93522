/**
 * Live: OpenSSL's compiled-in default CA paths work in a layer. The example manifest plus a
 * file set with libssl3t64's libraries (trixie's libssl3) is locked against this machine's apt mirror (amd64), the
 * layer built and extracted, and a C program linked dynamically with the layer's libcrypto
 * (built here with gcc against libssl-dev) verifies a real root of ca-certificates using only
 * X509_STORE_set_default_paths, run with chroot and an empty environment (no SSL_CERT_FILE or
 * SSL_CERT_DIR). Then the openssl-paths outputs are taken away one by one: each link alone is
 * enough, and without both (a layer without the derivation) the same root is not trusted.
 * A static Go program (Debian's golang-go, CGO_ENABLED=0) reads /etc/ssl/certs itself: it
 * trusts the root with or without the links, and not without /etc/ssl/certs. Python's ssl
 * (the layer's own python3.13, from python3.13-minimal) finds the CA bundle through the same
 * compiled-in defaults: set_default_verify_paths loads every certificate of the bundle, and
 * none without the links.
 * Skips with the reason when there is no mirror, no root, chroot, gcc, OpenSSL headers or go.
 */
import { existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_SUITES, findLiveMirror, liveManifest, LIVE_CACHE as CACHE } from "./mirror.js";
import { layerWith, lockWith, must, removeDir, repoRoot, run } from "../layer/helpers.js";
import { hasCommand } from "../fixtures/deb.js";
import { compileC } from "../fixtures/probe-program.js";

/**
 * Go's own build cache, kept between runs: compiling the standard library cold is ~20 s of CPU
 * and the binary is the same byte for byte either way (Go keys every entry by its inputs).
 */
const GOCACHE = join(tmpdir(), "scratch-pkgs-live-go-build-cache");
/** A root of every ca-certificates version since 2016, valid until 2035. */
const ROOT_CERT = "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt";
const CHROOT = ["/usr/sbin/chroot", "/usr/bin/chroot"].find((p) => existsSync(p));

/** Prints OpenSSL's default file and directory, then verifies argv[1] against the default paths only. */
const VERIFY_C = String.raw`
#include <stdio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  printf("file %s\ndir %s\n", X509_get_default_cert_file(), X509_get_default_cert_dir());
  FILE *f = fopen(argv[1], "r");
  if (!f) { perror(argv[1]); return 2; }
  X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (!cert) { ERR_print_errors_fp(stderr); return 2; }
  X509_STORE *store = X509_STORE_new();
  if (!store || X509_STORE_set_default_paths(store) != 1) { ERR_print_errors_fp(stderr); return 2; }
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  if (!ctx || X509_STORE_CTX_init(ctx, store, cert, NULL) != 1) { ERR_print_errors_fp(stderr); return 2; }
  int ok = X509_verify_cert(ctx);
  if (ok == 1) printf("verified\n");
  else printf("not verified: %s\n", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
  return ok == 1 ? 0 : 1;
}
`;

/**
 * Python's view of OpenSSL's defaults (each path None where it does not exist), then the CA
 * certificates a client context holds after set_default_verify_paths, OpenSSL's
 * SSL_CTX_set_default_verify_paths (only the file is read at once; the directory is looked up
 * per handshake, so it shows in capath alone).
 */
const VERIFY_PY = String.raw`
import ssl
p = ssl.get_default_verify_paths()
print("cafile", p.cafile)
print("capath", p.capath)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.set_default_verify_paths()
certs = ctx.get_ca_certs()
print("certs", len(certs))
print("isrg", any(("commonName", "ISRG Root X1") in (n[0] for n in c["subject"]) for c in certs))
`;

/** Go's crypto/x509 reads the system roots itself (no OpenSSL): verifies argv[1] against them. */
const VERIFY_GO = `package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

func main() {
	roots, err := x509.SystemCertPool()
	if err != nil {
		fmt.Println("no system roots:", err)
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		fmt.Println("no PEM block in", os.Args[1])
		os.Exit(2)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots}); err != nil {
		fmt.Println("not verified:", err)
		os.Exit(1)
	}
	fmt.Println("verified")
}
`;

let skip: string | undefined;
let work: string | undefined;
let root: string;

/** The openssl-paths links of the extracted layer, as Debian's openssl package writes them. */
const LINKS = { "cert.pem": "/etc/ssl/certs/ca-certificates.crt", certs: "/etc/ssl/certs" } as const;
type LinkName = keyof typeof LINKS;

/** Leaves exactly `names` of the links in the extracted layer. */
function setLinks(names: readonly LinkName[]): void {
  for (const [name, target] of Object.entries(LINKS)) {
    rmSync(join(root, "usr/lib/ssl", name), { force: true });
    if (names.includes(name as LinkName)) symlinkSync(target, join(root, "usr/lib/ssl", name));
  }
}

/** Runs a program of the layer with chroot and an empty environment. */
const inLayer = (prog: string) => run("/usr/bin/env", ["-i", CHROOT!, root, prog, ROOT_CERT]);

beforeAll(async () => {
  const found = await findLiveMirror(EXAMPLE_SUITES);
  ({ skip } = found);
  const mirrors = found.mirror?.mirrors ?? [];
  if (!skip && process.getuid?.() !== 0) skip = "chroot needs root";
  if (!skip && CHROOT === undefined) skip = "chroot is missing";
  if (!skip && process.arch !== "x64") skip = `the host is ${process.arch}, the proof runs amd64 programs`;
  if (skip) {
    console.log(`live OpenSSL default-paths proof skipped: ${skip}`);
    return;
  }
  work = await mkdtemp(join(tmpdir(), "scratch-pkgs-live-openssl-"));
  const config = liveManifest(work, (manifest) => {
    manifest.architectures = ["amd64"];
    // Whole, for the layer's own python3.13 and its ssl module (libpython3.13-minimal's _ssl).
    manifest.packages = ["python3.13-minimal"];
    manifest.fileSets.openssl = { packages: ["libssl3t64"], paths: ["/usr/lib/*/libssl.so.*", "/usr/lib/*/libcrypto.so.*"], exclude: [] };
  });
  const lockfile = join(work, "scratch.lock");
  const { lock } = await lockWith({ config, lockfile, cache: CACHE, mirrors, live: true });

  // The lock records the recipe with the libraries that made it apply and the two links.
  const rec = lock.architectures.amd64!.derivations.find((d) => d.recipe === "openssl-paths");
  expect(rec?.inputs.map((i) => i.path)).toEqual(["/usr/lib/x86_64-linux-gnu/libcrypto.so.3", "/usr/lib/x86_64-linux-gnu/libssl.so.3"]);
  expect(rec?.outputs.map((o) => [o.path, o.type])).toEqual([["/usr/lib/ssl/cert.pem", "symlink"], ["/usr/lib/ssl/certs", "symlink"]]);

  const [r] = await layerWith({ lockfile, cache: CACHE, mirrors, live: true, output: join(work, "layer.tar") });
  root = join(work, "root");
  mkdirSync(root);
  await must("tar", ["-x", "--numeric-owner", "-f", r!.output!, "-C", root]);
}, 240_000);

afterAll(async () => {
  await removeDir(work);
});

describe("live: OpenSSL's default paths in a layer with libssl3t64 and the ca-certs set (chroot, empty environment)", () => {
  it("a libcrypto program trusts a ca-certificates root through X509_STORE_set_default_paths only, and not without the links", async (ctx) => {
    const why = skip ?? (!hasCommand("gcc", "--version") ? "gcc is missing" : !existsSync("/usr/include/openssl/x509_vfy.h") ? "OpenSSL's headers are missing (libssl-dev)" : undefined);
    if (why) return ctx.skip(why);
    // As Debian's openssl package writes them.
    for (const [name, target] of Object.entries(LINKS)) expect(readlinkSync(join(root, "usr/lib/ssl", name))).toBe(target);
    expect(existsSync(join(root, ROOT_CERT.slice(1))), ROOT_CERT).toBe(true);

    await compileC(join(root, "verify"), VERIFY_C, ["-lcrypto"]);
    // linked dynamically: the layer's libcrypto is what runs
    expect(readFileSync(join(root, "verify")).includes(Buffer.from("libcrypto.so.3\0"))).toBe(true);

    const defaults = "file /usr/lib/ssl/cert.pem\ndir /usr/lib/ssl/certs\n";
    const both = await inLayer("/verify");
    expect(both.stdout.toString(), both.stderr).toBe(defaults + "verified\n");
    expect(both.code).toBe(0);

    // Each link alone is a working lookup: the bundle file, or the subject-hash directory.
    for (const only of ["cert.pem", "certs"] as const) {
      setLinks([only]);
      const got = await inLayer("/verify");
      expect(got.stdout.toString(), `${only} only: ${got.stderr}`).toBe(defaults + "verified\n");
    }

    // Without the derivation's outputs the same program trusts nothing.
    setLinks([]);
    const none = await inLayer("/verify");
    expect(none.stdout.toString(), none.stderr).toBe(defaults + "not verified: self-signed certificate\n");
    expect(none.code).toBe(1);
    setLinks(["cert.pem", "certs"]);
  }, 120_000);

  it("a static Go program trusts the same root from /etc/ssl/certs itself, with or without the links", async (ctx) => {
    const why = skip ?? (!hasCommand("go", "version") ? "go is missing (Debian's golang-go)" : undefined);
    if (why) return ctx.skip(why);
    const src = join(work!, "verify.go");
    writeFileSync(src, VERIFY_GO);
    // Offline, no cgo: a static binary that needs nothing of the layer but its files.
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work!, GOCACHE, GOPATH: join(work!, "gopath"), GOPROXY: "off", GOFLAGS: "", CGO_ENABLED: "0" };
    await must("go", ["build", "-trimpath", "-o", join(root, "verify-go"), src], { env, cwd: work! });
    expect(readFileSync(join(root, "verify-go")).includes(Buffer.from("/lib64/ld-linux-x86-64.so.2\0"))).toBe(false);

    for (const links of [["cert.pem", "certs"], []] as const) {
      setLinks(links);
      const got = await inLayer("/verify-go");
      expect(got.stdout.toString(), `links ${links.join(", ") || "none"}: ${got.stderr}`).toBe("verified\n");
      expect(got.code).toBe(0);
    }
    // The control: with /etc/ssl/certs gone it trusts nothing.
    renameSync(join(root, "etc/ssl/certs"), join(root, "etc/ssl/certs.away"));
    try {
      const none = await inLayer("/verify-go");
      expect(none.stdout.toString()).toMatch(/^not verified: x509: certificate signed by unknown authority/);
      expect(none.code).toBe(1);
    } finally {
      renameSync(join(root, "etc/ssl/certs.away"), join(root, "etc/ssl/certs"));
      setLinks(["cert.pem", "certs"]);
    }
  }, 300_000);

  it("Python's ssl in the layer (python3.13) loads the CA bundle through OpenSSL's default paths, and nothing without the links", async (ctx) => {
    if (skip) return ctx.skip(skip);
    writeFileSync(join(root, "verify.py"), VERIFY_PY);
    // The bundle's certificates as grep counts them, not as our code or Python does.
    const bundle = (await must("grep", ["-c", "BEGIN CERTIFICATE", join(root, "etc/ssl/certs/ca-certificates.crt")])).toString().trim();
    const python = () => run("/usr/bin/env", ["-i", CHROOT!, root, "/usr/bin/python3.13", "-I", "/verify.py"]);
    const both = await python();
    expect(both.stdout.toString(), both.stderr.toString()).toBe(`cafile /usr/lib/ssl/cert.pem\ncapath /usr/lib/ssl/certs\ncerts ${bundle}\nisrg True\n`);
    expect(both.code).toBe(0);
    setLinks([]);
    try {
      const none = await python();
      expect(none.stdout.toString(), none.stderr.toString()).toBe("cafile None\ncapath None\ncerts 0\nisrg False\n");
    } finally {
      setLinks(["cert.pem", "certs"]);
    }
  }, 120_000);
});
