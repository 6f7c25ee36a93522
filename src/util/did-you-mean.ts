/**
 * The one edit-distance helper: what a misspelt name (a key, a source, a file set, a suite) was
 * most likely meant to be, for "did you mean" hints.
 */

export function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, k) => k);
  for (let x = 1; x <= a.length; x++) {
    let diag = prev[0]!;
    prev[0] = x;
    for (let y = 1; y <= b.length; y++) {
      const up = prev[y]!;
      prev[y] = Math.min(up + 1, prev[y - 1]! + 1, diag + (a[x - 1] === b[y - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate within a small edit distance (ties: first in candidate order). */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : levenshtein(word, c);
    if (d <= limit && d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
