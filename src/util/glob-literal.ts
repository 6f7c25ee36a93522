/**
 * Real paths as picomatch globs that match exactly themselves: `add` writes the exact files a
 * binary needs into a file set's `paths`, which `lock` and `layer` match as picomatch globs
 * (layer/select.ts). Only the characters picomatch gives a meaning anywhere in a path are
 * escaped (`\` `*` `?` `[` `]` `{` `}` `(` `)` `|`): with `(` escaped, `+` `@` `!` cannot open an
 * extglob, and a path starting with "/" cannot be a negation, so `libstdc++.so.6` stays readable.
 */

const SPECIAL = /[\\*?[\]{}()|]/g;

/**
 * A glob that matches `path` and nothing else, or undefined for a path with two backslashes in
 * a row: picomatch 4 reads two escaped backslashes as one, and a bracket `[\\]` also matches the
 * text "[\\]", so no glob matches such a path alone.
 */
export function escapeGlob(path: string): string | undefined {
  if (path.includes("\\\\")) return undefined;
  return path.replace(SPECIAL, "\\$&");
}

/** Whether `glob` is a path with its special characters escaped (as escapeGlob writes it): it matches one path. */
export function isLiteralGlob(glob: string): boolean {
  for (let i = 0; i < glob.length; i++) {
    if (glob[i] === "\\") i++;
    else if ("*?[]{}()|".includes(glob[i]!)) return false;
  }
  return !glob.endsWith("\\") || glob.endsWith("\\\\");
}
