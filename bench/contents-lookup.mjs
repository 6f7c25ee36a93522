// Child of bench/run.mjs: one ContentsQuery pass over the given Contents .gz files (as
// lookupContents makes it, minus the fetch), asking for a handful of common paths; prints how
// many of them were found.
import { createReadStream } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { decompress } = await import(join(ROOT, "dist/codec/decompress.js"));
const { ContentsQuery } = await import(join(ROOT, "dist/debian/contents-lookup.js"));
const paths = ["/lib64/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libssl.so.3", "/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/bin/python3", "/etc/ssl/certs/ca-certificates.crt", "/usr/share/zoneinfo/UTC"];
const q = new ContentsQuery(paths);
for (const file of process.argv.slice(2)) await q.scan(decompress("gz", createReadStream(file)), file);
console.log(`${[...q.answer().values()].filter((h) => h.length > 0).length}/${paths.length} paths found`);
