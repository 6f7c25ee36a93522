/**
 * Live: OpenSSL's compiled-in default CA paths work in a layer. The example manifest plus a
 * file set with libssl3's libraries is locked against this machine's apt mirror (amd64), the
 * layer built and extracted, and a C program linked dynamically with the layer's libcrypto
 * (built here with gcc against libssl-dev) verifies a real root of ca-certificates using only
 * X509_STORE_set_default_paths, run with chroot and an empty environment (no SSL_CERT_FILE or
 * SSL_CERT_DIR). Then the openssl-paths outputs are taken away one by one: each link alone is
 * enough, and without both (a layer without the derivation) the same root is not trusted.
 * Skips with the reason when there is no mirror, no root, chroot, gcc or OpenSSL headers.
 */
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findLiveMirror } from "./mirror.js";
import { layerWith, lockWith, must, removeDir, repoRoot, run } from "../layer/helpers.js";
import { hasCommand } from "../fixtures/deb.js";
import { compileC } from "../fixtures/probe-program.js";

const SUITES = ["bookworm", "bookworm-updates", "bookworm-security"];
/** Shared with the other live layer test (content-addressed, re-verified on use). */
const CACHE = join(tmpdir(), "scratch-pkgs-live-layer-cache");
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

let work: string | undefined;

afterAll(async () => {
  await removeDir(work);
});

async function skipReason(): Promise<string | undefined> {
  const { skip } = await findLiveMirror(SUITES);
  if (skip) return skip;
  if (process.getuid?.() !== 0) return "chroot needs root";
  if (CHROOT === undefined) return "chroot is missing";
  if (!hasCommand("gcc", "--version")) return "gcc is missing";
  if (!existsSync("/usr/include/openssl/x509_vfy.h")) return "OpenSSL's headers are missing (libssl-dev)";
  if (process.arch !== "x64") return `the host is ${process.arch}, the proof runs an amd64 program`;
  return undefined;
}

describe("live: OpenSSL's default paths in a layer with libssl3 and the ca-certs set (chroot, empty environment)", () => {
  it("a libcrypto program trusts a ca-certificates root through X509_STORE_set_default_paths only, and not without the links", async (ctx) => {
    const why = await skipReason();
    if (why) {
      console.log(`live OpenSSL default-paths proof skipped: ${why}`);
      return ctx.skip(why);
    }
    work = await mkdtemp(join(tmpdir(), "scratch-pkgs-live-openssl-"));
    const manifest = JSON.parse(readFileSync(join(repoRoot, "scratch.json"), "utf8")) as {
      sources: Array<{ keyring: string }>;
      architectures: string[];
      fileSets: Record<string, unknown>;
    };
    for (const s of manifest.sources) s.keyring = join(repoRoot, s.keyring);
    manifest.architectures = ["amd64"];
    manifest.fileSets.openssl = { packages: ["libssl3"], paths: ["/usr/lib/*/libssl.so.*", "/usr/lib/*/libcrypto.so.*"], exclude: [] };
    writeFileSync(join(work, "scratch.json"), JSON.stringify(manifest, null, 2));
    const lockfile = join(work, "scratch.lock");
    const { lock } = await lockWith({ config: join(work, "scratch.json"), lockfile, cache: CACHE, aptSources: "", live: true });

    // The lock records the recipe with the libraries that made it apply and the two links.
    const rec = lock.architectures.amd64!.derivations.find((d) => d.recipe === "openssl-paths");
    expect(rec?.inputs.map((i) => i.path)).toEqual(["/usr/lib/x86_64-linux-gnu/libcrypto.so.3", "/usr/lib/x86_64-linux-gnu/libssl.so.3"]);
    expect(rec?.outputs.map((o) => [o.path, o.type])).toEqual([["/usr/lib/ssl/cert.pem", "symlink"], ["/usr/lib/ssl/certs", "symlink"]]);

    const [r] = await layerWith({ lockfile, cache: CACHE, aptSources: "", live: true, output: join(work, "layer.tar") });
    const root = join(work, "root");
    mkdirSync(root);
    await must("tar", ["-x", "--numeric-owner", "-f", r!.output!, "-C", root]);
    // As Debian's openssl package writes them.
    expect(readlinkSync(join(root, "usr/lib/ssl/cert.pem"))).toBe("/etc/ssl/certs/ca-certificates.crt");
    expect(readlinkSync(join(root, "usr/lib/ssl/certs"))).toBe("/etc/ssl/certs");
    expect(existsSync(join(root, ROOT_CERT.slice(1))), ROOT_CERT).toBe(true);

    await compileC(join(root, "verify"), VERIFY_C, ["-lcrypto"]);
    // linked dynamically: the layer's libcrypto is what runs
    expect(readFileSync(join(root, "verify")).includes(Buffer.from("libcrypto.so.3\0"))).toBe(true);

    const verify = () => run("/usr/bin/env", ["-i", CHROOT!, root, "/verify", ROOT_CERT]);
    const defaults = "file /usr/lib/ssl/cert.pem\ndir /usr/lib/ssl/certs\n";
    const links = { "cert.pem": "/etc/ssl/certs/ca-certificates.crt", certs: "/etc/ssl/certs" } as const;
    const setLinks = (names: ReadonlyArray<keyof typeof links>) => {
      for (const [name, target] of Object.entries(links)) {
        rmSync(join(root, "usr/lib/ssl", name), { force: true });
        if (names.includes(name as keyof typeof links)) symlinkSync(target, join(root, "usr/lib/ssl", name));
      }
    };

    const both = await verify();
    expect(both.stdout.toString(), both.stderr).toBe(defaults + "verified\n");
    expect(both.code).toBe(0);

    // Each link alone is a working lookup: the bundle file, or the subject-hash directory.
    for (const only of ["cert.pem", "certs"] as const) {
      setLinks([only]);
      const got = await verify();
      expect(got.stdout.toString(), `${only} only: ${got.stderr}`).toBe(defaults + "verified\n");
    }

    // Without the derivation's outputs the same program trusts nothing.
    setLinks([]);
    const none = await verify();
    expect(none.stdout.toString(), none.stderr).toBe(defaults + "not verified: self-signed certificate\n");
    expect(none.code).toBe(1);
  }, 300_000);
});
