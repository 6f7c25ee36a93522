// Hand-made tar headers, for entries no well-behaved tar writer produces (empty names, NUL in
// a pax path, sparse or unknown types, GNU long names leading out of the archive).

const enc = new TextEncoder();

export interface RawEntry {
  name: string;
  /** Typeflag character: "0" file, "1" hard link, "2" symlink, "3" char, "4" block, "5" dir, "6" fifo, "S" sparse, "x" pax, "L" GNU long name, … */
  typeflag: string;
  linkname?: string;
  mode?: number;
  data?: Uint8Array | string;
  /** "ustar" (POSIX) or "gnu" magic. */
  magic?: "ustar" | "gnu";
}

function put(buf: Uint8Array, offset: number, width: number, text: string): void {
  const b = enc.encode(text);
  if (b.length > width) throw new Error(`raw tar field "${text}" exceeds ${width} bytes`);
  buf.set(b, offset);
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

export function rawHeader(e: RawEntry, size: number): Uint8Array {
  const h = new Uint8Array(512);
  put(h, 0, 100, e.name);
  put(h, 100, 8, octal(e.mode ?? 0o644, 8));
  put(h, 108, 8, octal(0, 8));
  put(h, 116, 8, octal(0, 8));
  put(h, 124, 12, octal(size, 12));
  put(h, 136, 12, octal(1704164645, 12));
  put(h, 148, 8, "        ");
  put(h, 156, 1, e.typeflag);
  put(h, 157, 100, e.linkname ?? "");
  if (e.magic === "gnu") put(h, 257, 8, "ustar  \0");
  else put(h, 257, 8, "ustar\u000000");
  let sum = 0;
  for (const byte of h) sum += byte;
  put(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** A tar of the entries (data padded to 512) and the two zero blocks that end it. */
export function rawTar(entries: RawEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === "string" ? enc.encode(e.data) : (e.data ?? new Uint8Array(0));
    parts.push(rawHeader(e, data.length), data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The body of a pax extended header: "len key=value\n" records. */
export function paxRecords(records: Record<string, string>): Uint8Array {
  let out = "";
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = enc.encode(body).length + 1;
    while (String(len).length + enc.encode(body).length !== len) len++;
    out += `${len}${body}`;
  }
  return enc.encode(out);
}
