import { test } from "vitest";
import { writeFileSync } from "node:fs";
import { caCertificates } from "../../src/derive/ca-certificates.js";
import { runDebianCaInstall } from "./debian-ca.js";
import { extractDeb, nodesFromDir } from "./helpers.js";
test("dbg", () => {
  const deb = extractDeb("snapshots/debian/pool/main/c/ca-certificates/ca-certificates_20230311+deb12u1_all.deb");
  const o = runDebianCaInstall(deb.root, deb.control);
  writeFileSync("/tmp/oracle.conf", o.conf);
  const d = caCertificates({ nodes: nodesFromDir(deb.root, { package: "x", version: "1" }) }, { links: true });
  writeFileSync("/tmp/ours.conf", d.nodes.find(n => n.path === "/etc/ca-certificates.conf")!.content!);
  writeFileSync("/tmp/oracle-certs.txt", [...o.certs.keys()].sort().join("\n"));
});
