// The fixture archive of the layer tests: packages with every kind of data.tar entry (modes with
// setuid/setgid/sticky bits, owners, hard links, dangling and absolute symlinks, names and link
// targets over 100 bytes, UTF-8 names, empty files and dirs, docs) in data members compressed
// with xz, gzip, zstd and not at all; a user-defined file set that takes part of a package.
import { join } from "node:path";
import { buildArchive, FIXTURE_DATE, type FixtureArchive, type FixturePackage } from "../fixtures/archive.js";
import type { DebEntry } from "../fixtures/deb.js";
import { makeKey, type TestKey } from "../sources/pgp-helpers.js";
import { DEFAULT_EXCLUDE, WHOLE_PACKAGE } from "../../src/resolve/filesets.js";
import type { ProjectSpec } from "./helpers.js";

export const KEY_DATE = new Date(Date.UTC(2023, 5, 1));
export const ARCHES = ["amd64", "arm64"];

const file = (path: string, content: string | Uint8Array, mode = 0o644, extra: Partial<DebEntry> = {}): DebEntry => ({ path, type: "file", content, mode, ...extra });
const dir = (path: string, mode = 0o755, extra: Partial<DebEntry> = {}): DebEntry => ({ path, type: "dir", mode, ...extra });
const sym = (path: string, target: string): DebEntry => ({ path, type: "symlink", target });
const hard = (path: string, target: string): DebEntry => ({ path, type: "hardlink", target });

/** Deterministic bytes (a small LCG): binary content that spans several tar blocks. */
export function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export const LONG_DIR = "./usr/share/kinds/" + "d".repeat(70);
/** > 100 bytes but splittable into ustar prefix + name. */
export const LONG_SPLIT = `${LONG_DIR}/${"f".repeat(90)}`;
/** A basename over 100 bytes: only PAX can carry it. */
export const LONG_PAX = "./usr/share/kinds/" + "L".repeat(120);

function kinds(arch: string): DebEntry[] {
  return [
    dir("./etc/kinds/", 0o750, { gid: 4 }),
    file("./etc/kinds/secret", "s3cret\n", 0o600),
    file("./etc/kinds/readonly", "read only\n", 0o444),
    file("./etc/kinds/owned", "owned by 1000:1000\n", 0o640, { uid: 1000, gid: 1000 }),
    file("./usr/bin/tool", new Uint8Array([...new TextEncoder().encode(`tool for ${arch}\n`), ...noise(70_000, arch.length)]), 0o755),
    // sorts before its target: the layer must still carry the bytes before the link
    hard("./usr/bin/aaa-hard", "./usr/bin/tool"),
    file("./usr/bin/suid", "suid\n", 0o4755),
    file("./usr/bin/sgid", "sgid\n", 0o2755, { gid: 43 }),
    sym("./usr/bin/tool-sym", "tool"),
    sym("./usr/lib/kinds/abs-sym", "/usr/bin/tool"),
    sym("./usr/lib/kinds/dangling", "does-not-exist"),
    dir("./var/lib/kinds/", 0o2775, { gid: 50 }),
    file("./var/lib/kinds/empty", ""),
    dir("./var/lib/kinds/emptydir/", 0o700),
    dir("./var/lib/kinds/sticky/", 0o1777),
    file(LONG_SPLIT, "long split name\n"),
    file(LONG_PAX, "long pax name\n"),
    sym("./usr/share/kinds/longtarget", LONG_SPLIT.slice(1)),
    hard("./usr/share/kinds/" + "h".repeat(110), "./usr/bin/tool"),
    hard("./usr/share/kinds/short-hard", LONG_SPLIT),
    file("./usr/share/kinds/café ☕.txt", "utf-8 name\n"),
    file("./usr/share/kinds/with space", "space\n"),
    file("./usr/share/doc/kinds/copyright", "kinds copyright\n"),
    file("./usr/share/man/man1/tool.1.gz", noise(300, 7)),
  ];
}

const MAINTAINER = "Fixture Maintainers <fixture@test.invalid>";

function pkg(control: Record<string, string>, files: DebEntry[], dataCompression: FixturePackage["dataCompression"]): FixturePackage {
  return { control: { Maintainer: MAINTAINER, Description: `${control.Package} (fixture)`, ...control }, files, dataCompression, controlCompression: "gz" };
}

export function layerPackages(): FixturePackage[] {
  return [
    ...ARCHES.map((a) => pkg({ Package: "kinds", Version: "1.0-1", Architecture: a }, kinds(a), "xz")),
    pkg({ Package: "gzpkg", Version: "2:0.5", Architecture: "all" }, [file("./usr/lib/gz/a", "gz a\n"), hard("./usr/lib/gz/b", "./usr/lib/gz/a"), file("./usr/share/common/shared", "same\n")], "gz"),
    pkg({ Package: "zstpkg", Version: "3.1~rc1", Architecture: "all" }, [file("./usr/lib/zst/x", noise(5000, 3), 0o755), sym("./usr/lib/zst/link", "x"), file("./usr/share/common/shared", "same\n")], "zst"),
    pkg({ Package: "plainpkg", Version: "1", Architecture: "all" }, [file("./usr/lib/plain/x", "plain\n", 0o755), file("./usr/lib/plain/sub/y", "y\n")], "none"),
    pkg(
      { Package: "selpkg", Version: "0.1-2", Architecture: "all" },
      [
        file("./opt/sel/target", "hard link target outside the selection\n", 0o750),
        file("./usr/lib/sel/keep", "keep\n"),
        hard("./usr/lib/sel/link", "./opt/sel/target"),
        file("./usr/lib/sel/skip/dropped", "dropped\n"),
        file("./etc/sel.conf", "sel\n"),
        file("./etc/other.conf", "other\n"),
        file("./usr/share/doc/selpkg/copyright", "sel copyright\n"),
      ],
      "xz",
    ),
  ];
}

export const WHOLE = ["kinds", "gzpkg", "zstpkg", "plainpkg"];
export const SEL = { paths: ["/usr/lib/sel/**", "/etc/sel.conf"], exclude: ["/usr/lib/sel/skip/**"] };

export const PROJECT: ProjectSpec = {
  architectures: ARCHES,
  policy: "none",
  packages: WHOLE,
  fileSets: { sel: { packages: ["selpkg"], ...SEL } },
};

/**
 * The rules each package must be selected by, written from the contract (not read from the
 * lock), in set order: its copyright file ("copyright" is on by default), then its set's rule.
 */
export function expectedRules(name: string): Array<{ include: string[]; exclude: string[] }> {
  const copyright = { include: [`/usr/share/doc/${name}`, `/usr/share/doc/${name}/copyright`], exclude: [] };
  if (name === "selpkg") return [copyright, { include: SEL.paths, exclude: SEL.exclude }];
  return [copyright, { include: [...WHOLE_PACKAGE], exclude: [...DEFAULT_EXCLUDE] }];
}

export async function layerArchive(root: string, key?: TestKey): Promise<{ archive: FixtureArchive; key: TestKey; www: string }> {
  const k = key ?? (await makeKey({ type: "ecc", date: KEY_DATE, signingSubkey: true }));
  const www = join(root, "www");
  const archive = await buildArchive({
    root: www,
    architectures: ARCHES,
    packages: layerPackages(),
    signWith: [k],
    date: FIXTURE_DATE,
    signDate: new Date(FIXTURE_DATE.getTime() + 5 * 60_000),
  });
  return { archive, key: k, www };
}
