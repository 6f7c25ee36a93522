/**
 * Reads scratch.json from disk: parse and validate (validate.ts), check that every keyring file
 * exists, and hash the normalised manifest so layout-only edits do not make a lock stale.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { ManifestError } from "../model/errors.js";
import { canonicalJson } from "../util/canonical-json.js";
import { sha256Hex } from "../util/hash.js";
import { NotRegularFileError, readRegularFile } from "../util/regular-file.js";
import type { LoadedManifest, Manifest, ManifestSource } from "../model/manifest.js";
import { parseManifest } from "./validate.js";

export { BUILTIN_FILE_SETS } from "../model/builtin-file-sets.js";
export type { Manifest, LoadedManifest } from "../model/manifest.js";
export { parseManifest, parsePackageSpec } from "./validate.js";

/** sha256 of the manifest's canonical JSON: what scratch.lock's manifest.sha256 records. */
export function manifestSha256(manifest: Manifest): string {
  return sha256Hex(canonicalJson(manifest));
}

/** Absolute path of a source's keyring file. */
export function keyringPath(dir: string, source: Pick<ManifestSource, "keyring">): string {
  return path.resolve(dir, source.keyring);
}

export async function loadManifest(file: string): Promise<LoadedManifest> {
  return loadManifestText(await readManifestText(file), file);
}

/** The manifest file's text, or a ManifestError saying why it cannot be read. */
export async function readManifestText(file: string): Promise<string> {
  try {
    return (await readRegularFile(file)).toString("utf8");
  } catch (e) {
    if (e instanceof NotRegularFileError) throw new ManifestError(file, "", `is ${e.kind}, not a manifest file`, { hint: "pass the manifest's file path with --config FILE", cause: e });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new ManifestError(file, "", "no such file", {
        hint: "create scratch.json (see README), or pass its path with --config FILE",
        cause: e,
      });
    }
    throw new ManifestError(file, "", `cannot read: ${(e as Error).message}`, { cause: e });
  }
}

/** A manifest's text as if read from `file` (keyrings are looked up beside it). */
export async function loadManifestText(text: string, file: string): Promise<LoadedManifest> {
  const manifest = parseManifest(text, file);
  const dir = path.resolve(path.dirname(file));
  for (const [i, s] of manifest.sources.entries()) await checkKeyring(file, dir, i, s);
  return { manifest, sha256: manifestSha256(manifest), dir, file };
}

async function checkKeyring(file: string, dir: string, i: number, s: ManifestSource): Promise<void> {
  const abs = keyringPath(dir, s);
  const where = `sources[${i}].keyring`;
  try {
    const st = await stat(abs);
    if (!st.isFile()) throw new ManifestError(file, where, `keyring ${JSON.stringify(s.keyring)} is not a file (${abs})`, { hint: "point it at an armored (.asc) or binary (.gpg) public key file" });
  } catch (e) {
    if (e instanceof ManifestError) throw e;
    throw new ManifestError(file, where, `keyring ${JSON.stringify(s.keyring)} not found (looked at ${abs})`, {
      hint: "keyring paths are relative to the manifest's directory; the archive's public keys ship in scratch-pkgs' keys/ folder",
      cause: e,
    });
  }
}
