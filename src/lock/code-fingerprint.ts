/**
 * The program's own code as a memo key part: any change of code (a fix in the resolver, a new
 * recipe version) must invalidate what older code memoised. It is the sha256 of every module
 * under the program's root (compiled .js, or .ts when the tests run from source) with their
 * relative paths (the package version keys the memo beside it, memo.ts). The build writes it
 * beside the modules (scripts/fingerprint-code.mjs), so a warm run reads one small file and
 * stats the modules instead of hashing ~1 MB in ~130 files; run from source, or from a build
 * without it or with modules newer than it, the files are hashed here.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";

/** Where the build keeps the fingerprint, relative to the program's root (dist/). */
export const FINGERPRINT_FILE = "generated/code-fingerprint.txt";

/** The program's root: dist/ when built, src/ from source. */
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The modules under `root`, sorted by relative path. */
function programFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith(".js") || (f.endsWith(".ts") && !f.endsWith(".d.ts"))).sort();
}

/** Hash the modules under `root`, as the build does. */
export function hashProgramFiles(root: string): string {
  return hashFiles(root, programFiles(root));
}

function hashFiles(root: string, files: readonly string[]): string {
  const h = createHash("sha256");
  for (const f of files) h.update(f + "\0").update(readFileSync(join(root, f)));
  return h.digest("hex");
}

/** What the build writes: the fingerprint, then the modules it hashed, one a line. */
export function fingerprintFileText(root: string): string {
  const files = programFiles(root);
  return [hashFiles(root, files), ...files].join("\n") + "\n";
}

let fingerprint: string | undefined;
/** The fingerprint of this program's code, once per process. */
export function codeFingerprint(): string {
  fingerprint ??= precomputed() ?? hashProgramFiles(ROOT);
  return fingerprint;
}

/**
 * The build's fingerprint, unless one of the modules it hashed was written after it (a bare
 * `tsc` over dist/ rewrites every module): then it may be stale, and the modules are hashed.
 * Stating the listed modules costs far less than walking the tree and reading them.
 */
function precomputed(): string | undefined {
  const file = join(ROOT, FINGERPRINT_FILE);
  try {
    const [hash, ...files] = readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
    if (hash === undefined || !/^[0-9a-f]{64}$/.test(hash) || files.length === 0) return undefined;
    const written = statSync(file).mtimeMs;
    return files.every((f) => statSync(join(ROOT, f)).mtimeMs <= written) ? hash : undefined;
  } catch {
    return undefined;
  }
}
