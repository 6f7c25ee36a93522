/**
 * `lock --snapshot`: scratch.json's snapshot URLs moved to another timestamp, as an edit of the
 * file's own text. Only the timestamp inside each such URL string changes, so the user's layout,
 * key order and comments-by-convention stay exactly as they wrote them.
 */
import { parseSnapshotUrl } from "../debian/snapshot-url.js";
import { ManifestError } from "../model/errors.js";
import { parseJsonWithPositions } from "../util/json.js";
import { valueEnd } from "../util/json-text-edit.js";

export interface MovedSnapshot {
  source: string;
  from: string;
  to: string;
}

/** The manifest text with every snapshot source URL at `timestamp`; `text` must be a valid manifest. */
export function moveSnapshotTimestamps(text: string, file: string, timestamp: string): { text: string; moved: MovedSnapshot[] } {
  const doc = parseJsonWithPositions(text);
  const sources = (doc.value as { sources: Array<{ name: string; url: string }> }).sources;
  const edits: Array<{ at: number; length: number }> = [];
  const moved: MovedSnapshot[] = [];
  sources.forEach((s, i) => {
    const snap = parseSnapshotUrl(s.url);
    if (!snap) return;
    // The parser's offsets are into `text` itself (a leading BOM counted).
    const start = doc.valueAt.get(`/sources/${i}/url`)!;
    const raw = text.slice(start, valueEnd(text, start));
    const at = raw.lastIndexOf(snap.timestamp);
    if (at < 0) throw new ManifestError(file, `sources[${i}].url`, "the snapshot timestamp is written with escapes, so it cannot be moved in place", { hint: "write the URL without \\u escapes" });
    edits.push({ at: start + at, length: snap.timestamp.length });
    moved.push({ source: s.name, from: snap.timestamp, to: timestamp });
  });
  let out = text;
  for (const e of edits.reverse()) out = out.slice(0, e.at) + timestamp + out.slice(e.at + e.length);
  return { text: out, moved };
}
