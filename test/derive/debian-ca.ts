// Runs ca-certificates' own config, postinst and update-ca-certificates (from the .deb's
// control.tar and data.tar) on a copy of an extracted tree, unprivileged, in a temp dir: the
// oracle for the ca-certificates recipe. Paths are redirected into the copy; debconf is the
// file-backed stand-in of helpers.ts (answers: the templates' defaults, i.e. trust new certs).
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fakeDebconf, readTree, run, tempDir } from "./helpers.js";

export interface DebianCaResult {
  conf: Buffer;
  /** /etc/ssl/certs entries, symlink targets with the temp prefix removed. */
  certs: ReturnType<typeof readTree>;
}

/** `root`: tree with usr/share/ca-certificates (and usr/sbin/update-ca-certificates unless `ucc` is given). */
export function runDebianCaInstall(root: string, controlDir: string, locale = "C"): DebianCaResult {
  const t = join(tempDir("ca-oracle"), "root");
  cpSync(root, t, { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(t, "etc/ssl/certs"), { recursive: true });
  const tmp = join(t, "..", "tmp");
  mkdirSync(tmp);
  const { confmodule, env } = fakeDebconf(join(t, ".."), join(controlDir, "templates"));
  const ucc = join(t, "usr/sbin/update-ca-certificates");
  if (!existsSync(ucc)) throw new Error(`no update-ca-certificates in ${root}`);
  const uccCall =
    `sh ${ucc} --certsconf ${t}/etc/ca-certificates.conf --certsdir ${t}/usr/share/ca-certificates ` +
    `--localcertsdir ${t}/usr/local/share/ca-certificates --etccertsdir ${t}/etc/ssl/certs`;
  const redirect = (script: string) =>
    script
      .replaceAll(". /usr/share/debconf/confmodule", `. ${confmodule}`)
      .replaceAll("update-ca-certificates --hooksdir", "@UCC@ --hooksdir")
      .replaceAll("dpkg-trigger --no-await update-ca-certificates", ":")
      .replaceAll("/etc/ca-certificates.conf", `${t}/etc/ca-certificates.conf`)
      .replaceAll("/usr/local/share/ca-certificates", `${t}/usr/local/share/ca-certificates`)
      .replaceAll("/usr/share/ca-certificates", `${t}/usr/share/ca-certificates`)
      .replaceAll("@UCC@", uccCall);
  const scripts = join(t, "..", "scripts");
  mkdirSync(scripts);
  for (const s of ["config", "postinst"]) writeFileSync(join(scripts, s), redirect(readFileSync(join(controlDir, s), "utf8")));
  const envAll = { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: locale, TMPDIR: tmp, HOME: tmp, ...env };
  run("sh", [join(scripts, "config"), "configure", ""], { env: envAll });
  run("sh", [join(scripts, "postinst"), "configure", ""], { env: envAll });
  // the path redirection also rewrote the header's mention of /usr/share/ca-certificates
  const conf = Buffer.from(readFileSync(join(t, "etc/ca-certificates.conf"), "latin1").replaceAll(t, ""), "latin1");
  return { conf, certs: readTree(join(t, "etc/ssl/certs"), t) };
}
