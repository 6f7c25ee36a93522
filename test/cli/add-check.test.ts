// `add --check` on the command line (main(), in process), with the one place add takes needs
// from (src/commands/binary-needs-source.ts) replaced by one answering with the needs
// of a gcc-built hello world as readelf and dpkg-deb find them in snapshots' real trixie .debs:
// the diff on stdout and exit 1 when scratch.json would change, exit 0 when it already has it
// all, the same as one JSON document with --json, and no file touched (bytes and mtimes).
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BinaryNeeds } from "../../src/model/binary-needs.js";
import { needsFromTools } from "../fixtures/binary-needs.js";
import { hasCommand } from "../fixtures/deb.js";
import { dirState } from "../fixtures/dir-state.js";
import { KEY_DATE, removeDir, repoRoot, tempDir, writeProject } from "../lock/helpers.js";
import { makeKey } from "../sources/pgp-helpers.js";

const answers = new Map<string, BinaryNeeds>();
vi.mock("../../src/commands/binary-needs-source.js", () => ({ findNeeds: async (binary: string) => answers.get(binary)! }));
const { main } = await import("../../src/cli/main.js");

// gcc builds for this machine, and the .deb the needs are looked up in is amd64.
const tools = process.arch === "x64" && ["gcc", "readelf", "dpkg-deb"].every((t) => hasCommand(t));
const POOL = join(repoRoot, "snapshots/debian/pool/main");
if (!tools) console.warn("skipping add --check on the command line: not an amd64 machine, or gcc, readelf or dpkg-deb is missing");

let work: string;
let hello: string;

beforeAll(async () => {
  work = await tempDir("add-check-");
  if (!tools) return;
  await writeFile(join(work, "hello.c"), '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
  hello = join(work, "hello");
  execFileSync("gcc", ["-o", hello, join(work, "hello.c")]);
  answers.set(hello, needsFromTools(hello, "amd64", [{ package: "libc6", deb: join(POOL, "g/glibc/libc6_2.41-12+deb13u5_amd64.deb") }]));
});

afterAll(async () => {
  if (work) await removeDir(work);
});

/** main(argv) with stdout captured. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  });
  try {
    return { code: await main(argv), stdout };
  } finally {
    write.mockRestore();
  }
}


describe.skipIf(!tools)("add --check on the command line", () => {
  it("prints the diff and exits 1 when scratch.json would change, 0 once it has it all; touches nothing", async () => {
    const key = await makeKey({ type: "ecc", date: KEY_DATE });
    const p = await writeProject(join(work, "p"), key, { suites: ["stable"], architectures: ["amd64", "arm64"], fileSets: { base: {} } });
    const args = ["add", hello, "--check", "--config", p.config, "--lockfile", p.lockfile, "--cache", join(work, "cache"), "--offline"];
    const before = await dirState(p.dir);

    const r = await cli(args);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@$/);
    expect(lines).toContain('+    "hello-amd64": {');
    expect(lines).toContain('+      "packages": [{ "name": "libc6", "architectures": ["amd64"] }],');
    for (const f of answers.get(hello)!.files) expect(r.stdout).toContain(`+        ${JSON.stringify(f.path)}`);
    expect(lines[lines.length - 1]).toBe(`${p.config} would change: fileSets.hello-amd64 added (1 package (libc6), 3 paths, for amd64 only; ${hello})`);

    const j = await cli([...args, "--json"]);
    expect(j.code).toBe(1);
    const doc = JSON.parse(j.stdout) as { ok: boolean; changed: boolean; additions: Array<{ field: string }>; diff: string[]; needs: BinaryNeeds[] };
    expect([doc.ok, doc.changed, doc.additions.map((a) => a.field)]).toEqual([false, true, ["fileSets.hello-amd64"]]);
    expect(doc.diff).toEqual(lines.slice(0, -1));
    expect(doc.needs).toEqual([answers.get(hello)]);
    expect(await dirState(p.dir)).toEqual(before);

    // The manifest as add would leave it: nothing more to add.
    const { addBinaryNeeds } = await import("../../src/manifest/add-binary-needs.js");
    await writeFile(p.config, addBinaryNeeds(await readFile(p.config, "utf8"), p.config, [answers.get(hello)!], { whole: false }).text);
    const done = await cli(args);
    expect(done).toEqual({ code: 0, stdout: `${p.config} already has what ${hello} needs\n` });
  });
});
