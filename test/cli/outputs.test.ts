// Outputs appear whole or not at all, on the real command line (a private tsc build of the CLI,
// offline from a warm cache of the layer fixture): output paths that cannot be written are
// refused before any work; a write failing on the last architecture leaves every old file; and
// strace SIGKILLs `layer` at each rename of a run and `image` at each that is not one blob among
// many (and at an fsync and an unlink),
// after which the outputs are the old ones, or exactly a prefix of the documented commit order,
// and the next run completes and leaves no temp file. Files of the user's beside the outputs
// survive everything.
import { createHash } from "node:crypto";
import { cp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasCommand } from "../fixtures/deb.js";
import { RENAMES, killAt, ptraceWorks, renameTarget, syscalls } from "../fixtures/strace.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { PROJECT, layerArchive } from "../layer/fixture.js";
import { cleanEnv, compileCli, removeDir, run, tempDir, writeProject, type Run } from "../layer/helpers.js";

const tools = ["gzip", "zstd", "xz"].every((t) => hasCommand(t));
const ptrace = ptraceWorks;
if (tools && !ptrace) console.warn("skipping the kill tests: strace cannot trace here (no strace, or ptrace is not permitted)");

const USER_FILE = "notes.txt";
const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

let work: string;
let main: string;
let server: TestServer;
let lockfile: string;
let cache: string;

// One libuv worker: strace counts syscalls per thread, so the Nth rename is then the run's Nth.
// A temp directory of the file's own, which the killed runs must leave empty.
const env = () => cleanEnv({ UV_THREADPOOL_SIZE: "1", TMPDIR: join(work, "tmp") });
const cli = (args: string[]): Promise<Run> => run(process.execPath, [main, ...args], { cwd: work, env: env() });
const traced = (strace: string[], args: string[]): Promise<Run> => run("strace", ["-f", "-qq", ...strace, process.execPath, main, ...args], { cwd: work, env: env() });
/** SIGKILL the CLI on the `n`th call (in its one worker thread) of `syscalls`. */
const killedAt = (calls: string, n: number, args: string[]) => traced(killAt(calls, n), args);

const layerArgs = (out: string) => ["layer", "--lockfile", lockfile, "--cache", cache, "--offline", "--output", join(out, "{arch}.tar"), "--quiet"];
const imageArgs = (out: string, sbom: string, stamp: string) => ["image", "--lockfile", lockfile, "--cache", cache, "--offline", "--arch", "amd64", "--env", `STAMP=${stamp}`, "--output", out, "--sbom", sbom, "--quiet"];

/** Every file under `dir` (relative path → sha256). */
async function state(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.set(path.slice(dir.length + 1), sha256(await readFile(path)));
  }
  return out;
}

const temps = (s: Map<string, string>) => [...s.keys()].filter((p) => basename(p).startsWith(".scratch-pkgs-") || basename(p).includes(".tmp"));

/** Run `tasks` two at a time (the machine has two cores). */
async function inPairs<T>(tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all([lane(), lane()]);
  return results;
}

beforeAll(async () => {
  if (!tools) return;
  work = await tempDir("outputs");
  await mkdir(join(work, "tmp"));
  const [built, made] = await Promise.all([compileCli(join(work, "build")), layerArchive(work)]);
  main = built;
  server = await serveDirectory(made.www);
  const project = await writeProject(join(work, "project"), made.key.armoredPublicKey, PROJECT);
  ({ lockfile, cache } = project);
  // lock fetches every .deb into the cache; everything after runs --offline from it.
  const r = await cli(["lock", "--config", project.config, "--lockfile", lockfile, "--mirror", server.url, "--cache", cache, "--quiet"]);
  if (r.code !== 0) throw new Error(`set-up lock failed (${r.code}): ${r.stderr}`);
});

afterAll(async () => {
  await server?.close();
  await removeDir(work);
});

describe.skipIf(!tools)("output paths (CLI)", () => {
  it("are checked before any work: a directory, a trailing slash or a missing directory is exit 2 naming it, and nothing is written", async () => {
    const dir = join(work, "paths");
    await mkdir(join(dir, "taken"), { recursive: true });
    await mkdir(join(dir, "slash"));
    await mkdir(join(dir, "layout", "blobs", "sha256"), { recursive: true });
    for (const d of ["taken", "slash"]) await writeFile(join(dir, d, USER_FILE), "mine");
    await writeFile(join(dir, "layout", "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(dir, "layout", "index.json"), '{"schemaVersion":2,"manifests":[]}');
    await writeFile(join(dir, "layout", USER_FILE), "mine");
    const before = await state(dir);
    const layer = (output: string) => cli(["layer", "--lockfile", lockfile, "--cache", cache, "--offline", "--arch", "amd64", "--output", output]);
    const cases: Array<[Promise<Run>, string]> = [
      [layer(join(dir, "taken")), `${join(dir, "taken")} is a directory`],
      [layer(join(dir, "slash") + "/"), `${join(dir, "slash")}/ ends in "/"`],
      [layer(join(dir, "missing", "layer.tar")), `${join(dir, "missing")} does not exist`],
      [cli(imageArgs(join(dir, "image.tar"), join(dir, "missing", "sbom.json"), "x")), `${join(dir, "missing")} does not exist`],
      // An OCI layout with a file of the user's in it is not ours to update (its blobs would go).
      [cli(imageArgs(join(dir, "layout"), join(dir, "sbom.json"), "x")), `${join(dir, "layout", USER_FILE)}, which is not part of an OCI layout`],
    ];
    for (const [p, message] of cases) {
      const r = await p;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(message);
    }
    expect(await state(dir)).toEqual(before);
  });
});

describe.skipIf(!tools || !ptrace)("outputs whole or not at all (CLI under strace)", () => {
  it("layer: a kill at any rename or fsync leaves the old files or a prefix of provenance-then-layer per architecture; the next run completes and cleans", async () => {
    const names = ["amd64.tar.provenance.jsonl", "amd64.tar", "arm64.tar.provenance.jsonl", "arm64.tar"];
    const plantOld = async (dir: string) => {
      await mkdir(dir, { recursive: true });
      for (const n of [...names, USER_FILE]) await writeFile(join(dir, n), `old ${n}`);
    };
    // One run first keeps the layers in the cache, so that every run below copies them from
    // there alike (a run that built them would also rename its cache entries into place).
    await mkdir(join(work, "layer-warm"));
    expect((await cli(layerArgs(join(work, "layer-warm")))).code).toBe(0);
    // The unkilled run: what the new files are, and where its renames and fsyncs are.
    const ref = join(work, "layer-ref");
    await plantOld(ref);
    const trace = join(work, "layer.trace");
    const r = await traced(["-y", "-o", trace, "-e", `trace=${RENAMES},fsync`], layerArgs(ref));
    expect(r.code, r.stderr).toBe(0);
    const fresh = await state(ref);
    const calls = await syscalls(trace);
    const renames = calls.filter((c) => RENAMES.split(",").includes(c.name));
    expect(renames.length, await readFile(trace, "utf8")).toBeGreaterThan(0);
    // The documented commit order, all on the one worker thread whose calls strace counts.
    expect(renames.map((c) => basename(renameTarget(c.line)))).toEqual(names);
    const worker = renames[0]!.tid;
    expect(new Set(renames.map((c) => c.tid))).toEqual(new Set([worker]));
    const fsyncs = calls.filter((c) => c.tid === worker && c.name === "fsync");
    // The temp files' fsyncs (hidden names in the output directory).
    const staged = fsyncs.map((c, i) => ({ n: i + 1, c })).filter(({ c }) => c.line.includes(`<${ref}/.`));
    expect(staged.length).toBeGreaterThanOrEqual(names.length);

    const old = (n: string) => sha256(`old ${n}`);
    const prefix = (k: number) => new Map([...names.map((n, i): [string, string] => [n, i < k ? fresh.get(n)! : old(n)]), [USER_FILE, old(USER_FILE)]]);
    const points = [
      ...renames.map((_, i) => ({ syscall: RENAMES, n: i + 1, expect: prefix(i) })),
      // Every part is written and fsynced before the first rename: a kill there leaves all old.
      { syscall: "fsync", n: staged.at(-1)!.n, expect: prefix(0) },
    ];
    await inPairs(
      points.map((p, i) => async () => {
        const dir = join(work, `layer-kill-${i}`);
        await plantOld(dir);
        const k = await killedAt(p.syscall, p.n, layerArgs(dir));
        expect.soft(k.code, `${p.syscall} #${p.n}: ${k.stderr}`).not.toBe(0);
        const after = await state(dir);
        expect.soft(new Map([...after].filter(([n]) => !temps(after).includes(n))), `${p.syscall} #${p.n}`).toEqual(p.expect);
        const again = await cli(layerArgs(dir));
        expect.soft(again.code, again.stderr).toBe(0);
        expect.soft(await state(dir), `after ${p.syscall} #${p.n}`).toEqual(new Map([...fresh, [USER_FILE, old(USER_FILE)]]));
      }),
    );

    // A write that fails on the last architecture (a full disk: every fsync from its layer's on)
    // leaves every old file, exit 3 naming it.
    const full = join(work, "layer-full");
    await plantOld(full);
    const f = await traced(["-o", "/dev/null", "-e", "trace=fsync", "-e", `inject=fsync:error=ENOSPC:when=${staged.at(-1)!.n}+`], layerArgs(full));
    expect(f.code, f.stderr).toBe(3);
    expect(f.stderr).toContain(join(full, "arm64.tar"));
    expect(await state(full)).toEqual(prefix(0));
  });

  it("image: a kill at any rename or unlink never leaves DIR without a whole image, the SBOM goes first; the next run completes and cleans", async () => {
    // The old image (another --env) and the unkilled new run, traced.
    const old = join(work, "image-old");
    await mkdir(old);
    await writeFile(join(old, USER_FILE), "mine");
    const o = await cli(imageArgs(join(old, "oci"), join(old, "sbom.json"), "old"));
    expect(o.code, o.stderr).toBe(0);
    const oldState = await state(old);
    const ref = join(work, "image-ref");
    await cp(old, ref, { recursive: true });
    const trace = join(work, "image.trace");
    const r = await traced(["-y", "-o", trace, "-e", `trace=${RENAMES},unlink,unlinkat`], imageArgs(join(ref, "oci"), join(ref, "sbom.json"), "new"));
    expect(r.code, r.stderr).toBe(0);
    const newState = await state(ref);
    expect(newState.get("oci/index.json")).not.toBe(oldState.get("oci/index.json"));
    const calls = await syscalls(trace);
    const renames = calls.filter((c) => RENAMES.split(",").includes(c.name));
    const worker = renames[0]!.tid;
    expect(new Set(renames.map((c) => c.tid))).toEqual(new Set([worker]));
    const targets = renames.map((c) => renameTarget(c.line).slice(ref.length + 1));
    const isBlob = (t: string) => /^oci\/blobs\/sha256\/[0-9a-f]{64}$/.test(t);
    const unlinks = calls.filter((c) => c.tid === worker && /^unlink/.test(c.name));
    const gc = unlinks.findIndex((c) => c.line.includes(`${ref}/oci/blobs/sha256/`) && !c.line.includes(".scratch-pkgs-"));

    // Each rename but the blobs after the first (alike: no index names a new blob yet), so the
    // test stays cheap.
    const sbomAt = targets.indexOf("sbom.json");
    const points = [
      ...renames.map((_, i) => ({ syscall: RENAMES, n: i + 1, index: "old", sbom: i > sbomAt ? "new" : "old", fresh: false })).filter((_, i) => i === 0 || !isBlob(targets[i]!)),
      // After index.json, while the blobs only the old image named are removed.
      ...(gc >= 0 ? [{ syscall: "unlink,unlinkat", n: gc + 1, index: "new", sbom: "new", fresh: false }] : []),
      // A first image: the layout is built beside DIR and renamed in; there is none until then.
      { syscall: RENAMES, n: 2, index: "none", sbom: "new", fresh: true },
    ];
    await inPairs(
      points.map((p, i) => async () => {
        const dir = join(work, `image-kill-${i}`);
        if (p.fresh) {
          await mkdir(dir);
          await writeFile(join(dir, USER_FILE), "mine");
        } else await cp(old, dir, { recursive: true });
        const what = `${p.syscall} #${p.n}${p.fresh ? " (first image)" : ""}`;
        const k = await killedAt(p.syscall, p.n, imageArgs(join(dir, "oci"), join(dir, "sbom.json"), "new"));
        expect.soft(k.code, `${what}: ${k.stderr}`).not.toBe(0);
        const after = await state(dir);
        const expected = { old: oldState, new: newState };
        expect.soft(after.get("oci/index.json"), what).toBe(p.index === "none" ? undefined : expected[p.index as "old" | "new"].get("oci/index.json"));
        expect.soft(after.get("sbom.json"), what).toBe(expected[p.sbom as "old" | "new"].get("sbom.json"));
        if (after.has("oci/index.json")) await expectWholeLayout(join(dir, "oci"));
        const again = await cli(imageArgs(join(dir, "oci"), join(dir, "sbom.json"), "new"));
        expect.soft(again.code, again.stderr).toBe(0);
        expect.soft(await state(dir), `after ${what}`).toEqual(newState);
      }),
    );
    // SIGKILLed at each of those points, no run left a temp file behind (its spools have no name).
    expect(await readdir(join(work, "tmp"))).toEqual([]);
    // Blobs, then the SBOM, then oci-layout, and index.json last; then the old blobs go.
    expect(targets.slice(-3)).toEqual(["sbom.json", "oci/oci-layout", "oci/index.json"]);
    expect(targets.slice(0, -3).every(isBlob)).toBe(true);
    expect(gc).toBeGreaterThanOrEqual(0);
  });
});

/** Every blob index.json names, and each that they name in turn, is there with its digest and size. */
// (soft: each kill point reports all it finds)
async function expectWholeLayout(dir: string): Promise<void> {
  type Desc = { mediaType: string; digest: string; size: number };
  const pending: Desc[] = [...(JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: Desc[] }).manifests];
  while (pending.length > 0) {
    const d = pending.pop()!;
    const bytes = await readFile(join(dir, "blobs", "sha256", d.digest.slice("sha256:".length))).catch(() => undefined);
    expect.soft(bytes, `${dir}: ${d.digest}`).toBeDefined();
    if (!bytes) continue;
    expect.soft(`sha256:${sha256(bytes)}`, d.digest).toBe(d.digest);
    expect.soft(bytes.length).toBe(d.size);
    if (d.mediaType.endsWith("index.v1+json") || d.mediaType.endsWith("manifest.v1+json")) {
      const doc = JSON.parse(bytes.toString("utf8")) as { manifests?: Desc[]; config?: Desc; layers?: Desc[] };
      pending.push(...(doc.manifests ?? []), ...(doc.config ? [doc.config] : []), ...(doc.layers ?? []));
    }
  }
}
