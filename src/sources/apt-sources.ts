/**
 * apt's source lists, read only to learn which mirror a host already uses for which suites
 * (`--apt-sources`). Both formats: deb822 `.sources` files and one-line `sources.list` files.
 * Only binary ("deb") entries with http(s) URIs matter; everything else is skipped.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { FormatError, UsageError } from "../model/errors.js";
import { field, parseDeb822 } from "../debian/deb822.js";
import { NotRegularFileError, readRegularFile } from "../util/regular-file.js";

export interface AptSourceEntry {
  /** http(s) base URIs without a trailing slash, in file order. */
  uris: string[];
  suites: string[];
  /** Empty for an exact-path suite ("suite/"). */
  components: string[];
  /** The file the entry came from. */
  file: string;
  /** 1-based line where the entry (line or paragraph) starts. */
  line: number;
}

function httpOnly(uris: readonly string[]): string[] {
  return uris.filter((u) => /^https?:\/\//i.test(u)).map((u) => u.replace(/\/+$/, ""));
}

/** apt's boolean words for Enabled: ("no", "false", "off", "0", …). */
function isDisabled(v: string | undefined): boolean {
  return v !== undefined && ["no", "false", "off", "0", "disable", "without"].includes(v.trim().toLowerCase());
}

const words = (v: string | undefined): string[] => (v ?? "").split(/\s+/).filter((w) => w !== "");

function parseDeb822Sources(text: string, file: string): AptSourceEntry[] {
  let paragraphs;
  try {
    paragraphs = parseDeb822(text, { comments: true });
  } catch (e) {
    if (e instanceof FormatError) throw e.asInputError(file, "argument", "fix the apt sources file or pass another one with --apt-sources FILE");
    throw e;
  }
  const out: AptSourceEntry[] = [];
  for (const p of paragraphs) {
    const where = `${file}:${p.line}`;
    if (isDisabled(field(p, "Enabled"))) continue;
    const types = words(field(p, "Types"));
    if (types.length === 0) throw new UsageError(`${where}: the entry has no "Types:" field`, { hint: 'add "Types: deb" or disable it with "Enabled: no"' });
    if (!types.includes("deb")) continue;
    const uris = words(field(p, "URIs"));
    const suites = words(field(p, "Suites"));
    if (uris.length === 0) throw new UsageError(`${where}: the entry has no "URIs:" field`, { hint: "add the archive's URI or disable the entry" });
    if (suites.length === 0) throw new UsageError(`${where}: the entry has no "Suites:" field`, { hint: "add the suites or disable the entry" });
    const components = words(field(p, "Components"));
    const exact = suites.some((s) => s.endsWith("/"));
    if (!exact && components.length === 0) throw new UsageError(`${where}: the entry has no "Components:" field`, { hint: 'add e.g. "Components: main"' });
    const kept = httpOnly(uris);
    if (kept.length === 0) continue;
    out.push({ uris: kept, suites, components: exact ? [] : components, file, line: p.line });
  }
  return out;
}

function parseOneLine(text: string, file: string): AptSourceEntry[] {
  const out: AptSourceEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const where = `${file}:${i + 1}`;
    const hash = lines[i]!.indexOf("#");
    const line = (hash >= 0 ? lines[i]!.slice(0, hash) : lines[i]!).trim();
    if (line === "") continue;
    const m = /^(\S+)\s*(.*)$/.exec(line)!;
    const type = m[1]!;
    let rest = m[2]!;
    if (type !== "deb" && type !== "deb-src") throw new UsageError(`${where}: unknown entry type ${JSON.stringify(type)}; expected "deb" or "deb-src"`, { hint: "fix the line or comment it out with #" });
    if (rest.startsWith("[")) {
      const close = rest.indexOf("]");
      if (close < 0) throw new UsageError(`${where}: options start with "[" but have no closing "]"`, { hint: "close the option list, e.g. [arch=amd64]" });
      rest = rest.slice(close + 1);
    }
    if (type === "deb-src") continue;
    const [uri, suite, ...components] = words(rest);
    if (uri === undefined) throw new UsageError(`${where}: missing URI`, { hint: "expected: deb [options] URI SUITE COMPONENT..." });
    if (suite === undefined) throw new UsageError(`${where}: missing suite after ${JSON.stringify(uri)}`, { hint: "expected: deb [options] URI SUITE COMPONENT..." });
    const exact = suite.endsWith("/");
    if (!exact && components.length === 0) throw new UsageError(`${where}: missing component after suite ${JSON.stringify(suite)}`, { hint: "expected: deb [options] URI SUITE COMPONENT..., e.g. main" });
    const kept = httpOnly([uri]);
    if (kept.length === 0) continue;
    out.push({ uris: kept, suites: [suite], components: exact ? [] : components, file, line: i + 1 });
  }
  return out;
}

/** Parse one file's text; the format follows the name (".sources" = deb822, else one-line). */
export function parseAptSources(text: string, file: string): AptSourceEntry[] {
  return file.endsWith(".sources") ? parseDeb822Sources(text, file) : parseOneLine(text, file);
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return (await readRegularFile(file)).toString("utf8");
  } catch (e) {
    if (e instanceof NotRegularFileError) throw new UsageError(e.message, { hint: "pass an apt .sources or sources.list file with --apt-sources FILE", cause: e });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new UsageError(`${file}: cannot read: ${(e as Error).message}`, { hint: "pass a readable file with --apt-sources FILE", cause: e });
  }
}

/**
 * A given file, or the machine's own lists: `<etcApt>/sources.list`, then
 * `<etcApt>/sources.list.d/*.list` and `*.sources` in sorted name order (as apt reads them).
 * Missing system files are fine; a missing file the user named is an error.
 */
export async function readAptSources(file?: string, etcApt = "/etc/apt"): Promise<AptSourceEntry[]> {
  if (file !== undefined) {
    const text = await readOptional(file);
    if (text === undefined) throw new UsageError(`${file}: no such file`, { hint: "pass an apt .sources or sources.list file to --apt-sources, or none to use this machine's" });
    return parseAptSources(text, file);
  }
  const files = [path.join(etcApt, "sources.list")];
  let names: string[] = [];
  try {
    names = await readdir(path.join(etcApt, "sources.list.d"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw new UsageError(`${path.join(etcApt, "sources.list.d")}: cannot list: ${(e as Error).message}`, { cause: e });
  }
  // Byte order, not locale order, so the result is the same on every machine.
  names = names.filter((n) => n.endsWith(".list") || n.endsWith(".sources")).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  files.push(...names.map((n) => path.join(etcApt, "sources.list.d", n)));
  const out: AptSourceEntry[] = [];
  for (const f of files) {
    const text = await readOptional(f);
    if (text !== undefined) out.push(...parseAptSources(text, f));
  }
  return out;
}
