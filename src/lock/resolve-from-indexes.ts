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

export async function resolveFromIndexes(fetcher: Fetcher, inputs: ArchitectureInputs): Promise<ResolvedArchitecture> {
  const { manifest, arch, group, prefer } = inputs;
  const n = inputs.choices.length;
  fetcher.progress.phase(`decoding the ${arch} indexes`, `${n} ${n === 1 ? "index" : "indexes"}`);
  const records = await readIndexes(fetcher, inputs.choices);
  fetcher.progress.phase(`resolving ${arch}`);
  const universe = new Universe(arch, records);
  const resolveAll = (otherArches?: Map<string, string[]>) => [
    resolveOrExplain(universe, group.withDeps, manifest.policy, prefer, arch, otherArches),
    resolveOrExplain(universe, group.alone, "none", prefer, arch, otherArches),
  ];
  let results;
  try {
    results = resolveAll();
  } catch (e) {
    if (!(e instanceof ResolveError) || manifest.architectures.length < 2) throw e;
    // Only on failure: read the other architectures' indexes, so that a package missing
    // here is reported as existing only there ("exists only for amd64").
    results = resolveAll(await namesByArch(manifest, inputs.suites, fetcher, arch));
  }
  return lockArchitecture(manifest, arch, results, group.setOfReason);
}
