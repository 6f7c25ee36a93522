// The check a lock's zstd blob passes before its digest is recorded: the blob must decode back
// to the tar it was made from. The blobs here are made by the `zstd` tool and the digests by
// `sha256sum`, so nothing is checked against our own compressor or hash; both decoders (the
// system `zstd` and the bundled fzstd) are exercised.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkZstdRoundTrip } from "../../src/codec/zstd-round-trip.js";
import { NATIVE_DECODERS_ENV } from "../../src/codec/native-decoder.js";

let tmp: string;
let tar: { digest: string; size: number };
let blob: Buffer;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "zstd-round-trip-"));
  const data = path.join(tmp, "data");
  // Text-like and random runs, 3 MB: several zstd blocks and several 1 MiB read chunks.
  const parts: Buffer[] = [];
  for (let i = 0; i < 24; i++) parts.push(i % 2 ? Buffer.alloc(131_072, `line ${i} of a file\n`) : execFileSync("head", ["-c", "131072", "/dev/urandom"]));
  fs.writeFileSync(data, Buffer.concat(parts));
  blob = execFileSync("zstd", ["-3", "-q", "-c", "--no-check", data], { maxBuffer: 1 << 26 });
  tar = { digest: `sha256:${execFileSync("sha256sum", [data], { encoding: "utf8" }).split(" ")[0]}`, size: fs.statSync(data).size };
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  delete process.env[NATIVE_DECODERS_ENV];
});

/** The blob in uneven pieces, as a file read back would give it. */
function* pieces(bytes: Uint8Array, step = 100_003): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += step) yield bytes.subarray(at, at + step);
}

describe.each([
  ["the system zstd", "1"],
  ["fzstd", "0"],
])("checkZstdRoundTrip with %s", (_name, native) => {
  it("passes a blob that decodes to the tar's digest and size", async () => {
    process.env[NATIVE_DECODERS_ENV] = native;
    await expect(checkZstdRoundTrip(pieces(blob), tar)).resolves.toBeUndefined();
  });

  it("refuses a blob that decodes to other bytes, or to fewer", async () => {
    process.env[NATIVE_DECODERS_ENV] = native;
    const other = { ...tar, digest: `sha256:${"0".repeat(64)}` };
    await expect(checkZstdRoundTrip(pieces(blob), other)).rejects.toThrow(`zstd compression of a ${tar.size}-byte layer did not round-trip`);
    await expect(checkZstdRoundTrip(pieces(blob), { ...tar, size: tar.size + 1 })).rejects.toThrow("did not round-trip");
  });

  it("refuses a truncated frame as unreadable", async () => {
    process.env[NATIVE_DECODERS_ENV] = native;
    await expect(checkZstdRoundTrip(pieces(blob.subarray(0, blob.length - 1000)), tar)).rejects.toThrow(`zstd compression of a ${tar.size}-byte layer produced an unreadable frame`);
  });
});
