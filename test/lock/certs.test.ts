// The fixture certificates are real X.509 whichever way they were made (openssl here, the
// node:crypto fallback on a machine without openssl): node's own X.509 parser reads them, their
// signature verifies with their own key, and the recipe's subject hash matches openssl's.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { rehashableCert } from "../../src/derive/x509-hash.js";
import { CERT_NAMES, fixtureCertificates, hasOpenssl, nodeCertificate } from "./certs.js";

describe("fixture certificates", () => {
  const made = [...fixtureCertificates().map((pem, i) => ({ how: hasOpenssl() ? "openssl" : "node:crypto", cn: CERT_NAMES[i]!, pem })), { how: "node:crypto", cn: "Fallback Root", pem: nodeCertificate("Fallback Root") }];

  it.each(made)("$how: $cn is a self-signed X.509 certificate", ({ cn, pem }) => {
    const x = new X509Certificate(pem);
    expect(x.subject.split("\n")).toEqual(["C=NL", "O=scratch-pkgs tests", `CN=${cn}`]);
    expect(x.issuer).toBe(x.subject);
    expect(x.verify(x.publicKey)).toBe(true);
    const info = rehashableCert(new TextEncoder().encode(pem));
    expect(info?.sha1).toBe(x.fingerprint.replace(/:/g, "").toLowerCase());
    if (hasOpenssl()) expect(info?.subjectHash).toBe(execFileSync("openssl", ["x509", "-noout", "-subject_hash"], { input: pem }).toString().trim());
  });

  it("are distinct certificates", () => {
    expect(new Set(made.map((m) => new X509Certificate(m.pem).fingerprint256)).size).toBe(made.length);
  });
});
