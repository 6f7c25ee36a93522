import { describe, expect, it } from "vitest";
import { BUILTIN_FILE_SET_TABLE, BUILTIN_FILE_SETS } from "../../src/model/builtin-file-sets.js";
import { derivationSteps, runDerivation } from "../../src/layer/derivations.js";
import { builtinFileSet } from "../../src/resolve/filesets.js";
import { BASE_FILES_RECIPE } from "../../src/derive/base-files.js";
import { CA_CERTIFICATES_RECIPE } from "../../src/derive/ca-certificates.js";
import { TIMEZONE_RECIPE } from "../../src/derive/timezone.js";
import { OPENSSL_PATHS_RECIPE } from "../../src/derive/openssl-paths.js";

describe("the built-in file set table", () => {
  it("names the sets in byte order", () => {
    expect([...BUILTIN_FILE_SETS]).toEqual(Object.keys(BUILTIN_FILE_SET_TABLE).sort());
  });

  it("is what the resolver plans", () => {
    for (const name of BUILTIN_FILE_SETS) {
      const spec = BUILTIN_FILE_SET_TABLE[name as keyof typeof BUILTIN_FILE_SET_TABLE];
      expect(builtinFileSet(name)).toEqual({ name, builtin: true, everyGlobMustMatch: false, followDependencies: spec.followDependencies, packages: spec.packages.map((p) => ({ name: p.name, include: [...p.include], exclude: [...p.exclude] })) });
    }
    expect(builtinFileSet("packages")).toBeUndefined();
  });

  it("adds each set's derivation, in the fixed order the lock records, under the recipes' own names", () => {
    const steps = derivationSteps({ arch: "amd64", fileSets: [{ name: "tzdata", timezone: "Europe/Paris" }, { name: "libc" }, { name: "ca-certs" }, { name: "base" }], dpkgStatus: true });
    expect(steps).toEqual([
      { recipe: "usr-merge", options: { arch: "amd64" } },
      { recipe: BASE_FILES_RECIPE, options: {} },
      { recipe: CA_CERTIFICATES_RECIPE, options: { links: true } },
      { recipe: OPENSSL_PATHS_RECIPE, options: {} },
      { recipe: TIMEZONE_RECIPE, options: { timezone: "Europe/Paris" } },
      { recipe: "dpkg-status", options: {} },
    ]);
    // Every recipe the table names is one the layer can run.
    for (const s of steps) expect(() => runDerivation(s, { nodes: new Map() }, [])).not.toThrow(/unknown derivation recipe/);
  });
});
