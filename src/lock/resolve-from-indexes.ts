/**
 * One architecture resolved from its verified indexes, on a lock's memo miss. Its own function
 * on purpose: the parsed index (tens of MB per architecture) lives only in this call's frame,
 * so it is garbage before the layer is built and compressed, and before the next architecture's
 * index is parsed. Held by the caller's suspended async frame instead, it stayed reachable
 * through the whole layer build and V8 let the heap grow in proportion to it.
 */
import type { Fetcher } from "../fetch/fetcher.js";
import type { Manifest } from "../model/manifest.js";
import type { VerifiedSuite } from "../sources/archive.js";
import type { IndexChoice } from "../sources/index-choice.js";
import { ResolveError } from "../model/errors.js";
import { Universe } from "../resolve/universe.js";
import { namesByArch, readIndexes } from "./indexes.js";
import type { planRequests } from "./plan.js";
import { lockArchitecture, resolveOrExplain, type ResolvedArchitecture } from "./resolve-arch.js";

export interface ArchitectureInputs {
  manifest: Manifest;
  arch: string;
  suites: VerifiedSuite[];
  choices: Array<{ vs: VerifiedSuite; choice: IndexChoice }>;
  group: ReturnType<typeof planRequests>;
  /** Versions to keep (the old lock's), by package name. */
  prefer: Map<string, string>;
}

/** A resolution, and the same request resolved again with the next run's pins where they differ. */
export interface Resolution {
  locked: ResolvedArchitecture;
  next?: { prefer: Map<string, string>; locked: ResolvedArchitecture };
}

/**
 * `nextPins`: the pins the next run will prefer after this result is written (its versions).
 * Resolving with them costs milliseconds once the index is parsed, and the caller memoises both,
 * so a `lock --check` right after a `lock` parses nothing.
 */
export async function resolveFromIndexes(fetcher: Fetcher, inputs: ArchitectureInputs, nextPins?: (locked: ResolvedArchitecture) => Map<string, string>): Promise<Resolution> {
  const { manifest, arch, group, prefer } = inputs;
  const n = inputs.choices.length;
  fetcher.progress.phase(`decoding the ${arch} indexes`, `${n} ${n === 1 ? "index" : "indexes"}`);
  const records = await readIndexes(fetcher, inputs.choices);
  fetcher.progress.phase(`resolving ${arch}`);
  const universe = new Universe(arch, records);
  const resolveAll = (pins: Map<string, string>, otherArches?: Map<string, string[]>) => [
    resolveOrExplain(universe, group.withDeps, manifest.policy, pins, arch, otherArches),
    resolveOrExplain(universe, group.alone, "none", pins, arch, otherArches),
  ];
  let results;
  try {
    results = resolveAll(prefer);
  } catch (e) {
    if (!(e instanceof ResolveError) || manifest.architectures.length < 2) throw e;
    // Only on failure: read the other architectures' indexes, so that a package missing
    // here is reported as existing only there ("exists only for amd64").
    results = resolveAll(prefer, await namesByArch(manifest, inputs.suites, fetcher, arch));
  }
  const locked = lockArchitecture(manifest, arch, results, group.setOfReason);
  const again = nextPins?.(locked);
  if (again === undefined || samePins(again, prefer)) return { locked };
  try {
    return { locked, next: { prefer: again, locked: lockArchitecture(manifest, arch, resolveAll(again), group.setOfReason) } };
  } catch {
    // Only a head start for the next run, which resolves and explains it itself.
    return { locked };
  }
}

function samePins(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([name, version]) => b.get(name) === version);
}
