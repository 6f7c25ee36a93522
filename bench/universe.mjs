// One architecture's package universe from one Packages.xz, as the program builds it.
import { createReadStream } from "node:fs";
import { join } from "node:path";

export async function universeLoader(root) {
  const { decompress } = await import(join(root, "dist/codec/decompress.js"));
  const { readPackages } = await import(join(root, "dist/debian/packages.js"));
  const { Universe } = await import(join(root, "dist/resolve/universe.js"));
  const { resolve } = await import(join(root, "dist/resolve/resolver.js"));
  return {
    resolve,
    /** Parses `index` (suite/component label only) and returns its records and the parse time. */
    async load(index, arch, suite) {
      const t = performance.now();
      const records = await readPackages(decompress("xz", createReadStream(index)), { source: "debian", suite, component: "main" }, index);
      const parseMs = performance.now() - t;
      return { universe: new Universe(arch, records), parseMs };
    },
  };
}
