/**
 * The Packages indexes of a verified suite: which to read, where from (by-hash first where the
 * release offers it), and reading one — pinned by the size and sha256 the signed release gives,
 * decompressed and parsed streaming. `lock` and `audit` both read indexes only through here.
 */
import type { Fetcher } from "../fetch/fetcher.js";
import { openVerified } from "../fetch/fetcher.js";
import { decompress, compressionOf } from "../codec/decompress.js";
import { parsePackages } from "../debian/packages.js";
import { byHashUrl, suiteUrl } from "../debian/suite-urls.js";
import type { PackageRecord } from "../model/package.js";
import type { LockedIndex } from "../model/lock.js";
import { FormatError, ResolveError, VerificationError } from "../model/errors.js";
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

/**
 * The Packages indexes to read for one architecture: binary-<arch> of each component in the
 * smallest form the release lists, and binary-all where the archive keeps `all` packages apart.
 */
export function chooseIndexes(vs: VerifiedSuite, components: string[], arch: string): IndexChoice[] {
  const { release, ref } = vs;
  if (release.architectures.length > 0 && !release.architectures.includes(arch)) {
    // The manifest asks for what the archive does not carry: a request problem (exit 2), not a failed check.
    throw new ResolveError(`${vs.label} lists no architecture ${arch} (it has ${release.architectures.join(", ")})`, {
      hint: `remove ${arch} from "architectures" or use a suite that has it`,
    });
  }
  const out: IndexChoice[] = [];
  for (const component of components) {
    if (release.components.length > 0 && !release.components.some((c) => c === component || c.endsWith("/" + component))) {
      throw new ResolveError(`${vs.label} lists no component ${component} (it has ${release.components.join(", ")})`, {
        hint: `fix "components" of source ${ref.source}`,
      });
    }
    const dirs = [`binary-${arch}`];
    if (!release.noArchAllPackages && release.architectures.includes("all")) dirs.push("binary-all");
    for (const dir of dirs) {
      const base = `${component}/${dir}/Packages`;
      const form = FORMS.find((f) => release.files.has(base + f));
      if (form === undefined) {
        if (dir === "binary-all") continue;
        throw new VerificationError(`${vs.label} lists no ${base} index in any form`, { hint: "the suite may not carry this component/architecture" });
      }
      out.push(indexChoice(vs, component, dir === "binary-all" ? "all" : arch, base + form));
    }
  }
  return out;
}

/**
 * The records of one index, streamed. Bytes that match the signed hash yet do not decompress
 * are the archive's (or an attacker's) fault, never ours: a VerificationError naming the index.
 */
export async function* readIndex(fetcher: Fetcher, vs: VerifiedSuite, choice: IndexChoice): AsyncGenerator<PackageRecord> {
  const { locked, label } = choice;
  const path = await fetcher.fetchPinned({ urls: choice.urls, sha256: locked.sha256, size: locked.size, label });
  try {
    yield* parsePackages(decompress(compressionOf(locked.path), openVerified(path)), { source: vs.ref.source, suite: vs.ref.suite, component: locked.component }, label);
  } catch (e) {
    if (e instanceof FormatError) throw e.asVerificationError(label, "the index matched its signed hash but does not decompress or parse: report it to the archive");
    throw e;
  }
}
