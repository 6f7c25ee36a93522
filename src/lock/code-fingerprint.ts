/**
 * The program's own code as a memo key part: any change of code (a fix in the resolver, a new
 * recipe version) must invalidate what older code memoised. It is the sha256 of every module
 * under the program's root (compiled .js, or .ts when the tests run from source) with their
 * relative paths (the package version keys the memo beside it, memo.ts). The build writes it beside the modules (scripts/fingerprint-code.mjs), so a
 * warm run reads one small file instead of hashing ~1 MB in ~130 files; run from source, or
 * from a build without it, the files are hashed here.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";

/** Where the build keeps the fingerprint, relative to the program's root (dist/). */
export const FINGERPRINT_FILE = "generated/code-fingerprint.txt";

/** The program's root: dist/ when built, src/ from source. */
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Hash the modules under `root` (sorted by path), as the build does. */
export function hashProgramFiles(root: string): string {
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith(".js") || (f.endsWith(".ts") && !f.endsWith(".d.ts"))).sort();
  const h = createHash("sha256");
  for (const f of files) h.update(f + "\0").update(readFileSync(join(root, f)));
  return h.digest("hex");
}

let fingerprint: string | undefined;
/** The fingerprint of this program's code, once per process. */
export function codeFingerprint(): string {
  fingerprint ??= precomputed() ?? hashProgramFiles(ROOT);
  return fingerprint;
}

function precomputed(): string | undefined {
  try {
    const text = readFileSync(join(ROOT, FINGERPRINT_FILE), "utf8").trim();
    return /^[0-9a-f]{64}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}
