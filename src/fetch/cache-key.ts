/**
 * The per-user secret that authenticates derived cache entries (derived-refs.ts). It lives
 * outside the cache directory, so whoever can write a cache (a shared or restored CI cache,
 * another user) cannot forge an entry: $XDG_STATE_HOME/scratch-pkgs/cache-key, else
 * ~/.local/state/scratch-pkgs/cache-key. Made once, atomically (a private temp file hard-linked
 * into place, so two first runs agree on one key), mode 0600 in a 0700 directory. A key that is
 * a symlink, not a regular file, not the user's, or open to group or others is not used; nor is
 * one that cannot be read or made. Without a key nothing derived is reused: slower, never an error.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, lstat, mkdir, open, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";

const KEY_HEX = /^[0-9a-f]{64}\n?$/;
/** No symlink in the last component (ELOOP), and a fifo in its place does not block the open. */
const READ_NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** $XDG_STATE_HOME/scratch-pkgs/cache-key, else ~/.local/state/scratch-pkgs/cache-key (a relative XDG_STATE_HOME is ignored, as the XDG spec says). */
export function defaultCacheKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env["XDG_STATE_HOME"];
  const state = xdg && isAbsolute(xdg) ? xdg : join(env["HOME"] || homedir(), ".local", "state");
  return join(state, "scratch-pkgs", "cache-key");
}

/** The 32-byte secret in `file`, made there first when there is none; undefined when it cannot be used. */
export async function loadCacheKey(file: string): Promise<Buffer | undefined> {
  const found = await readKey(file);
  if (found !== "absent") return found;
  await createKey(file).catch(() => {});
  const made = await readKey(file);
  return made === "absent" ? undefined : made;
}

async function readKey(file: string): Promise<Buffer | undefined | "absent"> {
  let fh;
  try {
    fh = await open(file, READ_NO_FOLLOW);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "absent" : undefined;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || !privateToUs(st) || st.size > 65) return undefined;
    const text = await fh.readFile("utf8");
    return KEY_HEX.test(text) ? Buffer.from(text.slice(0, 64), "hex") : undefined;
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

async function createKey(file: string): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Others who may write in the directory could swap a key in: make none there.
  const st = await lstat(dir);
  if (!st.isDirectory() || !privateToUs(st, 0o022)) return;
  const tmp = join(dir, `.cache-key-${process.pid}-${randomBytes(8).toString("hex")}`);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(randomBytes(32).toString("hex") + "\n");
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    // link() never replaces: when another run made the key first, both use that one.
    await link(tmp, file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    });
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** Owned by this user, and none of the `forbidden` mode bits (default: any access by group or others). */
function privateToUs(st: { uid: number; mode: number }, forbidden = 0o077): boolean {
  const uid = process.getuid?.();
  return (uid === undefined || st.uid === uid) && (st.mode & forbidden) === 0;
}
