/**
 * HTTP GET with streaming bodies, per-stall timeouts, a minimum throughput, bounded global concurrency, redirects
 * and whole-request retries with exponential backoff. Callers get either the full body
 * (delivered through `sink`, restarted from `onStart` on every attempt) or a NetworkError.
 * file: URLs (a local mirror directory) are read from disk, once.
 */
import type { Agent, Dispatcher } from "undici";
import { NetworkError } from "../model/errors.js";
import { Limiter } from "./limiter.js";
import { readFileUrl } from "./file-url.js";
import { requestUnpaused, type UnpausedResponse } from "./unpaused-response.js";
import { DEFAULT_MIN_THROUGHPUT, watchThroughput, type MinThroughput } from "./throughput.js";

export interface HttpOptions {
  /** Milliseconds without progress (connect, headers, or between body chunks) before giving up; default 30000. */
  timeoutMs?: number;
  /** Retries after the first attempt; default 4. */
  retries?: number;
  /** Base backoff in ms, doubled per retry and capped; default 500. */
  backoffMs?: number;
  /** A body fails (and is retried) when less than `bytes` arrive in a `windowMs` window; default 32 KiB per 30 s. */
  minThroughput?: MinThroughput;
  /** Requests in flight at once across all origins; default 6. */
  concurrency?: number;
  userAgent?: string;
}

export type Sink = (chunk: Uint8Array) => void | Promise<void>;

const MAX_REDIRECTS = 5;
const MAX_BACKOFF_MS = 30_000;
const HINT = "check the URL / the mirror, or use --mirror";

/** Error codes from undici and node:net that a later attempt may not hit again. */
const TRANSIENT_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
]);

/** One failed attempt: why, and whether trying again may help. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Wraps an error thrown by the caller's sink so it passes through unchanged and is never retried. */
class SinkFailure {
  constructor(readonly error: unknown) {}
}

export class HttpClient {
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly userAgent: string;
  private readonly minThroughput: MinThroughput;
  private readonly limiter: Limiter;
  /** Created on the first request: an --offline run never loads undici. */
  private connection: Promise<{ agent: Agent; dispatcher: Dispatcher }> | undefined;

  constructor(opts: HttpOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = opts.retries ?? 4;
    this.backoffMs = opts.backoffMs ?? 500;
    this.userAgent = opts.userAgent ?? "scratch-pkgs";
    this.minThroughput = opts.minThroughput ?? DEFAULT_MIN_THROUGHPUT;
    const concurrency = opts.concurrency ?? 6;
    this.limiter = new Limiter(concurrency);
    this.concurrency = concurrency;
  }

  private readonly concurrency: number;

  private connect(): Promise<{ agent: Agent; dispatcher: Dispatcher }> {
    this.connection ??= import("undici").then(({ Agent, interceptors }) => {
      const agent = new Agent({
        connections: this.concurrency,
        connectTimeout: this.timeoutMs,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      return { agent, dispatcher: agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS })) };
    });
    return this.connection;
  }

  /**
   * Stream the body of `url` into `sink`. `onStart` is called at the start of every attempt
   * (with the Content-Length, when known) so the caller can discard a partial body.
   * An error thrown by `sink` or `onStart` aborts the request and is rethrown as is.
   */
  async get(url: string, sink: Sink, onStart?: (total: number | undefined) => void): Promise<void> {
    const target = parseHttpUrl(url);
    if (target.protocol === "file:") return readFileUrl(target, sink, onStart);
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        await this.limiter.run(() => this.attempt(target, sink, onStart));
        return;
      } catch (e) {
        if (e instanceof SinkFailure) throw e.error;
        const err = e instanceof AttemptError ? e : classify(e);
        if (!err.retryable || attempts > this.retries) {
          const tries = attempts === 1 ? "1 attempt" : `${attempts} attempts`;
          throw new NetworkError(`cannot download ${redact(url)}: ${err.message} (after ${tries})`, redact(url), {
            hint: HINT,
            cause: err.cause ?? err,
            ...(err.status !== undefined ? { status: err.status } : {}),
          });
        }
        await sleep(Math.min(this.backoffMs * 2 ** (attempts - 1), Math.max(MAX_BACKOFF_MS, this.backoffMs)));
      }
    }
  }

  async close(): Promise<void> {
    if (this.connection) await (await this.connection).agent.close();
  }

  private async attempt(target: URL, sink: Sink, onStart?: (total: number | undefined) => void): Promise<void> {
    const { dispatcher } = await this.connect();
    const res = await requestUnpaused(dispatcher, {
      origin: target.origin,
      path: target.pathname + target.search,
      method: "GET",
      headers: { "user-agent": this.userAgent, "accept-encoding": "identity" },
    });
    try {
      await this.receive(res, sink, onStart);
    } finally {
      // A no-op after a complete body; otherwise it stops the transfer (nothing is left pending).
      res.abort();
    }
  }

  private async receive(res: UnpausedResponse, sink: Sink, onStart?: (total: number | undefined) => void): Promise<void> {
    const status = res.status;
    if (status < 200 || status > 299) {
      if (status >= 300 && status < 400) throw new AttemptError(`too many redirects (HTTP ${status}, at most ${MAX_REDIRECTS} followed)`, false, status);
      const retryable = status >= 500 || status === 429 || status === 408;
      throw new AttemptError(`HTTP ${status}${status === 404 ? " (not found)" : ""}`, retryable, status);
    }
    const total = contentLength(res.headers["content-length"]);
    try {
      onStart?.(total);
    } catch (e) {
      throw new SinkFailure(e);
    }
    let received = 0;
    const watch = watchThroughput(this.minThroughput, (detail) => res.abort(new AttemptError(detail, true)));
    try {
      for await (const chunk of res.body) {
        received += chunk.length;
        watch.add(chunk.length);
        try {
          await sink(chunk);
        } catch (e) {
          throw new SinkFailure(e);
        }
      }
    } finally {
      watch.stop();
    }
    if (total !== undefined && received !== total) {
      throw new AttemptError(`body truncated: got ${received} of ${total} bytes`, true);
    }
  }
}

function parseHttpUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new NetworkError(`not a valid URL: ${redact(url)}`, redact(url), { hint: HINT });
  }
  if (u.protocol !== "http:" && u.protocol !== "https:" && u.protocol !== "file:") {
    throw new NetworkError(`unsupported URL scheme ${u.protocol} in ${redact(url)}: only http:, https: and file: are fetched`, redact(url), { hint: HINT });
  }
  return u;
}

function contentLength(h: string | string[] | undefined): number | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

/** Turn a low-level failure into an AttemptError, deciding whether it is worth retrying. */
function classify(e: unknown): AttemptError {
  const code = (e as { code?: unknown } | null)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === "UND_ERR_INVALID_ARG" && /redirect loop/i.test(msg)) {
    return new AttemptError("redirect loop", false, undefined, { cause: e });
  }
  if (typeof code === "string") {
    const retryable = TRANSIENT_CODES.has(code) || code.startsWith("HPE_");
    return new AttemptError(`${describe(code)} (${msg})`, retryable, undefined, { cause: e });
  }
  return new AttemptError(msg, false, undefined, { cause: e });
}

function describe(code: string): string {
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return "connection timed out";
    case "UND_ERR_HEADERS_TIMEOUT":
      return "no response headers in time";
    case "UND_ERR_BODY_TIMEOUT":
      return "download stalled";
    case "UND_ERR_SOCKET":
    case "ECONNRESET":
      return "connection closed by the server";
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
      return "host not found";
    default:
      return code;
  }
}

/** A URL without user:password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return url;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}
