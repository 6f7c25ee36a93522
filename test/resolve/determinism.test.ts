import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ResolveError } from "../../src/model/errors.js";
import type { PackageRecord } from "../../src/model/package.js";
import { resolve } from "../../src/resolve/resolver.js";
import type { DependencyPolicy, PackageRequest } from "../../src/resolve/types.js";
import { Universe } from "../../src/resolve/universe.js";
import { rec } from "./helpers.js";

const NAMES = ["a", "b", "c", "d", "e", "f"];
const VIRTUALS = ["v1", "v2"];
const VERSIONS = ["1", "1.1", "2~rc1", "2", "1:0.5"]; // distinct in dpkg order
const OPS = ["<<", "<=", "=", ">=", ">>"] as const;

const relation = fc
  .tuple(
    fc.constantFrom(...NAMES, ...VIRTUALS, "missing"),
    fc.option(fc.tuple(fc.constantFrom(...OPS), fc.constantFrom(...VERSIONS)), { nil: undefined }),
    fc.constantFrom("", ":any", " [!amd64]", " [amd64]"),
  )
  .map(([n, c, suffix]) => {
    const [q, r] = suffix.startsWith(":") ? [suffix, ""] : ["", suffix];
    return `${n}${q}${c ? ` (${c[0]} ${c[1]})` : ""}${r}`;
  });

const field = fc
  .array(fc.array(relation, { minLength: 1, maxLength: 3 }), { maxLength: 3 })
  .map((groups) => groups.map((g) => g.join(" | ")).join(", "));

const provides = fc
  .array(fc.tuple(fc.constantFrom(...VIRTUALS), fc.option(fc.constantFrom(...VERSIONS), { nil: undefined })), { maxLength: 2 })
  .map((ps) => ps.map(([n, v]) => (v ? `${n} (= ${v})` : n)).join(", "));

const record = fc
  .record({
    name: fc.constantFrom(...NAMES),
    version: fc.constantFrom(...VERSIONS),
    architecture: fc.constantFrom("amd64", "all", "arm64"),
    depends: field,
    preDepends: field,
    provides,
  })
  .map(({ name, version, ...rest }) => rec(name, version, rest));

const request = fc
  .record({
    name: fc.constantFrom(...NAMES, ...VIRTUALS, "missing"),
    reason: fc.constantFrom("r1", "r2", "r3"),
    optional: fc.boolean(),
    constraint: fc.option(fc.record({ op: fc.constantFrom(...OPS), version: fc.constantFrom(...VERSIONS) }), { nil: undefined }),
  })
  .map((r): PackageRequest => (r.constraint ? r : { name: r.name, reason: r.reason, optional: r.optional }));

/** Unique (name, version, architecture): the one case where the first record seen wins by design. */
function unique(records: PackageRecord[]): PackageRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const k = `${r.name} ${r.version} ${r.architecture}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function permute<T>(xs: readonly T[], keys: readonly number[]): T[] {
  return xs
    .map((x, i) => ({ x, k: keys[i % Math.max(keys.length, 1)] ?? 0, i }))
    .sort((p, q) => p.k - q.k || q.i - p.i) // reversed tie-break: a real reordering even with equal keys
    .map((p) => p.x);
}

function outcome(records: PackageRecord[], requests: PackageRequest[], policy: DependencyPolicy, prefer: Map<string, string>): string {
  try {
    const r = resolve(new Universe("amd64", records), requests, policy, { prefer });
    return JSON.stringify(r);
  } catch (e) {
    if (!(e instanceof ResolveError)) throw e;
    return `error: ${e.message}`;
  }
}

describe("determinism", () => {
  it("does not depend on the order of records or requests", () => {
    let resolved = 0;
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 14 }).map(unique),
        fc.array(request, { minLength: 1, maxLength: 4 }),
        fc.constantFrom<DependencyPolicy>("none", "closure"),
        fc.array(fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...VERSIONS)), { maxLength: 2 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
        (records, requests, policy, pins, recKeys, reqKeys) => {
          const prefer = new Map(pins);
          const a = outcome(records, requests, policy, prefer);
          const b = outcome(permute(records, recKeys), permute(requests, reqKeys), policy, prefer);
          expect(b).toBe(a);
          if (!a.startsWith("error")) resolved++;
        },
      ),
      { numRuns: 400 },
    );
    // The generator must exercise successful resolutions too, not only errors.
    expect(resolved).toBeGreaterThan(40);
  });
});
