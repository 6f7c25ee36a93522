// Child of bench/run.mjs: parse one Packages.xz, then resolve N requested packages with the
// closure policy; prints JSON {parseMs, resolveMs, locked}. Resolution alone, in one process;
// the scale table of run.mjs locks and builds closures of the same sizes.
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { universeLoader } from "./universe.mjs";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { load, resolve: resolveRequests } = await universeLoader(ROOT);
const [index, n] = [process.argv[2], Number(process.argv[3])];
const { universe, parseMs } = await load(index, "amd64", "bookworm");
const names = universe.names();
// Every k-th package name: deterministic and spread over the alphabet; skip ones that fail alone
// or beside the ones kept before them (two may each resolve and conflict, e.g. two mail transport agents).
const step = Math.max(1, Math.floor(names.length / (n * 3)));
const picked = [];
for (let i = 0; i < names.length && picked.length < n; i += step) {
  try {
    resolveRequests(universe, [...picked, names[i]].map((name, j) => ({ name, reason: `packages[${j}]` })), "closure");
    picked.push(names[i]);
  } catch {
    // An uninstallable package (broken in the archive on its own) is not a useful sample.
  }
}
const t = performance.now();
let locked = 0;
let error;
try {
  locked = resolveRequests(universe, picked.map((name, i) => ({ name, reason: `packages[${i}]` })), "closure").packages.length;
} catch (e) {
  error = String(e.message).split("\n")[0];
}
const resolveMs = performance.now() - t;
console.log(JSON.stringify({ parseMs, resolveMs, requested: picked.length, locked, error }));
