/**
 * A counting semaphore: at most `limit` tasks run at once; the rest wait in FIFO order.
 * Used to bound concurrent downloads across all origins (undici's pool limits are per origin),
 * and the .debs decoded at once (layer/build.ts).
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    // The slot is handed over directly by release(), so `active` stays counted.
    return new Promise((ok) => this.waiting.push(ok));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
