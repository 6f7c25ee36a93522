/**
 * JSON Schema (draft-07, ajv 8) of scratch.json. Shape only: rules that need more than one
 * field or a parser (unique source names, URLs, package versions, "at least one request") live
 * in validate.ts. Every object has additionalProperties:false so a misspelt key is an error.
 */
import type { AnySchemaObject } from "ajv";
import { PACKAGE_NAME_PATTERN, PACKAGE_NAME_RULE } from "../debian/package-name.js";

export const SOURCE_NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;
export const ARCH_RE = /^[a-z0-9][a-z0-9-]*$/;
export const SET_NAME_RE = /^[a-z0-9][a-z0-9-]*$/;
export const TIMEZONE_RE = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;
/** Suites and components: path-like words, every segment starting with a letter or digit (no ".."). */
export const DIST_WORD_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*(\/[A-Za-z0-9][A-Za-z0-9._+-]*)*$/;

const re = (r: RegExp): string => r.source;

const nonEmptyUniqueStrings = (item: AnySchemaObject): AnySchemaObject => ({
  type: "array",
  minItems: 1,
  uniqueItems: true,
  items: item,
});

const absGlob: AnySchemaObject = {
  type: "string",
  pattern: "^/",
  errorHint: 'use an absolute path glob starting with "/", e.g. "/usr/lib/*/libssl.so.*"',
};

const packageName: AnySchemaObject = {
  type: "string",
  pattern: PACKAGE_NAME_PATTERN,
  errorHint: `a Debian package name: ${PACKAGE_NAME_RULE}`,
};

const architecture: AnySchemaObject = {
  type: "string",
  pattern: re(ARCH_RE),
  errorHint: 'a Debian architecture name such as "amd64" or "arm64"',
};

const SCOPED_HINT = 'a package name, or an object such as {"name": "cpuid", "architectures": ["amd64"]} (with "optional": true to skip it where it is missing)';

/**
 * A package entry: a string as before, or an object scoping the request to some architectures
 * and/or making it optional. `extra` are the object's further keys (the top level's "version").
 */
const packageEntry = (plain: AnySchemaObject, name: AnySchemaObject, extra: Record<string, AnySchemaObject> = {}): AnySchemaObject => ({
  type: ["string", "object"],
  errorHint: SCOPED_HINT,
  if: { type: "string" },
  then: plain,
  else: {
    type: "object",
    additionalProperties: false,
    required: ["name"],
    properties: { name, ...extra, architectures: nonEmptyUniqueStrings(architecture), optional: { type: "boolean" } },
  },
});

const emptyBuiltin: AnySchemaObject = { type: "object", additionalProperties: false, properties: {} };

export const MANIFEST_SCHEMA: AnySchemaObject = {
  $schema: "http://json-schema.org/draft-07/schema#",
  type: "object",
  additionalProperties: false,
  required: ["sources", "architectures"],
  properties: {
    $schema: { type: "string" },
    sources: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "url", "suites", "keyring"],
        properties: {
          name: {
            type: "string",
            pattern: re(SOURCE_NAME_RE),
            errorHint: 'use lower-case letters, digits, ".", "_" and "-", starting with a letter or digit',
          },
          url: {
            type: "string",
            pattern: "^https?://[^\\s?#]+$",
            errorHint: 'use an http:// or https:// base URL without a query or fragment, e.g. "https://mirror.example/debian"',
          },
          suites: nonEmptyUniqueStrings({
            type: "string",
            pattern: re(DIST_WORD_RE),
            errorHint: 'a suite or codename such as "bookworm" or "bookworm-updates"',
          }),
          components: nonEmptyUniqueStrings({
            type: "string",
            pattern: re(DIST_WORD_RE),
            errorHint: 'an archive component such as "main" or "non-free-firmware"',
          }),
          keyring: { type: "string", minLength: 1 },
          allowExpired: { type: "boolean" },
        },
      },
    },
    architectures: nonEmptyUniqueStrings(architecture),
    policy: { type: "string", enum: ["none", "closure"] },
    fileSets: {
      type: "object",
      propertyNames: {
        type: "string",
        pattern: re(SET_NAME_RE),
        errorHint: 'file set names use lower-case letters, digits and "-", starting with a letter or digit',
      },
      properties: {
        // Selection rules call whole packages "packages"; a set of that name would be ambiguous.
        packages: { not: {}, errorHint: '"packages" is reserved for whole packages; give the file set another name' },
        // …and each package's copyright file "copyright".
        copyright: { not: {}, errorHint: '"copyright" is reserved for the packages\' copyright files (the top-level "copyright" switch); give the file set another name' },
        base: emptyBuiltin,
        "ca-certs": emptyBuiltin,
        libc: emptyBuiltin,
        tzdata: {
          type: "object",
          additionalProperties: false,
          properties: {
            timezone: {
              type: "string",
              pattern: re(TIMEZONE_RE),
              errorHint: 'a time zone name such as "UTC" or "Europe/Amsterdam"',
            },
          },
        },
      },
      // Any other name is a user-defined set.
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        // Without "packages", lock finds them through the archive's Contents index (exact paths only: validate.ts).
        required: ["paths"],
        properties: {
          packages: nonEmptyUniqueStrings(packageEntry(packageName, packageName)),
          paths: { type: "array", minItems: 1, items: absGlob },
          exclude: { type: "array", items: absGlob },
          architectures: nonEmptyUniqueStrings(architecture),
        },
      },
    },
    packages: {
      type: "array",
      items: packageEntry({ type: "string", minLength: 1 }, packageName, {
        version: { type: "string", minLength: 1, errorHint: 'an exact Debian version such as "1:1.2.13.dfsg-3"' },
      }),
    },
    dpkgStatus: { type: "boolean" },
    copyright: { type: "boolean" },
  },
};
