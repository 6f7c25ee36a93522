import { describe, expect, it } from "vitest";
import { isPackageName, PACKAGE_NAME_PATTERN } from "../../src/debian/package-name.js";
import { lockfileSchema } from "../../src/lockfile/schema.js";
import { MANIFEST_SCHEMA } from "../../src/manifest/schema.js";

describe("the package name rule (policy §5.6.1)", () => {
  it.each(["libc6", "g++", "libstdc++6", "0ad", "ca-certificates", "python3.11", "xz-utils", "a1"])("accepts %s", (n) => {
    expect(isPackageName(n)).toBe(true);
  });

  it.each([
    ["a", "one character"],
    ["", "empty"],
    ["Libc6", "upper case"],
    ["-foo", "starts with -"],
    [".foo", "starts with ."],
    ["+foo", "starts with +"],
    ["foo_bar", "underscore"],
    ["foo bar", "space"],
    ["libc6:amd64", "an architecture qualifier"],
    ["café", "non-ASCII"],
  ])("refuses %j (%s)", (n) => {
    expect(isPackageName(n)).toBe(false);
  });

  it("is the pattern the lock's and the manifest's schemas use", () => {
    const json = JSON.stringify([lockfileSchema(true), MANIFEST_SCHEMA]);
    expect(json).toContain(JSON.stringify(PACKAGE_NAME_PATTERN));
    expect(json).not.toMatch(/"pattern":"\^\[a-z0-9\]\[a-z0-9\+\.-\]\*\$"/);
  });
});
