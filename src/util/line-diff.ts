/**
 * A unified diff of two texts by lines (`@@ -a,n +b,m @@`, ` `/`-`/`+` lines), for showing what
 * an edit of a small file (scratch.json) would change. The common head and tail are cut first,
 * so the quadratic longest-common-subsequence table covers only the changed middle.
 */

export function lineDiff(before: string, after: string, context = 2): string[] {
  const a = lines(before);
  const b = lines(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  // lcs[i][j]: the longest common subsequence of x[i..] and y[j..].
  const lcs = Array.from({ length: x.length + 1 }, () => new Uint32Array(y.length + 1));
  for (let i = x.length - 1; i >= 0; i--) for (let j = y.length - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  type Line = { op: " " | "-" | "+"; text: string; ai: number; bi: number };
  const ops: Line[] = [];
  for (let k = 0; k < head; k++) ops.push({ op: " ", text: a[k]!, ai: k, bi: k });
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) ops.push({ op: " ", text: x[i]!, ai: head + i++, bi: head + j++ });
    // Removals before additions, as diff prints a changed line.
    else if (i < x.length && (j === y.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ op: "-", text: x[i]!, ai: head + i++, bi: head + j });
    else ops.push({ op: "+", text: y[j]!, ai: head + i, bi: head + j++ });
  }
  for (let k = 0; k < tail; k++) ops.push({ op: " ", text: a[a.length - tail + k]!, ai: a.length - tail + k, bi: b.length - tail + k });

  // Hunks: changes closer than 2 × context unchanged lines share one.
  const changed = ops.flatMap((o, k) => (o.op === " " ? [] : [k]));
  const out: string[] = [];
  for (let c = 0; c < changed.length; ) {
    let last = c;
    while (last + 1 < changed.length && changed[last + 1]! - changed[last]! <= 2 * context + 1) last++;
    const hunk = ops.slice(Math.max(0, changed[c]! - context), Math.min(ops.length, changed[last]! + context + 1));
    const aCount = hunk.filter((o) => o.op !== "+").length;
    const bCount = hunk.filter((o) => o.op !== "-").length;
    out.push(`@@ -${hunk[0]!.ai + 1},${aCount} +${hunk[0]!.bi + 1},${bCount} @@`);
    for (const o of hunk) out.push(o.op + o.text);
    c = last + 1;
  }
  return out;
}

/** A text's lines, without their line ends (a final line end does not start another line). */
function lines(text: string): string[] {
  const out = text.split(/\r?\n/);
  if (out[out.length - 1] === "") out.pop();
  return out;
}
