/**
 * Resolution over the real bookworm-updates amd64 index recorded in snapshots/. That index is
 * a small overlay (no libc6, no debconf), so the closure tests add two stub base packages,
 * as the bookworm main index would provide them.
 */
import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { ResolveError } from "../../src/model/errors.js";
import type { PackageRecord } from "../../src/model/package.js";
import { resolve } from "../../src/resolve/resolver.js";
import { Universe } from "../../src/resolve/universe.js";
import { rec, req } from "./helpers.js";

const INDEX = fileURLToPath(
  new URL("../../snapshots/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz", import.meta.url),
);

/** name → "version architecture" read with the xz tool and plain text splitting: an independent oracle. */
function oracle(): Map<string, string> | undefined {
  let text: string;
  try {
    text = execFileSync("xz", ["-dc", INDEX], { encoding: "utf8", maxBuffer: 64 << 20 });
  } catch {
    return undefined;
  }
  const out = new Map<string, string>();
  for (const stanza of text.split(/\n\n+/)) {
    const f = (k: string): string | undefined => new RegExp(`^${k}: (.*)$`, "m").exec(stanza)?.[1];
    const name = f("Package");
    if (name) out.set(name, `${f("Version")} ${f("Architecture")}`);
  }
  return out;
}

describe("real snapshot: bookworm-updates main amd64", () => {
  let records: PackageRecord[] = [];
  const stubs = [
    rec("libc6", "2.36-9+deb12u10", { multiArch: "same", depends: "libgcc-s1" }),
    rec("libgcc-s1", "12.2.0-14+deb12u1", { multiArch: "same", depends: "libc6 (>= 2.35)" }),
    rec("debconf", "1.5.82", { architecture: "all", multiArch: "foreign", provides: "debconf-2.0" }),
  ];

  beforeAll(async () => {
    const { readPackages } = await import("../../src/debian/packages.js");
    const { decompress } = await import("../../src/codec/decompress.js");
    records = await readPackages(
      decompress("xz", createReadStream(INDEX)),
      { source: "debian", suite: "bookworm-updates", component: "main" },
      INDEX,
    );
  });

  it("builds an amd64 universe holding every stanza, and an arm64 one holding only arch all", () => {
    const want = oracle();
    const amd = new Universe("amd64", records);
    const arm = new Universe("arm64", records);
    if (want) {
      expect(amd.names()).toEqual([...want.keys()].sort());
      for (const name of amd.names()) {
        const c = amd.candidates(name);
        expect(c.length).toBe(1);
        expect(`${c[0]!.version} ${c[0]!.architecture}`).toBe(want.get(name));
      }
      expect(arm.names()).toEqual([...want].filter(([, v]) => v.endsWith(" all")).map(([n]) => n).sort());
    }
    expect(arm.names()).toContain("tzdata");
    expect(arm.names()).not.toContain("openssl");
    expect(amd.providers("ssh-client").map((p) => p.record.name)).toEqual(["openssh-client"]);
  });

  it("policy none: only what is named, virtual names through their single provider", () => {
    const r = resolve(new Universe("amd64", records), [req("tzdata", "file set tzdata"), req("ssh-server", "packages[0]")], "none");
    expect(r.packages.map((p) => [p.record.name, p.reasons])).toEqual([
      ["openssh-server", ["packages[0]"]],
      ["tzdata", ["file set tzdata"]],
    ]);
    const tz = r.packages[1]!.record;
    expect(tz.filename).toMatch(/^pool\/main\/t\/tzdata\/tzdata_.*_all\.deb$/);
    expect(tz.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("closure without the base packages fails naming the chain", () => {
    const u = new Universe("amd64", records);
    let err: unknown;
    try {
      resolve(u, [req("ca-certificates", "file set ca-certs")], "closure");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ResolveError);
    // Depth-first in field order, as apt: openssl (the first group) is tried first, and fails on libc6.
    expect((err as Error).message).toBe("cannot resolve for amd64: file set ca-certs → ca-certificates → openssl → libc6 (>= 2.34) → nothing provides libc6");
  });

  it("closure of ca-certificates with stub base packages", () => {
    const want = oracle();
    const r = resolve(new Universe("amd64", [...records, ...stubs]), [req("ca-certificates", "file set ca-certs")], "closure");
    expect(Object.fromEntries(r.packages.map((p) => [p.record.name, p.reasons]))).toEqual({
      "ca-certificates": ["file set ca-certs"],
      debconf: ["file set ca-certs → ca-certificates → debconf"],
      libc6: ["file set ca-certs → ca-certificates → openssl → libc6"],
      "libgcc-s1": ["file set ca-certs → ca-certificates → openssl → libc6 → libgcc-s1"],
      libssl3: ["file set ca-certs → ca-certificates → openssl → libssl3"],
      openssl: ["file set ca-certs → ca-certificates → openssl"],
    });
    if (want) {
      for (const p of r.packages) {
        if (want.has(p.record.name)) expect(`${p.record.version} ${p.record.architecture}`).toBe(want.get(p.record.name));
      }
    }
  });

  it("an arm64 resolution says which packages exist only for amd64", () => {
    const otherArches = new Map(records.map((r) => [r.name, [r.architecture]]));
    const u = new Universe("arm64", [...records, ...stubs.filter((s) => s.architecture === "all")]);
    expect(() => resolve(u, [req("openssl", "packages[1]")], "none", { otherArches })).toThrow(
      "cannot resolve for arm64: packages[1] → openssl → nothing provides openssl (openssl exists only for amd64)",
    );
    const r = resolve(u, [req("openssl", "packages[1]", { optional: true }), req("tzdata", "file set tzdata")], "closure", { otherArches });
    expect(r.packages.map((p) => p.record.name)).toEqual(["debconf", "tzdata"]);
    expect(r.skipped).toEqual([{ name: "openssl", reason: "packages[1]: no package openssl for arm64 (openssl exists only for amd64)" }]);
  });
});
