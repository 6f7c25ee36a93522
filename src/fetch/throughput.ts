/**
 * The minimum-throughput rule of a download. undici's body timeout restarts on every byte, so a
 * server that drips one byte a second would keep a download alive forever; this rule fails it
 * when a whole window passes with less than a floor of bytes received.
 */

export interface MinThroughput {
  /** Bytes that must arrive in every window; 0 turns the rule off. */
  bytes: number;
  windowMs: number;
}

/** 32 KiB in every 30 s (about 1 KiB/s): far below any working link, far above a drip. */
export const DEFAULT_MIN_THROUGHPUT: MinThroughput = { bytes: 32 * 1024, windowMs: 30_000 };

/** Parses "BYTES/SECONDS" (e.g. "32768/30"; seconds may have a fraction) or "0" for no floor; undefined when malformed. */
export function parseMinThroughput(text: string): MinThroughput | undefined {
  const t = text.trim();
  if (t === "0") return { bytes: 0, windowMs: DEFAULT_MIN_THROUGHPUT.windowMs };
  const m = /^(\d{1,12})\/(\d{1,6}(?:\.\d{1,3})?)$/.exec(t);
  if (!m) return undefined;
  const windowMs = Math.round(Number(m[2]) * 1000);
  if (windowMs <= 0) return undefined;
  return { bytes: Number(m[1]), windowMs };
}

export interface ThroughputWatch {
  /** Count bytes received. */
  add(bytes: number): void;
  /** Stop watching; call it once the transfer ends, however it ends. */
  stop(): void;
}

/**
 * Starts the clock now: at the end of each window, `tooSlow` is called (once) with what was
 * seen when fewer than `floor.bytes` arrived in it.
 */
export function watchThroughput(floor: MinThroughput, tooSlow: (detail: string) => void): ThroughputWatch {
  if (floor.bytes <= 0) return { add() {}, stop() {} };
  let inWindow = 0;
  const timer = setInterval(() => {
    if (inWindow < floor.bytes) {
      clearInterval(timer);
      tooSlow(`too slow: ${inWindow} bytes in ${floor.windowMs / 1000} s, below the floor of ${floor.bytes} bytes per ${floor.windowMs / 1000} s`);
    }
    inWindow = 0;
  }, floor.windowMs);
  return {
    add(bytes) {
      inWindow += bytes;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
