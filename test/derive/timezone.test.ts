// The tzdata recipe against tzdata's own postinst (run with DPKG_ROOT in a temp dir, debconf
// answered by the file-backed stand-in) on this machine's installed zoneinfo.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { UnknownTimezoneError } from "../../src/derive/errors.js";
import { timezone, ZONEINFO } from "../../src/derive/timezone.js";
import type { LayerNode } from "../../src/model/layer.js";
import { sha256Hex } from "../../src/util/hash.js";
import { fakeDebconf, run, tempDir, nodesFromDir, removeTempDirs } from "./helpers.js";

afterAll(removeTempDirs);

const POSTINST = "/var/lib/dpkg/info/tzdata.postinst";
const TEMPLATES = "/var/lib/dpkg/info/tzdata.templates";
const q = spawnSync("dpkg-query", ["-W", "-f=${Version}", "tzdata"], { encoding: "utf8" });
const tzVersion = q.status === 0 ? q.stdout.trim() : undefined;
const haveTzdata = tzVersion !== undefined && tzVersion !== "" && existsSync(POSTINST) && existsSync(join(ZONEINFO, "Etc/UTC"));

const layer = haveTzdata ? nodesFromDir(ZONEINFO, { package: "tzdata", version: tzVersion! }, () => true, ZONEINFO) : new Map<string, LayerNode>();

/** What tzdata's postinst writes for AREA/ZONE (the part before dh_installdeb's additions). */
function debianTimezone(zone: string): { localtime: string; timezone: string } {
  const t = tempDir("tz");
  const root = join(t, "root");
  mkdirSync(join(root, "etc"), { recursive: true });
  const { confmodule, env } = fakeDebconf(t, TEMPLATES);
  const [area, ...rest] = zone.split("/");
  writeFileSync(join(env.FAKE_DEBCONF_DIR!, "tzdata_Areas.value"), area!);
  writeFileSync(join(env.FAKE_DEBCONF_DIR!, `tzdata_Zones_${area}.value`), rest.join("/"));
  const script = readFileSync(POSTINST, "utf8").split("# Automatically added by dh_installdeb")[0]!.replaceAll(". /usr/share/debconf/confmodule", `. ${confmodule}`);
  writeFileSync(join(t, "postinst"), script);
  run("sh", [join(t, "postinst"), "configure", ""], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DPKG_ROOT: root, ...env } });
  return { localtime: readlinkSync(join(root, "etc/localtime")), timezone: readFileSync(join(root, "etc/timezone"), "utf8") };
}

describe.skipIf(!haveTzdata)(`timezone vs tzdata ${tzVersion ?? "(not installed)"}'s postinst`, () => {
  test.each(["Europe/Paris", "Etc/UTC", "America/Argentina/Buenos_Aires"])("%s", (zone) => {
    const d = timezone({ nodes: layer }, { timezone: zone });
    const expected = debianTimezone(zone);
    const link = d.nodes.find((n) => n.path === "/etc/localtime")!;
    expect(link).toMatchObject({ type: "symlink", target: expected.localtime, mode: 0o777, uid: 0, gid: 0 });
    const tz = d.nodes.find((n) => n.path === "/etc/timezone")!;
    expect(Buffer.from(tz.content!).toString("utf8")).toBe(expected.timezone);
    expect(tz.mode).toBe(0o644);
    expect(d.record.options).toEqual({ timezone: zone });
  });

  test("records the zone file it read (and the links it crossed)", () => {
    const d = timezone({ nodes: layer }, { timezone: "US/Eastern" });
    expect(d.record.inputs).toEqual(
      [
        { path: `${ZONEINFO}/America/New_York`, sha256: sha256Hex(readFileSync(join(ZONEINFO, "America/New_York"))) },
        { path: `${ZONEINFO}/US/Eastern`, sha256: sha256Hex(readlinkSync(join(ZONEINFO, "US/Eastern"))) },
      ],
    );
    // through a symlinked directory (posix/Europe → ../Europe)
    expect(timezone({ nodes: layer }, { timezone: "posix/Europe/Paris" }).nodes[0]!.target).toBe(`${ZONEINFO}/posix/Europe/Paris`);
  });

  test.each([
    ["Mars/Olympus_Mons", "not in the layer"],
    ["zone.tab", "not a TZif"],
    ["Europe", "is a directory"],
    ["../zoneinfo/Europe/Paris", "relative name"],
    ["/Europe/Paris", "relative name"],
    ["", "relative name"],
  ])("refuses %j with exit code 2, naming the zone and tzdata's version", (zone, why) => {
    let err: unknown;
    try {
      timezone({ nodes: layer }, { timezone: zone });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnknownTimezoneError);
    const e = err as UnknownTimezoneError;
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain(`"${zone}"`);
    expect(e.message).toContain(`tzdata ${tzVersion}`);
    expect(e.message).toContain(why);
  });
});

describe("timezone: links and hard links inside the layer", () => {
  const tzif = new TextEncoder().encode("TZif2 fake zone data");
  const origin = { kind: "package" as const, package: "tzdata", version: "9z", architecture: "all", member: "." };
  const mk = (path: string, n: Partial<LayerNode>): [string, LayerNode] => [path, { path, type: "file", mode: 0o644, uid: 0, gid: 0, origin, ...n }];
  test("a hard link resolves to its file; an absolute symlink resolves in the layer, not the host", () => {
    const nodes = new Map([
      mk(`${ZONEINFO}/Etc/UTC`, { content: tzif }),
      mk(`${ZONEINFO}/Etc/Zulu`, { type: "hardlink", target: `${ZONEINFO}/Etc/UTC` }),
      mk(`${ZONEINFO}/Abs`, { type: "symlink", target: `${ZONEINFO}/Etc/Zulu` }),
    ]);
    expect(timezone({ nodes }, { timezone: "Etc/Zulu" }).record.inputs).toEqual([{ path: `${ZONEINFO}/Etc/Zulu`, sha256: sha256Hex(tzif) }]);
    expect(timezone({ nodes }, { timezone: "Abs" }).nodes.map((n) => n.path)).toEqual(["/etc/localtime", "/etc/timezone"]);
  });
  test("a symlink loop and a layer without tzdata are errors", () => {
    const loop = new Map([mk(`${ZONEINFO}/A`, { type: "symlink", target: "B" }), mk(`${ZONEINFO}/B`, { type: "symlink", target: "A" })]);
    expect(() => timezone({ nodes: loop }, { timezone: "A" })).toThrow(/too many levels/);
    expect(() => timezone({ nodes: new Map() }, { timezone: "Etc/UTC" })).toThrow(/no tzdata/);
  });
});
