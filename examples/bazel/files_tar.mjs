// A tar of files under one directory, the same bytes every build: sorted, root-owned, mtime 0,
// with the directory's parents. Node alone (no packages), so it needs only the declared node.
//   node files_tar.mjs OUT.tar /usr/local/bin 0755 NAME PATH [NAME PATH ...]
import { readFileSync, writeFileSync } from "node:fs";

const [out, dir, mode, ...pairs] = process.argv.slice(2);
if (!out || !dir?.startsWith("/") || !/^[0-7]{3,4}$/.test(mode ?? "") || pairs.length === 0 || pairs.length % 2 !== 0) {
  console.error("usage: files_tar.mjs OUT.tar /ABSOLUTE/DIR MODE NAME PATH [NAME PATH ...]");
  process.exit(2);
}

/** One ustar header block; names over 100 bytes are refused rather than split. */
function header(name, type, fileMode, size) {
  const h = Buffer.alloc(512);
  if (Buffer.byteLength(name) > 100) throw new Error(`files_tar.mjs: name over 100 bytes: ${name}`);
  const field = (offset, length, value) => h.write(value, offset, length, "utf8");
  const octal = (offset, length, n) => field(offset, length, n.toString(8).padStart(length - 1, "0") + "\0");
  field(0, 100, name);
  octal(100, 8, fileMode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  field(148, 8, "        ");
  field(156, 1, type);
  field(257, 8, "ustar\x0000");
  field(265, 32, "root");
  field(297, 32, "root");
  let sum = 0;
  for (const b of h) sum += b;
  field(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

const blocks = [];
const parts = dir.split("/").filter((p) => p !== "");
for (let i = 1; i <= parts.length; i++) blocks.push(header(parts.slice(0, i).join("/") + "/", "5", 0o755, 0));
const files = [];
for (let i = 0; i < pairs.length; i += 2) files.push({ name: pairs[i], path: pairs[i + 1] });
files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
for (const f of files) {
  const content = readFileSync(f.path);
  blocks.push(header([...parts, f.name].join("/"), "0", parseInt(mode, 8), content.length), content, Buffer.alloc((512 - (content.length % 512)) % 512));
}
blocks.push(Buffer.alloc(1024));
writeFileSync(out, Buffer.concat(blocks));
