/**
 * Keeping the cache from growing without end, the way Go's build cache does: every entry and ref
 * a run uses has its mtime refreshed (at most once an hour, so a warm run writes almost nothing),
 * and at most once a day a run removes the entries and refs nobody has used for the trim age
 * (30 days by default). Every built layer, its compressed blobs and each lock's decoded members
 * stay in the cache after use, so without this a routine re-lock adds hundreds of MB a time.
 *
 * Only the cache's own names are removed (sha256/<2 hex>/<64 hex>, refs/<64 hex>), only when they
 * are regular files (a symlink, which a sandbox may plant, is never touched or followed), and a
 * removal is best effort: trimming never fails a run. A run that lost the race to an entry being
 * removed sees a miss and fetches or rebuilds it: every entry can be made again.
 */
import { lstat, lutimes, open, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";

const DAY_MS = 24 * 60 * 60 * 1000;
/** An entry used within this long is not touched again (one write per entry an hour at most). */
export const TOUCH_EVERY_MS = 60 * 60 * 1000;
/** How often a trim walks the cache. */
export const TRIM_EVERY_MS = DAY_MS;
export const DEFAULT_TRIM_DAYS = 30;

const HEX2 = /^[0-9a-f]{2}$/;
const HEX64 = /^[0-9a-f]{64}$/;
/** The marker whose content is the time of the last trim (milliseconds since 1970). */
const MARKER = "trim.txt";

/** Refresh the mtime of a cache file just used, unless it is recent; never through a symlink. */
export async function touchUsed(path: string, nowMs: number): Promise<void> {
  try {
    const st = await lstat(path);
    if (!st.isFile() || nowMs - st.mtimeMs < TOUCH_EVERY_MS) return;
    const now = new Date(nowMs);
    await lutimes(path, now, now);
  } catch {
    // A read-only or shared cache only loses the hint that the entry is in use.
  }
}

/** Whether a file of the cache's own naming, of this age, is to be removed. The pure rule. */
export function isUnused(f: { name: string; isRegularFile: boolean; mtimeMs: number }, nowMs: number, trimDays: number): boolean {
  return trimDays > 0 && f.isRegularFile && HEX64.test(f.name) && nowMs - f.mtimeMs >= trimDays * DAY_MS;
}

/**
 * Remove what nobody used for `trimDays` (0: never), if the last trim is a day old; the marker
 * of the trim is written through `writeMarker` (the cache's own atomic write). Returns how many
 * files were removed (for tests; a run never reports it).
 */
export async function trimCache(dir: string, nowMs: number, trimDays: number, writeMarker: (path: string, text: string) => Promise<void>): Promise<number> {
  if (trimDays <= 0) return 0;
  try {
    if (!(await lstat(join(dir, "tmp"))).isDirectory()) return 0;
    const last = await readMarker(dir);
    if (last !== undefined && nowMs - last < TRIM_EVERY_MS && last <= nowMs) return 0;
    // Marked first: two runs ending together walk the cache once.
    await writeMarker(join(dir, MARKER), `${nowMs}\n`);
  } catch {
    return 0;
  }
  let removed = 0;
  const sweep = async (folder: string) => {
    let names: string[];
    try {
      if (!(await lstat(folder)).isDirectory()) return;
      names = await readdir(folder);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (!HEX64.test(name)) continue;
      const path = join(folder, name);
      try {
        const st = await lstat(path);
        if (!isUnused({ name, isRegularFile: st.isFile(), mtimeMs: st.mtimeMs }, nowMs, trimDays)) continue;
        await unlink(path);
        removed++;
      } catch {
        // Gone already, or not ours to remove.
      }
    }
  };
  let fanOut: string[] = [];
  try {
    if ((await lstat(join(dir, "sha256"))).isDirectory()) fanOut = (await readdir(join(dir, "sha256"))).filter((n) => HEX2.test(n)).sort();
  } catch {
    // No entries yet.
  }
  for (const d of fanOut) await sweep(join(dir, "sha256", d));
  await sweep(join(dir, "refs"));
  return removed;
}

async function readMarker(dir: string): Promise<number | undefined> {
  try {
    const st = await lstat(join(dir, MARKER));
    if (!st.isFile()) return undefined;
    const fh = await open(join(dir, MARKER), "r");
    try {
      const text = (await fh.readFile("utf8")).trim();
      return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}
