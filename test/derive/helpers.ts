// Test helpers: LayerNodes from a directory tree (e.g. `dpkg-deb -x` output), .deb extraction,
// and a file-backed stand-in for debconf's confmodule so that Debian's own maintainer scripts
// can run unprivileged in a temp dir.
import { spawnSync } from "node:child_process";
import { lstatSync, mkdtempSync, rmSync, readFileSync, readdirSync, readlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LayerNode } from "../../src/model/layer.js";

const made: string[] = [];

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `scratch-derive-${prefix}-`));
  made.push(d);
  return d;
}

/** Remove every temp dir this test file made (call from afterAll). */
export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** dpkg-deb -x and -e of a .deb into a fresh temp dir: { root, control, version, name }. */
export function extractDeb(deb: string): { root: string; control: string; name: string; version: string } {
  const dir = tempDir("deb");
  const root = join(dir, "root");
  const control = join(dir, "control");
  run("dpkg-deb", ["-x", deb, root]);
  run("dpkg-deb", ["-e", deb, control]);
  const name = run("dpkg-deb", ["-f", deb, "Package"]).trim();
  const version = run("dpkg-deb", ["-f", deb, "Version"]).trim();
  return { root, control, name, version };
}

/** LayerNodes for every entry under `root` (as a layer rooted there), with package origins. */
export function nodesFromDir(
  root: string,
  origin: { package: string; version: string; architecture?: string },
  filter: (path: string) => boolean = () => true,
  /** Layer path the directory appears at ("" = the layer root). */
  mount = "",
): Map<string, LayerNode> {
  const nodes = new Map<string, LayerNode>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const r = rel === "" ? name : `${rel}/${name}`;
      const full = join(root, r);
      const st = lstatSync(full);
      const path = mount + "/" + r;
      const base = {
        path,
        mode: st.mode & 0o7777,
        uid: 0,
        gid: 0,
        origin: { kind: "package" as const, package: origin.package, version: origin.version, architecture: origin.architecture ?? "all", member: "." + mount + "/" + r },
      };
      if (st.isDirectory()) {
        if (filter(path)) nodes.set(path, { ...base, type: "dir" });
        walk(r);
      } else if (st.isSymbolicLink()) {
        if (filter(path)) nodes.set(path, { ...base, type: "symlink", target: readlinkSync(full) });
      } else if (st.isFile()) {
        if (filter(path)) nodes.set(path, { ...base, type: "file", content: new Uint8Array(readFileSync(full)) });
      }
    }
  };
  walk("");
  return nodes;
}

/**
 * A confmodule replacement: the db_* protocol functions backed by files, enough for
 * non-interactive runs (db_input always "skipped", like DEBIAN_FRONTEND=noninteractive).
 * Template defaults come from the package's templates file; `db_metaget Q choices` returns
 * the value substituted into a template whose Choices is "${var}".
 */
export function fakeDebconf(dir: string, templatesFile: string): { confmodule: string; env: Record<string, string> } {
  const state = join(dir, "debconf");
  mkdirSync(state, { recursive: true });
  const key = (q: string) => q.replace(/\//g, "_");
  let template: string | undefined;
  for (const line of readFileSync(templatesFile, "utf8").split("\n")) {
    const t = /^Template: (.+)$/.exec(line);
    if (t) template = t[1];
    const d = /^Default: (.*)$/.exec(line);
    if (d && template) writeFileSync(join(state, key(template) + ".default"), d[1]!);
    const c = /^Choices: \$\{(.+)\}$/.exec(line);
    if (c && template) writeFileSync(join(state, key(template) + ".choicesvar"), c[1]!);
  }
  const confmodule = join(dir, "fake-confmodule.sh");
  writeFileSync(
    confmodule,
    `_f() { printf '%s/%s' "$FAKE_DEBCONF_DIR" "$(printf '%s' "$1" | tr '/' '_')"; }
db_version() { RET=2.0; }
db_capb() { RET=; }
db_settitle() { :; }
db_title() { :; }
db_input() { RET="question skipped"; return 30; }
db_go() { :; }
db_stop() { :; }
db_get() { if [ -f "$(_f "$1").value" ]; then RET=$(cat "$(_f "$1").value"); elif [ -f "$(_f "$1").default" ]; then RET=$(cat "$(_f "$1").default"); else RET=; fi; }
db_set() { printf '%s' "$2" > "$(_f "$1").value"; }
db_fget() { if [ -f "$(_f "$1").flag.$2" ]; then RET=$(cat "$(_f "$1").flag.$2"); else RET=false; fi; }
db_fset() { printf '%s' "$3" > "$(_f "$1").flag.$2"; }
db_subst() { printf '%s' "$3" > "$(_f "$1").subst.$2"; }
db_metaget() { v=$(cat "$(_f "$1").choicesvar"); RET=$(cat "$(_f "$1").subst.$v" 2>/dev/null || true); }
`,
  );
  return { confmodule, env: { FAKE_DEBCONF_DIR: state } };
}

/** Snapshot of a directory's entries: files → bytes, symlinks → target (with `strip` removed). */
export function readTree(dir: string, strip = ""): Map<string, { type: "file"; content: Buffer } | { type: "symlink"; target: string }> {
  const out = new Map<string, { type: "file"; content: Buffer } | { type: "symlink"; target: string }>();
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) {
      const t = readlinkSync(full);
      out.set(name, { type: "symlink", target: strip !== "" && t.startsWith(strip) ? t.slice(strip.length) : t });
    } else if (st.isFile()) out.set(name, { type: "file", content: readFileSync(full) });
  }
  return out;
}
