/**
 * The collaborators every fetching command needs (HTTP client, content cache, progress,
 * fetcher), made in one place: the CLI opens one per run and library callers do the same,
 * pass its `fetcher` and `cache` to runLock, runLayer, runImage or runAudit, and close it.
 */
import { ContentCache, defaultCacheDir } from "./cache.js";
import { Fetcher } from "./fetcher.js";
import { HttpClient, type HttpOptions } from "./http.js";
import { silentProgress, type Progress } from "./progress.js";

export interface FetchSessionOptions {
  /** The cache directory; default $XDG_CACHE_HOME/scratch-pkgs, else ~/.cache/scratch-pkgs. */
  cacheDir?: string | undefined;
  /** Use only the cache: anything missing is an error instead of a download. Default false. */
  offline?: boolean | undefined;
  /** Download progress (createProgress for bars on a terminal); default none. */
  progress?: Progress | undefined;
  /** Timeouts, retries and concurrency of the HTTP client. */
  http?: HttpOptions | undefined;
  /** Remove cache entries unused for this many days when the session closes (0: never); default 30. */
  cacheTrimDays?: number | undefined;
}

export interface FetchSession {
  fetcher: Fetcher;
  cache: ContentCache;
  progress: Progress;
  /** Ends the progress display, closes the HTTP connections and trims the cache; call it once, when done. */
  close: () => Promise<void>;
}

export function openFetchSession(opts: FetchSessionOptions = {}): FetchSession {
  const http = new HttpClient(opts.http ?? {});
  const progress = opts.progress ?? silentProgress;
  const cache = new ContentCache(opts.cacheDir ?? defaultCacheDir(), { trimDays: opts.cacheTrimDays });
  const fetcher = new Fetcher({ cache, http, offline: opts.offline ?? false, progress });
  return {
    fetcher,
    cache,
    progress,
    close: async () => {
      progress.close();
      await http.close();
      await cache.trim();
    },
  };
}
