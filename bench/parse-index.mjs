// Child of bench/run.mjs: decompress and parse one Packages.xz, print the record count.
import { createReadStream } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { decompress } = await import(join(ROOT, "dist/codec/decompress.js"));
const { parsePackages } = await import(join(ROOT, "dist/debian/packages.js"));
let n = 0;
for await (const _ of parsePackages(decompress("xz", createReadStream(process.argv[2])), { source: "bench", suite: "bookworm", component: "main" }, process.argv[2])) n++;
console.log(`${n} stanzas`);
