#!/usr/bin/env node
// Build step (after tsc): write the fingerprint of the compiled program's code (the memo key
// part of src/lock/code-fingerprint.ts) into DIST/generated/code-fingerprint.txt, so that a
// warm run reads it instead of hashing every module. Hashed by the same compiled function a
// run without the file uses, so both give the same value.
// Usage: node scripts/fingerprint-code.mjs [DIST] (default: this repository's dist/).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "..", "dist"));
const { fingerprintFileText, FINGERPRINT_FILE } = await import(pathToFileURL(join(dist, "lock/code-fingerprint.js")).href);
const out = join(dist, FINGERPRINT_FILE);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, fingerprintFileText(dist));
console.log(`fingerprinted the code of ${dist} into ${out}`);
