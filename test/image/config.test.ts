// The image config as pure functions: exec-form parsing (shell form refused), the defaults the
// lock implies, --env overrides, platforms, and the fixed key order of the JSON.
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/model/errors.js";
import { debianArchOfPlatform, imageConfig, imageEnv, imageUser, lockAccounts, ociPlatform, parseExecForm, parseKeyValues, rfc3339, type LockFacts } from "../../src/image/config.js";
import { accountsOver } from "../../src/image/user.js";

const refused = (f: () => unknown): UsageError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error("expected a UsageError");
};

describe("parseExecForm", () => {
  it("takes a JSON array, or repeated values, or one word", () => {
    expect(parseExecForm("entrypoint", ['["/app","--port","8080"]'])).toEqual(["/app", "--port", "8080"]);
    expect(parseExecForm("entrypoint", ["/app", "--port", "8080"])).toEqual(["/app", "--port", "8080"]);
    expect(parseExecForm("entrypoint", ["/app"])).toEqual(["/app"]);
    expect(parseExecForm("entrypoint", [])).toBeUndefined();
    // Spaces inside an argument of the exec form are fine: no shell splits them.
    expect(parseExecForm("cmd", ['["/app","hello world"]'])).toEqual(["/app", "hello world"]);
  });

  it("refuses shell form with a reason and the exec-form hint", () => {
    for (const v of [["/app --port 8080"], ["sh -c /app"], ['["sh","-c","/app"]'], ['["/bin/sh -c /app"]'], ["/bin/bash", "-c", "/app"]]) {
      const e = refused(() => parseExecForm("entrypoint", v));
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(/shell-form/);
      expect(e.message).toMatch(/no shell/);
      expect(e.hint).toMatch(/JSON array/);
    }
  });

  it("refuses JSON that is not a non-empty array of strings", () => {
    for (const v of ["[", "[]", "[1]", '["/app", 2]']) refused(() => parseExecForm("entrypoint", [v]));
  });
});

describe("env, user and labels", () => {
  const all: LockFacts = { hasBase: true, hasCaCertificates: true, timezone: "Europe/Amsterdam" };
  const none: LockFacts = { hasBase: false, hasCaCertificates: false, timezone: undefined };

  it("defaults from the lock's recipes", () => {
    expect(imageEnv(all, [])).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
      "TZ=Europe/Amsterdam",
    ]);
    expect(imageEnv(none, [])).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    expect(imageUser(all, undefined)).toBe("65532:65532");
    expect(imageUser(none, undefined)).toBeUndefined();
    expect(imageUser(all, "0:0")).toBe("0:0");
    expect(imageUser(all, "")).toBeUndefined();
  });

  it("--user: ids 0 to 2^31-1, or names of the base set's /etc/passwd and /etc/group; anything else is exit 2 naming it", () => {
    expect(imageUser(all, "nonroot")).toBe("nonroot");
    expect(imageUser(all, "nobody:nonroot")).toBe("nobody:nonroot");
    expect(imageUser(none, "2147483647:0")).toBe("2147483647:0");
    expect(imageUser(all, "1000:root")).toBe("1000:root");
    const refused = (facts: LockFacts, value: string): UsageError => {
      try {
        imageUser(facts, value);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        expect((e as UsageError).exitCode).toBe(2);
        return e as UsageError;
      }
      throw new Error(`--user ${value} was accepted`);
    };
    expect(refused(all, "2147483648").message).toBe('--user "2147483648": user id 2147483648 is out of range (0 to 2147483647)');
    expect(refused(all, "0:99999999999").message).toBe('--user "0:99999999999": group id 99999999999 is out of range (0 to 2147483647)');
    expect(refused(all, "alice").message).toBe('--user "alice": no user "alice" in the image\'s /etc/passwd (it has root, nobody, nonroot)');
    expect(refused(all, "nonroot:wheel").message).toMatch(/no group "wheel" in the image's \/etc\/group/);
    expect(refused(none, "nonroot").message).toMatch(/user name "nonroot", but the image has no \/etc\/passwd to look it up in/);
    for (const bad of ["-1", "1:2:3", "root:", ":0", "ro ot", "Root", "1e3"]) expect(refused(all, bad).message).toMatch(/^--user "/);
  });

  it("--user over --add layers: a layer's /etc/passwd or /etc/group replaces the base set's, each on its own", () => {
    const accounts = accountsOver(lockAccounts(all), [{ from: "--add app.tar", group: "root:x:0:\nstaff:x:50:\n" }]);
    expect(imageUser(all, "nonroot:staff", accounts)).toBe("nonroot:staff");
    expect(() => imageUser(all, "nonroot:nonroot", accounts)).toThrow('--user "nonroot:nonroot": no group "nonroot" in the image\'s /etc/group (from --add app.tar; it has root, staff)');
    expect(accountsOver(lockAccounts(all), [{ from: "--add a.tar" }])).toEqual(lockAccounts(all));
    expect(accountsOver(lockAccounts(none), [{ from: "--add a.tar", passwd: null }]).users).toEqual({ unreadable: "/etc/passwd in --add a.tar is not a regular file" });
  });

  it("--env replaces a default in place and appends new keys in the order given", () => {
    expect(imageEnv(all, parseKeyValues("env", ["TZ=UTC", "A=1", "PATH=/bin", "A=2", "EMPTY="]))).toEqual([
      "PATH=/bin",
      "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
      "TZ=UTC",
      "A=2",
      "EMPTY=",
    ]);
    expect(() => parseKeyValues("env", ["NOEQUALS"])).toThrow(UsageError);
    expect(() => parseKeyValues("label", ["=x"])).toThrow(UsageError);
  });
});

describe("platforms", () => {
  it("maps Debian architecture names to OCI's", () => {
    const table: Array<[string, string, string | undefined]> = [
      ["amd64", "amd64", undefined],
      ["arm64", "arm64", "v8"],
      ["armhf", "arm", "v7"],
      ["armel", "arm", "v5"],
      ["i386", "386", undefined],
      ["ppc64el", "ppc64le", undefined],
      ["s390x", "s390x", undefined],
      ["riscv64", "riscv64", undefined],
      ["mips64el", "mips64le", undefined],
    ];
    for (const [deb, oci, variant] of table) expect(ociPlatform(deb)).toEqual({ architecture: oci, os: "linux", ...(variant ? { variant } : {}) });
    expect(() => ociPlatform("hurd-i386")).toThrow(UsageError);
  });

  it("maps the --platform strings docker takes back to Debian architectures", () => {
    const table: Array<[string, string]> = [
      ["linux/amd64", "amd64"],
      ["linux/arm64", "arm64"],
      ["linux/arm64/v8", "arm64"],
      // docker and containerd read a bare linux/arm as v7.
      ["linux/arm", "armhf"],
      ["linux/arm/v7", "armhf"],
      ["linux/arm/v5", "armel"],
      ["linux/386", "i386"],
      ["linux/ppc64le", "ppc64el"],
      ["linux/s390x", "s390x"],
      ["linux/riscv64", "riscv64"],
    ];
    for (const [platform, deb] of table) expect(debianArchOfPlatform(platform), platform).toBe(deb);
    expect(refused(() => debianArchOfPlatform("windows/amd64")).message).toMatch(/--platform windows\/amd64/);
    expect(refused(() => debianArchOfPlatform("arm64")).message).toMatch(/--platform arm64/);
    const v6 = refused(() => debianArchOfPlatform("linux/arm/v6"));
    expect(v6.message).toMatch(/linux\/arm\/v6/);
    expect(v6.hint).toMatch(/linux\/arm64\/v8/);
  });
});

describe("imageConfig", () => {
  it("is RFC 3339 UTC, with a fixed key order and sorted labels", () => {
    expect(rfc3339(1704164645)).toBe("2024-01-02T03:04:05Z");
    const c = imageConfig({
      platform: ociPlatform("arm64"),
      created: 1704164645,
      facts: { hasBase: true, hasCaCertificates: false, timezone: undefined },
      flags: { entrypoint: ["/app"], cmd: undefined, user: undefined, env: [], workdir: "/srv", labels: [["z", "1"], ["a", "2"], ["z", "3"]] },
      diffIds: ["sha256:" + "a".repeat(64)],
      history: [{ created_by: "x" }],
    });
    expect(Object.keys(c)).toEqual(["created", "architecture", "variant", "os", "config", "rootfs", "history"]);
    expect(JSON.stringify(c.config)).toBe('{"User":"65532:65532","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/app"],"WorkingDir":"/srv","Labels":{"a":"2","z":"3"}}');
    expect(c.history).toEqual([{ created: "2024-01-02T03:04:05Z", created_by: "x" }]);
  });
});
