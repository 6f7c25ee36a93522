/**
 * Layer bytes do not depend on which decoders built them: the same layers, from the generated
 * fixture archive (xz, gzip, zstd and plain data members) and from the committed lock's real
 * .debs in snapshots/, built with the system xz/zstd and with the bundled decoders forced,
 * give the same diff_id, tar and provenance, and the lock's diff_id. No decoded-member store:
 * every build decodes every .deb.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LayerResult } from "../../src/commands/layer.js";
import { readLockfile } from "../../src/lockfile/read.js";
import { onDecoderPath, type DecoderPath } from "../fixtures/decoder-paths.js";
import { hasCommand } from "../fixtures/deb.js";
import { serveDirectory, type TestServer } from "../fixtures/server.js";
import { layerArchive, PROJECT } from "./fixture.js";
import { layerWith, lockWith, removeDir, tempDir, writeProject, type LayerRun } from "./helpers.js";

const ROOT = resolve(import.meta.dirname, "../..");
const haveTools = hasCommand("xz") && hasCommand("zstd");
if (!haveTools) console.warn("skipping decoder-path layer tests: they need the xz and zstd tools");

let work: string;
let server: TestServer | undefined;
beforeAll(async () => {
  work = await tempDir("decoder-paths");
});
afterAll(async () => {
  await server?.close();
  await removeDir(work);
});

const sha256 = async (file: string | undefined): Promise<string> => createHash("sha256").update(await readFile(file!)).digest("hex");

/** One build per path of the same layers; what each gave, comparable. */
async function bothPaths(run: Omit<LayerRun, "output">): Promise<Record<DecoderPath, Array<{ arch: string; diffId: string; tar: string; provenance: string }>>> {
  const out = {} as Record<DecoderPath, Array<{ arch: string; diffId: string; tar: string; provenance: string }>>;
  for (const path of ["native", "fallback"] as const) {
    const results: LayerResult[] = await onDecoderPath(path, () => layerWith({ ...run, output: join(work, `${path}-${Object.keys(out).length}-{arch}.tar`) }));
    out[path] = await Promise.all(results.map(async (r) => ({ arch: r.arch, diffId: r.diffId, tar: await sha256(r.output), provenance: await sha256(r.provenance) })));
  }
  return out;
}

describe.skipIf(!haveTools)("layers built with the system decoders and with the bundled ones", () => {
  it("are byte-identical for the fixture archive (xz, gzip, zstd and plain members), both architectures", async () => {
    const made = await layerArchive(join(work, "fixture"));
    server = await serveDirectory(made.www);
    const project = await writeProject(join(work, "project"), made.key.armoredPublicKey, PROJECT);
    await lockWith({ config: project.config, lockfile: project.lockfile, cache: project.cache, mirrors: [server.url] });
    const lock = await readLockfile(project.lockfile);
    const got = await bothPaths({ lockfile: project.lockfile, cache: project.cache, offline: true });
    expect(got.native.map((r) => r.arch)).toEqual(["amd64", "arm64"]);
    expect(got.native.map((r) => r.diffId)).toEqual(["amd64", "arm64"].map((a) => lock.architectures[a]!.layer.diffId));
    expect(got.fallback).toEqual(got.native);
  });

  it("are byte-identical for the committed lock's real .debs (amd64)", async () => {
    const lockfile = join(ROOT, "scratch.lock");
    const lock = await readLockfile(lockfile);
    const mirrors = lock.sources.map((s) => `${s.name}=${pathToFileURL(join(ROOT, "snapshots", s.name)).href}`);
    const got = await bothPaths({ lockfile, cache: join(work, "snapshot-cache"), mirrors, arches: ["amd64"] });
    expect(got.native.map((r) => r.diffId)).toEqual([lock.architectures.amd64!.layer.diffId]);
    expect(got.fallback).toEqual(got.native);
  });
});
