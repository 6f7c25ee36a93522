// Child of bench/run.mjs: picks the requests of the scale table. Given one Packages.xz per
// architecture (same suite), it orders the package names both architectures have by
// sha256(seed + name) — a fixed seed, so every run picks the same — and keeps, in that order,
// those that resolve (closure policy) on every architecture together with the ones kept before
// them (two packages may each resolve alone and conflict, e.g. two mail transport agents), until
// the largest size.
// Each size takes a prefix, so 1 ⊂ 10 ⊂ 100 ⊂ 500. Prints JSON
// {sizes: {n: {requests, locked: {arch: count}, error?}}}.
import { createHash } from "node:crypto";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { universeLoader } from "./universe.mjs";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { load, resolve: resolveRequests } = await universeLoader(ROOT);

// argv: suite seed sizes(comma-separated) arch=index…
const [suite, seed, sizeList, ...pairs] = process.argv.slice(2);
const sizes = sizeList.split(",").map(Number);
const universes = [];
for (const pair of pairs) {
  const [arch, index] = pair.split("=");
  universes.push({ arch, universe: (await load(index, arch, suite)).universe });
}
const resolvesWith = (kept, name) =>
  universes.every(({ universe }) => {
    try {
      resolveRequests(universe, [...kept, name].map((n, i) => ({ name: n, reason: `packages[${i}]` })), "closure");
      return true;
    } catch {
      return false; // broken in the archive, alone or beside the ones kept: not a useful sample
    }
  });
const onAll = universes.slice(1).reduce((names, { universe }) => {
  const here = new Set(universe.names());
  return names.filter((n) => here.has(n));
}, universes[0].universe.names());
const key = (name) => createHash("sha256").update(`${seed}\0${name}`).digest("hex");
const ordered = onAll.map((name) => ({ name, k: key(name) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
const picked = [];
const most = Math.max(...sizes);
for (const { name } of ordered) {
  if (picked.length === most) break;
  if (resolvesWith(picked, name)) picked.push(name);
}
const out = {};
for (const n of sizes) {
  const requests = picked.slice(0, n);
  const locked = {};
  let error;
  for (const { arch, universe } of universes) {
    try {
      locked[arch] = resolveRequests(universe, requests.map((name, i) => ({ name, reason: `packages[${i}]` })), "closure").packages.length;
    } catch (e) {
      error = `${arch}: ${String(e.message).split("\n")[0]}`;
    }
  }
  out[n] = { requests, locked, error };
}
console.log(JSON.stringify({ sizes: out }));
