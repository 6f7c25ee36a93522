// Declared licenses from Debian copyright files: the real ca-certificates .deb in snapshots/
// (its file read independently with dpkg-deb, and by the layer build in its one pass over the
// .deb), and DEP-5 shapes written here.
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyrightLicense, declaredLicense, toSpdxExpression } from "../../src/image/copyright.js";
import { buildLayer, type BuiltLayer } from "../../src/layer/build.js";
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";
import type { LockedPackage } from "../../src/model/lock.js";
import { removeDir, repoRoot, sha256, tempDir } from "../lock/helpers.js";

const CA_DEB = join(repoRoot, "snapshots/debian/pool/main/c/ca-certificates/ca-certificates_20230311+deb12u1_all.deb");

/** A layer of the real .deb under package name `name`, taking only its certificates (never the copyright file); `copyrights` as image asks. */
async function caLayer(name: string, dir: string, copyrights = true): Promise<BuiltLayer> {
  const http = new HttpClient({ retries: 0 });
  const fetcher = new Fetcher({ cache: new ContentCache(join(dir, name)), http, offline: false, progress: silentProgress });
  const url = pathToFileURL(CA_DEB).href;
  const pkg: LockedPackage = {
    name, version: "20230311+deb12u1", architecture: "all", source: "debian", suite: "bookworm", component: "main",
    url, size: statSync(CA_DEB).size, sha256: sha256(readFileSync(CA_DEB)), reasons: [],
    select: [{ set: "ca-certs", include: ["/usr/share/ca-certificates/**"], exclude: [] }],
  };
  try {
    return await buildLayer({ arch: "amd64", packages: [pkg], derivations: [], mtime: 0, copyrights }, { fetcher, urlsFor: () => [url] });
  } finally {
    await http.close();
  }
}

/** The copyright file as dpkg-deb extracts it: the oracle for what the package declares. */
function caCopyright(): string {
  return execFileSync("sh", ["-c", 'dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./usr/share/doc/ca-certificates/copyright', "sh", CA_DEB], { encoding: "utf8" });
}

const DEP5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n";

describe("the real ca-certificates 20230311+deb12u1", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir("scratch-copyright-");
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("is machine-readable but has no `Files: *` paragraph, so it declares NOASSERTION", async () => {
    const text = caCopyright();
    // What the file itself says, checked without our parser.
    expect(text.split("\n")[0]).toBe(DEP5.trim());
    const filesLines = text.split("\n").filter((l) => l.startsWith("Files:"));
    expect(filesLines).toEqual(["Files: debian/*", "Files: mozilla/certdata.txt"]);
    expect(text).toMatch(/^License: GPL-2\+$/m);
    expect(text).toMatch(/^License: MPL-2\.0$/m);

    // The layer build reads the copyright file in its pass over the .deb, though it does not take it.
    const built = await caLayer("ca-certificates", dir);
    expect(built.nodes.some((n) => n.path.startsWith("/usr/share/doc/"))).toBe(false);
    expect(Buffer.from(built.copyright.get("ca-certificates")!).toString("utf8")).toBe(text);
    const got = copyrightLicense(built.copyright.get("ca-certificates"));
    expect(got).toEqual({ expression: "NOASSERTION", refs: [] });
    expect(declaredLicense(text)).toEqual(got);
  });

  it("is read only when the build is asked for copyrights (image), not for a layer or a lock", async () => {
    const built = await caLayer("ca-certificates", join(dir, "unasked"), false);
    expect([...built.copyright.keys()]).toEqual([]);
    expect(built.nodes.some((n) => n.path.startsWith("/usr/share/ca-certificates/"))).toBe(true);
  });

  it("would declare GPL-2.0-or-later if its first Files paragraph covered *", () => {
    // The same real text with the first Files field widened to "*": proves the reader finds the
    // License field under continuation lines and a multi-line Files field.
    const text = caCopyright().replace(/^Files: debian\/\*$/m, "Files: *");
    expect(declaredLicense(text).expression).toBe("GPL-2.0-or-later");
  });

  it("a package without that copyright path declares nothing", async () => {
    const built = await caLayer("not-ca-certificates", dir);
    expect([...built.copyright.keys()]).toEqual([]);
    expect(copyrightLicense(built.copyright.get("not-ca-certificates"))).toEqual({ expression: "NOASSERTION", refs: [] });
  });
});

describe("declaredLicense", () => {
  it("takes the License of the Files: * paragraph", () => {
    const text = `${DEP5}Upstream-Name: x\n\nFiles: debian/*\nCopyright: d\nLicense: Expat\n\nFiles: *\nCopyright: u\nLicense: BSD-3-clause\n text\n`;
    expect(declaredLicense(text)).toEqual({ expression: "BSD-3-Clause", refs: [] });
    // Files: * may share its field with other patterns.
    expect(declaredLicense(`${DEP5}\nFiles: * src/*\nCopyright: u\nLicense: LGPL-2.1+\n`).expression).toBe("LGPL-2.1-or-later");
  });

  it("accepts the http form of the Format URL and no trailing slash", () => {
    expect(declaredLicense("Format: http://www.debian.org/doc/packaging-manuals/copyright-format/1.0\n\nFiles: *\nCopyright: u\nLicense: GPL-2\n").expression).toBe("GPL-2.0-only");
  });

  it("is NOASSERTION for free-form text and the old DEP-5 draft URLs", () => {
    expect(declaredLicense("This package was debianized by someone.\n\nIt is GPL.\n").expression).toBe("NOASSERTION");
    expect(declaredLicense("Format-Specification: http://svn.debian.org/wsvn/dep/web/deps/dep5.mdwn?op=file&rev=135\n\nFiles: *\nLicense: GPL-2\n").expression).toBe("NOASSERTION");
    expect(declaredLicense(`${DEP5}\nFiles: *\nCopyright: u\n`).expression).toBe("NOASSERTION");
    expect(declaredLicense("").expression).toBe("NOASSERTION");
  });

  it("turns unknown names into LicenseRefs with the stand-alone License paragraph's text", () => {
    const text = `${DEP5}\nFiles: *\nCopyright: u\nLicense: Custom+ or GPL-3+\n\nLicense: Custom+\n Do what you like.\n .\n Really.\n`;
    const got = declaredLicense(text);
    expect(got.expression).toBe("LicenseRef-Custom-or-later OR GPL-3.0-or-later");
    expect(got.refs).toEqual([{ licenseId: "LicenseRef-Custom-or-later", name: "Custom+", extractedText: "Do what you like.\n\nReally." }]);
  });
});

describe("toSpdxExpression", () => {
  it("maps Debian short names and operators", () => {
    const cases: Array<[string, string]> = [
      ["GPL-2+", "GPL-2.0-or-later"],
      ["GPL-3", "GPL-3.0-only"],
      ["LGPL-2.1", "LGPL-2.1-only"],
      ["Expat", "MIT"],
      ["Apache-2.0", "Apache-2.0"],
      ["MPL-2.0", "MPL-2.0"],
      ["BSD-2-clause and ISC", "BSD-2-Clause AND ISC"],
      ["GPL-2+ or Artistic", "GPL-2.0-or-later OR Artistic-1.0"],
      ["GPL-2+ or Artistic, and BSD-3-clause", "(GPL-2.0-or-later OR Artistic-1.0) AND BSD-3-Clause"],
      ["Zlib, or MIT", "Zlib OR MIT"],
      ["public-domain", "LicenseRef-public-domain"],
    ];
    for (const [debian, spdx] of cases) expect(toSpdxExpression(debian).expression, debian).toBe(spdx);
    const withException = toSpdxExpression("GPL-3+ with GCC-exception-3.1 exception");
    expect(withException.expression).toBe("LicenseRef-GPL-3-with-GCC-exception-3.1-exception");
    expect(withException.refs).toHaveLength(1);
  });
});
