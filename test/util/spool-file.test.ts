// The nameless temp file the provenance manifest is written to: nothing of it is ever in the
// temp directory, its bytes come back through its extent (checked against their sha256, by
// sha256sum here), and a read after its bytes changed is refused.
import { execFileSync } from "node:child_process";
import { readdirSync, readlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { createAnonymousFile } from "../../src/util/spool-file.js";
import { readExtent } from "../../src/util/file-extent.js";
import { VerificationError } from "../../src/model/errors.js";

const ours = () => readdirSync(tmpdir()).filter((n) => n.startsWith("scratch-pkgs-spool-")).sort();

describe("createAnonymousFile", () => {
  it("leaves nothing in the temp directory, and reads back what was written, checked by its sha256", async () => {
    const before = ours();
    const f = await createAnonymousFile();
    expect(ours()).toEqual(before);
    const text = "line one\n".repeat(200_000) + "é\n";
    const bytes = Buffer.from(text, "utf8");
    for (let at = 0; at < bytes.length; at += 65_537) f.write(bytes.subarray(at, at + 65_537));
    const sha256 = execFileSync("sha256sum", { input: bytes }).toString().split(" ")[0]!;
    const e = f.extent(bytes.length, sha256, "the test's manifest");
    // The descriptor names a deleted file: /proc says so.
    expect(readlinkSync(`/proc/self/fd/${e.fd}`)).toMatch(/ \(deleted\)$/);
    expect(Buffer.compare(Buffer.from(readExtent(e)), bytes)).toBe(0);
    expect(ours()).toEqual(before);
  });

  it("refuses a read whose bytes are not the sha256 it was handed", async () => {
    const f = await createAnonymousFile();
    f.write(Buffer.from("abc"));
    const e = f.extent(3, execFileSync("sha256sum", { input: "abc" }).toString().split(" ")[0]!, "the test's manifest");
    writeSync(e.fd, Buffer.from("x"), 0, 1, 1);
    expect(() => readExtent(e)).toThrow(VerificationError);
    expect(() => readExtent(e)).toThrow(/the test's manifest/);
  });
});
