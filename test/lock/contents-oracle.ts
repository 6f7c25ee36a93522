/** The oracle of the Contents tests: what `zgrep` of real gzip'd Contents files says ships a path. */
import { spawnSync } from "node:child_process";

/**
 * Path → the package names `zgrep` finds for it in the gzip'd Contents `files` (the location
 * field's last part), for every path given: one zgrep for all, since each pass decompresses ~45 MB.
 */
export function zgrepContents(paths: string[], files: string[]): Map<string, string[]> {
  const patterns = paths.flatMap((p) => ["-e", `^${p.slice(1).replace(/[.+[\]]/g, "\\$&")}[[:space:]]`]);
  const r = spawnSync("zgrep", ["-h", "-E", ...patterns, ...files], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`zgrep failed: ${r.stderr}`);
  const out = new Map<string, Set<string>>(paths.map((p) => [p, new Set()]));
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const fields = line.split(/\s+/);
    const names = fields.pop()!.split(",").map((loc) => loc.split("/").pop()!);
    for (const n of names) out.get("/" + fields.join(" "))?.add(n);
  }
  return new Map([...out].map(([p, s]) => [p, [...s].sort()]));
}
