/**
 * The Packages indexes of a verified suite: which to read and where from (by-hash first where
 * the release offers it). Apart from reading them (indexes.ts), so that a warm `lock`, which
 * records the choice but reads no index, loads no decompressor or parser.
 */
import { byHashUrl, suiteUrl } from "../debian/suite-urls.js";
import type { LockedIndex } from "../model/lock.js";
import { ResolveError, VerificationError } from "../model/errors.js";
import type { VerifiedSuite } from "./archive.js";

export interface IndexChoice {
  /** As the signed release lists it: this is what the lock records. */
  locked: LockedIndex;
  /** URLs to fetch from, in order: by-hash first where the release offers it. */
  urls: string[];
  /** The index's URL under the manifest's base, for messages. */
  label: string;
}

/** One index file of a verified suite, with the sha256 and size its signed release lists for `path`. */
export function indexChoice(vs: VerifiedSuite, component: string, architecture: string, path: string): IndexChoice {
  const { release, ref } = vs;
  const entry = release.files.get(path);
  if (entry === undefined) {
    throw new VerificationError(`${vs.label} lists no ${path}`, { hint: "the suite may not carry this component/architecture, or the lock names an index its release does not have" });
  }
  const urls = ref.bases.flatMap((b) => [...(release.acquireByHash ? [byHashUrl(b, ref.suite, path, entry.sha256)] : []), suiteUrl(b, ref.suite, path)]);
  return { locked: { component, architecture, path, sha256: entry.sha256, size: entry.size }, urls, label: suiteUrl(ref.url, ref.suite, path) };
}

const FORMS = [".xz", ".gz", ""] as const;

/** `base` (e.g. "main/binary-amd64/Packages") in the smallest form the release lists, or undefined. */
export function smallestForm(vs: VerifiedSuite, base: string): string | undefined {
  const form = FORMS.find((f) => vs.release.files.has(base + f));
  return form === undefined ? undefined : base + form;
}

/**
 * Refuses an architecture or a component the release does not carry: the manifest asks for
 * what the archive does not have, a request problem (exit 2), not a failed check.
 */
export function checkCarried(vs: VerifiedSuite, components: string[], arch: string): void {
  const { release, ref } = vs;
  if (release.architectures.length > 0 && !release.architectures.includes(arch)) {
    throw new ResolveError(`${vs.label} lists no architecture ${arch} (it has ${release.architectures.join(", ")})`, {
      hint: `remove ${arch} from "architectures" or use a suite that has it`,
    });
  }
  for (const component of components) {
    if (release.components.length > 0 && !release.components.some((c) => c === component || c.endsWith("/" + component))) {
      throw new ResolveError(`${vs.label} lists no component ${component} (it has ${release.components.join(", ")})`, {
        hint: `fix "components" of source ${ref.source}`,
      });
    }
  }
}

/**
 * The Packages indexes to read for one architecture: binary-<arch> of each component in the
 * smallest form the release lists, and binary-all where the archive keeps `all` packages apart.
 */
export function chooseIndexes(vs: VerifiedSuite, components: string[], arch: string): IndexChoice[] {
  checkCarried(vs, components, arch);
  const { release } = vs;
  const out: IndexChoice[] = [];
  for (const component of components) {
    const dirs = [`binary-${arch}`];
    if (!release.noArchAllPackages && release.architectures.includes("all")) dirs.push("binary-all");
    for (const dir of dirs) {
      const base = `${component}/${dir}/Packages`;
      const path = smallestForm(vs, base);
      if (path === undefined) {
        if (dir === "binary-all") continue;
        throw new VerificationError(`${vs.label} lists no ${base} index in any form`, { hint: "the suite may not carry this component/architecture" });
      }
      out.push(indexChoice(vs, component, dir === "binary-all" ? "all" : arch, path));
    }
  }
  return out;
}
