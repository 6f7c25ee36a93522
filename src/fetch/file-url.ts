/**
 * file: URLs, for a mirror that is a local directory (an air-gapped copy, or the recorded
 * archive in snapshots/). Streamed like an HTTP body and verified by the same caller; a missing
 * file fails as HTTP's 404 does, so the next mirror is tried.
 */
import { createReadStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { NetworkError } from "../model/errors.js";
import type { Sink } from "./http.js";

export async function readFileUrl(url: URL, sink: Sink, onStart?: (total: number | undefined) => void): Promise<void> {
  const path = fileURLToPath(url);
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  // The caller's own failures (a hash mismatch, a full disk) go up as they are; only reading is ours.
  let callerError: { error: unknown } | undefined;
  const deliver = async (f: () => void | Promise<void>) => {
    try {
      await f();
    } catch (error) {
      callerError = { error };
      throw error;
    }
  };
  let started = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!started) {
        started = true;
        await deliver(() => onStart?.(undefined));
      }
      await deliver(() => sink(chunk));
    }
    if (!started) await deliver(() => onStart?.(undefined));
  } catch (e) {
    stream.destroy();
    if (callerError) throw callerError.error;
    const code = String((e as { code?: unknown }).code ?? "EIO");
    const missing = code === "ENOENT" || code === "ENOTDIR";
    throw new NetworkError(`cannot read ${url.href}: ${missing ? "no such file (not found)" : `${code} (${(e as Error).message})`}`, url.href, {
      hint: "check the local mirror directory given with --mirror, or record the files again",
      ...(missing ? { status: 404 } : {}),
    });
  }
}
