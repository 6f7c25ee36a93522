/**
 * Layer bytes do not depend on which decoders built them: the same layers, from the generated
 * fixture archive (xz, gzip, zstd and plain data members) and from the committed lock's real
 * .debs in snapshots/, built with the system xz/zstd and with the bundled decoders forced,
 * give the same diff_id and provenance sha256 (the tar's sha256 is its diff_id), the ones the
 * lock records. `layer` keeps no decoded members here: every build decodes every .deb.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LayerResult } from "../../src/commands/layer.js";
import type { Lockfile } from "../../src/model/lock.js";
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

let builds = 0;

/** A build of `run` on one decoder path: each layer's diff_id and the sha256 of the provenance written beside it. */
async function built(path: DecoderPath, run: Omit<LayerRun, "output">): Promise<Array<{ arch: string; diffId: string; provenance: string }>> {
  const results: LayerResult[] = await onDecoderPath(path, () => layerWith({ ...run, output: join(work, `${path}-${builds++}-{arch}.tar`) }));
  return Promise.all(results.map(async (r) => ({ arch: r.arch, diffId: r.diffId, provenance: await sha256(r.provenance) })));
}

/** What the lock records of each layer, in the same form. */
function recorded(lock: Lockfile, arches: string[]): Array<{ arch: string; diffId: string; provenance: string }> {
  return arches.map((arch) => ({ arch, diffId: lock.architectures[arch]!.layer.diffId, provenance: lock.architectures[arch]!.layer.provenance.sha256 }));
}

describe.skipIf(!haveTools)("layers built with the system decoders and with the bundled ones", () => {
  it("are byte-identical for the fixture archive (xz, gzip, zstd and plain members), both architectures", async () => {
    const made = await layerArchive(join(work, "fixture"));
    server = await serveDirectory(made.www);
    const project = await writeProject(join(work, "project"), made.key.armoredPublicKey, PROJECT);
    // The lock's own build of both layers decodes natively; `layer` then rebuilds them with the bundled decoders.
    await onDecoderPath("native", () => lockWith({ config: project.config, lockfile: project.lockfile, cache: project.cache, mirrors: [server!.url] }));
    const lock = await readLockfile(project.lockfile);
    expect(await built("fallback", { lockfile: project.lockfile, cache: project.cache, offline: true })).toEqual(recorded(lock, ["amd64", "arm64"]));
  });

  it("are byte-identical for the committed lock's real .debs (amd64), and what the lock records", async () => {
    const lockfile = join(ROOT, "scratch.lock");
    const lock = await readLockfile(lockfile);
    const mirrors = lock.sources.map((s) => `${s.name}=${pathToFileURL(join(ROOT, "snapshots", s.name)).href}`);
    const run = { lockfile, cache: join(work, "snapshot-cache"), mirrors, arches: ["amd64"] };
    const native = await built("native", run);
    expect(native).toEqual(recorded(lock, ["amd64"]));
    expect(await built("fallback", run)).toEqual(native);
  });
});
