/** Shared fixtures for the doctor tests: compiling real programs and asking binutils about them. */
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export function have(cmd: string): boolean {
  return spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
}

/** Compiles `source` with `compiler` into dir/name; undefined when the compiler or link fails (e.g. no libc.a). */
export function compile(compiler: string, dir: string, name: string, source: string, ext: string, flags: string[] = []): string | undefined {
  if (!have(compiler)) return undefined;
  const src = join(dir, `${name}.${ext}`);
  const out = join(dir, name);
  writeFileSync(src, source);
  const r = spawnSync(compiler, [src, "-o", out, ...flags], { stdio: "ignore" });
  return r.status === 0 ? out : undefined;
}

export interface ReadelfView {
  interpreter: string | undefined;
  needed: string[];
  rpath: string | undefined;
  runpath: string | undefined;
  classBits: 32 | 64;
  endian: "le" | "be";
}

/** What readelf (binutils), an independent ELF reader, says about the file. */
export function readelf(file: string): ReadelfView {
  const run = (flag: string): string => execFileSync("readelf", [flag, "-W", file], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  const header = run("-h");
  const programs = run("-l");
  const dynamic = run("-d");
  const interp = /\[Requesting program interpreter: ([^\]]+)\]/.exec(programs)?.[1];
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1] as string);
  const rpath = /\(RPATH\)\s+Library rpath: \[([^\]]*)\]/.exec(dynamic)?.[1];
  const runpath = /\(RUNPATH\)\s+Library runpath: \[([^\]]*)\]/.exec(dynamic)?.[1];
  return {
    interpreter: interp,
    needed,
    rpath,
    runpath,
    classBits: /Class:\s+ELF64/.test(header) ? 64 : 32,
    endian: /little endian/.test(header) ? "le" : "be",
  };
}

export const C_DYNAMIC = `#include <stdio.h>\nint main(void){puts("hello");return 0;}\n`;
export const C_STATIC_TLS = `#include <stdio.h>\nint main(void){puts("/etc/ssl/certs");return 0;}\n`;
export const CXX = `#include <iostream>\n#include <cmath>\nint main(int c,char**){std::cout<<std::sqrt((double)c)<<std::endl;return 0;}\n`;
