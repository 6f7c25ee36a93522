/** Shared set-up for the fetch tests: temp dirs, a served tree, and a compiled copy of src for child processes. */
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `scratch-pkgs-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Write `files` (relative path → content) under `root`. */
export async function writeTree(root: string, files: Record<string, Uint8Array | string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content);
  }
}

/** Deterministic pseudo-random bytes (xorshift), so tests need no fixtures on disk. */
export function bytesOf(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Transpile `entry` and the project files it imports (relative imports, recursively) into
 * `outDir`, mirroring the repository layout, with node_modules linked in, so that a plain
 * `node` child process can load them. Returns the path of the compiled entry.
 */
export async function compileForNode(entry: string, outDir: string): Promise<string> {
  const seen = new Set<string>();
  const queue = [resolve(repoRoot, entry)];
  while (queue.length > 0) {
    const src = queue.pop()!;
    if (seen.has(src)) continue;
    seen.add(src);
    const text = await readFile(src, "utf8");
    const js = ts.transpileModule(text, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: src,
    }).outputText;
    const out = join(outDir, relative(repoRoot, src)).replace(/\.ts$/, ".js");
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, js);
    for (const m of text.matchAll(/from\s+"(\.{1,2}\/[^"]+)\.js"/g)) {
      queue.push(resolve(dirname(src), `${m[1]}.ts`));
    }
  }
  await symlink(join(repoRoot, "node_modules"), join(outDir, "node_modules"), "dir").catch(() => {});
  await writeFile(join(outDir, "package.json"), JSON.stringify({ type: "module" }));
  return join(outDir, entry).replace(/\.ts$/, ".js");
}
