// The missing-suite error's did-you-mean: Debian's names, a file: mirror's dists/, and the
// names (Suite, Codename) of the manifest's releases that verified, which Debian's list lacks.
import { describe, expect, it } from "vitest";
import { SuiteNotFoundError, suiteNotFound } from "../../src/sources/missing-suite.js";
import type { SuiteRef, VerifiedSuite } from "../../src/sources/archive.js";
import { EXIT } from "../../src/model/errors.js";

const ref = (source: string, suite: string): SuiteRef => ({ source, url: "https://acme.test.invalid/apt", suite, bases: ["https://acme.test.invalid/apt"], keyring: undefined as never, allowExpired: false });
const verified = (source: string, suite: string, codename: string): VerifiedSuite => ({ ref: ref(source, suite), release: { suite, codename } } as unknown as VerifiedSuite);

describe("suite not found", () => {
  it("offers the suite names and codenames of the releases that verified", async () => {
    const e = await suiteNotFound(ref("tools", "anvill"), new Error("HTTP 404"));
    expect(e.exitCode).toBe(EXIT.usage);
    expect(e.message).not.toContain("did you mean");
    const named = e.alsoNaming([verified("acme", "acme-lts", "anvil"), verified("debian", "bookworm", "bookworm")]);
    expect(named).toBeInstanceOf(SuiteNotFoundError);
    expect(named.message).toBe('suite "anvill" of source tools not found at https://acme.test.invalid/apt: neither dists/anvill/InRelease nor dists/anvill/Release exists; did you mean "anvil"?');
    expect(named.hint).toBe(e.hint);
    expect((await suiteNotFound(ref("tools", "acme-lst"), undefined)).alsoNaming([verified("acme", "acme-lts", "anvil")]).message).toContain('did you mean "acme-lts"?');
  });
});
