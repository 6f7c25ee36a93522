// The bench's reads of the real archive: a suite's InRelease, signature-checked, and a Packages
// index pinned by the hash that release gives. The mirror's base URL comes from this machine's
// apt sources at run time and is never written anywhere.
import { join } from "node:path";

/** Imports the built program's modules from ROOT/dist (the bench runs against the build). */
export async function archiveReader(root, fetcher) {
  const { loadKeyring } = await import(join(root, "dist/sources/keyring.js"));
  const { verifyClearsigned } = await import(join(root, "dist/sources/signature.js"));
  const { parseRelease } = await import(join(root, "dist/sources/release.js"));
  const { suiteUrl, byHashUrl } = await import(join(root, "dist/debian/suite-urls.js"));
  return {
    /** The verified InRelease of `suite`: its bytes, signed text and parsed release. */
    async release(base, suite, keyringFile) {
      const inRelease = await fetcher.fetchUnpinned({ urls: [suiteUrl(base, suite, "InRelease")], refKey: `bench:${suite}/InRelease`, label: `${suite} InRelease` });
      const keyring = await loadKeyring(keyringFile);
      const { text } = await verifyClearsigned(inRelease, keyring, { label: `${suite} InRelease`, at: new Date() });
      return { inRelease, keyring, text, info: parseRelease(text, `${suite} InRelease`) };
    },
    /** Path in the cache of `path` (e.g. main/binary-amd64/Packages.xz), pinned by the release. */
    async index(base, suite, release, path) {
      const entry = release.info.files.get(path);
      if (!entry) throw new Error(`${suite} InRelease lists no ${path}`);
      return fetcher.fetchPinned({
        urls: [byHashUrl(base, suite, path, entry.sha256), suiteUrl(base, suite, path)],
        sha256: entry.sha256, size: entry.size, label: `${suite} ${path}`,
      });
    },
  };
}
