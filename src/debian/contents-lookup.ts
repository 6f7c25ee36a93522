/**
 * Which packages ship given paths, answered in one streaming pass over (decompressed) Contents
 * indexes: only the asked paths are kept, so a whole main index (~150 MB plain) is read in the
 * memory of one chunk and one line. Under merged /usr (trixie lists usr/lib/x where bookworm
 * listed lib/x) a path is also looked up under its other spelling, and each hit says which
 * spelling the index listed.
 */
import { UsageError } from "../model/errors.js";
import { CONTENTS_LIMITS, isHeaderLine, isPreambleLine, lineTooLong, malformedContents, parseLocations, splitContentsLine } from "./contents.js";

/** One spelling of an asked path that an index lists, and the packages that ship it (sorted). */
export interface ContentsHit {
  /** Absolute, as the index spells it: the asked path or its merged-/usr alias. */
  path: string;
  packages: string[];
}

/** The top-level directories merged /usr turns into links to usr/<dir>. */
const MERGED_DIRS = ["bin", "sbin", "lib", "lib32", "lib64", "libx32", "libo32"];

/** The path's other spelling under merged /usr (/lib/x ↔ /usr/lib/x), if it has one. */
export function usrMergeAlias(path: string): string | undefined {
  const top = path.split("/", 3);
  if (MERGED_DIRS.includes(top[1]!) && top.length === 3) return "/usr" + path;
  const usr = path.split("/", 4);
  if (usr[1] === "usr" && MERGED_DIRS.includes(usr[2]!) && usr.length === 4) return path.slice(4);
  return undefined;
}

/** An absolute path with no trailing "/" and no empty, "." or ".." segment: what a Contents index can list. */
export function isNormalFilePath(path: string): boolean {
  return path.startsWith("/") && !path.endsWith("/") && !path.split("/").some((s, i) => i > 0 && (s === "" || s === "." || s === ".."));
}

interface Wanted {
  spelling: string;
  names: Set<string>;
}

/**
 * The asked paths, filled by scan()ning one or more Contents indexes (say Contents-amd64 and
 * Contents-all, whose answers are joined).
 */
export class ContentsQuery {
  /** By the index's spelling: UTF-8 bytes as latin1, without the leading "/". */
  private readonly wanted = new Map<string, Wanted>();
  private readonly asked: ReadonlyArray<readonly [path: string, spellings: string[]]>;

  constructor(paths: Iterable<string>) {
    const asked: Array<[string, string[]]> = [];
    for (const path of new Set(paths)) {
      if (!isNormalFilePath(path)) {
        throw new UsageError(`Contents lookup: ${JSON.stringify(path)} is not an absolute, normal file path`, { hint: 'ask for paths such as "/usr/lib/x86_64-linux-gnu/libc.so.6"' });
      }
      const alias = usrMergeAlias(path);
      const spellings = alias === undefined ? [path] : [path, alias];
      for (const s of spellings) {
        const key = Buffer.from(s.slice(1), "utf8").toString("latin1");
        if (!this.wanted.has(key)) this.wanted.set(key, { spelling: s, names: new Set() });
      }
      asked.push([path, spellings]);
    }
    this.asked = asked;
  }

  /** Reads one decompressed Contents index; `label` (its URL) is named in every error. */
  async scan(input: AsyncIterable<Uint8Array>, label: string): Promise<void> {
    let carry = "";
    let lineNo = 0;
    let state: "start" | "preamble" | "entries" = "start";
    const line = (text: string, start: number, end: number): void => {
      if (end > start && text.charCodeAt(end - 1) === 13) end--;
      if (state === "start") state = isPreambleLine(text, start, end) ? "preamble" : "entries";
      if (state === "preamble") {
        if (isHeaderLine(text.slice(start, end))) state = "entries";
        else if (lineNo >= CONTENTS_LIMITS.preambleLines) throw malformedContents(label, lineNo, `no "FILE LOCATION" header ends the preamble within ${CONTENTS_LIMITS.preambleLines} lines`);
        return;
      }
      const split = splitContentsLine(text, start, end);
      if (split === undefined) throw malformedContents(label, lineNo, `expected "PATH SECTION/PACKAGE[,…]", got ${JSON.stringify(text.slice(start, Math.min(end, start + 120)))}`);
      const hit = this.wanted.get(text.slice(start, split.pathEnd));
      // Locations are checked where they are kept: a line nobody asked for costs one slice.
      if (hit !== undefined) for (const name of parseLocations(text.slice(split.locStart, end), label, lineNo)) hit.names.add(Buffer.from(name).toString());
    };
    for await (const chunk of input) {
      const text = carry + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
      let pos = 0;
      for (let eol = text.indexOf("\n"); eol >= 0; eol = text.indexOf("\n", pos)) {
        lineNo++;
        line(text, pos, eol);
        pos = eol + 1;
      }
      carry = text.slice(pos);
      if (carry.length > CONTENTS_LIMITS.lineBytes) throw lineTooLong(label, lineNo + 1);
    }
    if (carry !== "") {
      lineNo++;
      line(carry, 0, carry.length);
    }
  }

  /** Each asked path → the spellings an index listed (the asked one first), empty when none. */
  answer(): Map<string, ContentsHit[]> {
    const out = new Map<string, ContentsHit[]>();
    for (const [path, spellings] of this.asked) {
      const hits: ContentsHit[] = [];
      for (const s of spellings) {
        const w = this.wanted.get(Buffer.from(s.slice(1), "utf8").toString("latin1"))!;
        if (w.names.size > 0) hits.push({ path: w.spelling, packages: [...w.names].sort() });
      }
      out.set(path, hits);
    }
    return out;
  }
}
