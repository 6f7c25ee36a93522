/**
 * Run as a separate node process by fetcher.test.ts (after transpiling): fetch one pinned file
 * into a shared cache and print the resulting path, or the error, as JSON on stdout.
 * argv: cacheDir url sha256 size
 */
import { ContentCache } from "../../src/fetch/cache.js";
import { Fetcher } from "../../src/fetch/fetcher.js";
import { HttpClient } from "../../src/fetch/http.js";
import { silentProgress } from "../../src/fetch/progress.js";

const [cacheDir, url, sha256, size] = process.argv.slice(2);
const http = new HttpClient({ timeoutMs: 5000, backoffMs: 10 });
const fetcher = new Fetcher({ cache: new ContentCache(cacheDir!), http, offline: false, progress: silentProgress });
try {
  const path = await fetcher.fetchPinned({ urls: [url!], sha256: sha256!, size: Number(size), label: "child" });
  process.stdout.write(JSON.stringify({ path }) + "\n");
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e) }) + "\n");
  process.exitCode = 1;
} finally {
  await http.close();
}
