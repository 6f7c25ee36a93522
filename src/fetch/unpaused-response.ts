/**
 * One HTTP response through undici's handler API, read so that the HTTP/1 parser is never paused.
 *
 * Why: undici 7 (up to 7.30.2, the last 7.x) throws an uncatchable `assert(!this.paused)` from the
 * socket's 'end' handler when a server closes the connection while the parser is paused for
 * backpressure (nodejs/undici#5360; fixed only in 8.x, which needs Node 22). HTTP/1.0 servers
 * and proxies, and any server sending `Connection: close`, close after every response, so a
 * consumer slower than the socket crashed the process. Here backpressure is never signalled to
 * undici: chunks are queued and handed to the consumer at its own pace.
 */
import type { Dispatcher } from "undici";
import type { IncomingHttpHeaders } from "node:http";

export interface UnpausedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body chunks; rejects with undici's error when the transfer fails. Iterate once. */
  body: AsyncIterable<Buffer>;
  /** Stop the transfer and drop what is queued; safe to call at any time, more than once. The
   *  body, if still being read, then rejects with `reason`. */
  abort(reason?: Error): void;
}

/** Sends `options` through `dispatcher`; resolves at the final (non-1xx) response's headers. */
export function requestUnpaused(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<UnpausedResponse> {
  return new Promise((resolve, reject) => {
    const queue: Buffer[] = [];
    let ended = false;
    let failure: Error | undefined;
    let started = false;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    async function* body(): AsyncGenerator<Buffer> {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (failure) throw failure;
        if (ended) return;
        await new Promise<void>((ok) => (wake = ok));
      }
    }
    const handler: Dispatcher.DispatchHandler = {
      // Present so undici treats this as a controller-style handler (it checks for this method).
      onRequestStart() {},
      onResponseStart(controller, statusCode, headers) {
        if (statusCode < 200) return;
        started = true;
        resolve({
          status: statusCode,
          headers,
          body: body(),
          abort: (reason = new Error("response abandoned")) => {
            queue.length = 0;
            // Fail the reader here: whether undici reports its own abort back is not promised.
            if (!ended) failure ??= reason;
            notify();
            if (!controller.aborted) controller.abort(reason);
          },
        });
      },
      // Never controller.pause(): a paused parser at the server's FIN is the crash above.
      onResponseData(_controller, chunk) {
        queue.push(chunk);
        notify();
      },
      onResponseEnd() {
        ended = true;
        notify();
      },
      onResponseError(_controller, error) {
        if (!started) return reject(error);
        failure ??= error;
        notify();
      },
    };
    try {
      dispatcher.dispatch(options, handler);
    } catch (e) {
      reject(e);
    }
  });
}
