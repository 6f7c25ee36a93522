// Child of bench/run.mjs: parse one Packages.xz, then resolve N requested packages with the
// closure policy; prints JSON {parseMs, resolveMs, locked}. Resolution only: a lock of 500
// arbitrary packages would also download and build gigabytes of .debs.
import { createReadStream } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { decompress } = await import(join(ROOT, "dist/codec/decompress.js"));
const { readPackages } = await import(join(ROOT, "dist/debian/packages.js"));
const { Universe } = await import(join(ROOT, "dist/resolve/universe.js"));
const { resolve: resolveRequests } = await import(join(ROOT, "dist/resolve/resolver.js"));
const [index, n] = [process.argv[2], Number(process.argv[3])];
let t = performance.now();
const records = await readPackages(decompress("xz", createReadStream(index)), { source: "debian", suite: "bookworm", component: "main" }, index);
const parseMs = performance.now() - t;
const universe = new Universe("amd64", records);
const names = universe.names();
// Every k-th package name: deterministic and spread over the alphabet; skip ones that fail alone.
const step = Math.max(1, Math.floor(names.length / (n * 3)));
const picked = [];
for (let i = 0; i < names.length && picked.length < n; i += step) {
  try {
    resolveRequests(universe, [{ name: names[i], reason: "probe" }], "closure");
    picked.push(names[i]);
  } catch {
    // An uninstallable package (broken in the archive on its own) is not a useful sample.
  }
}
t = performance.now();
let locked = 0;
let error;
try {
  locked = resolveRequests(universe, picked.map((name, i) => ({ name, reason: `packages[${i}]` })), "closure").packages.length;
} catch (e) {
  error = String(e.message).split("\n")[0];
}
const resolveMs = performance.now() - t;
console.log(JSON.stringify({ parseMs, resolveMs, requested: picked.length, locked, error }));
