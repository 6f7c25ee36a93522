/**
 * JSON Schema (draft-07, ajv 8) of scratch.lock as src/model/lock.ts defines it. `closed`
 * rejects unknown keys (a lock of a version this build knows); an open schema lets a newer
 * minor version's optional fields through, as the format promises.
 */
import type { AnySchemaObject } from "ajv";
import { PACKAGE_NAME_PATTERN } from "../debian/package-name.js";

const SHA256 = { type: "string", pattern: "^[0-9a-f]{64}$", errorHint: "a sha256 digest: 64 lower-case hex digits" };
const SIZE = { type: "integer", minimum: 0 };
const NAME = { type: "string", pattern: PACKAGE_NAME_PATTERN, errorHint: "a Debian package name" };
const ARCH = { type: "string", pattern: "^[a-z0-9][a-z0-9-]*$", errorHint: 'a Debian architecture name such as "amd64" or "all"' };
const URL_ = { type: "string", pattern: "^https?://\\S+$", errorHint: "an http(s) URL" };
const GLOB = { type: "string", pattern: "^/", errorHint: 'an absolute path glob starting with "/"' };
const TEXT = { type: "string", minLength: 1 };
const DIST_PATH = { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._+-]*(/[A-Za-z0-9][A-Za-z0-9._+-]*)*$", errorHint: "a relative path without '..'" };

export function lockfileSchema(closed: boolean): AnySchemaObject {
  const obj = (required: string[], properties: Record<string, unknown>): AnySchemaObject => ({
    type: "object",
    additionalProperties: !closed,
    required,
    properties,
  });
  const contentRef = obj(["sha256", "size"], { sha256: SHA256, size: SIZE });
  const fileRef = obj(["path", "sha256", "size"], { path: DIST_PATH, sha256: SHA256, size: SIZE });
  const release = obj(["path", "sha256", "size"], { path: DIST_PATH, sha256: SHA256, size: SIZE, signature: fileRef });
  const index = obj(["component", "architecture", "path", "sha256", "size"], {
    component: DIST_PATH,
    architecture: ARCH,
    path: DIST_PATH,
    sha256: SHA256,
    size: SIZE,
  });
  const suite = obj(["suite", "release", "date", "validUntil", "signedBy", "indexes"], {
    suite: DIST_PATH,
    release,
    date: TEXT,
    validUntil: { type: ["string", "null"] },
    signedBy: { type: "string", pattern: "^([0-9A-F]{40}|[0-9A-F]{64})$", errorHint: "an OpenPGP fingerprint in upper-case hex (40 or 64 digits)" },
    indexes: { type: "array", items: index },
    contents: { type: "array", items: index },
  });
  const source = obj(["name", "url", "suites"], {
    name: { type: "string", pattern: "^[a-z0-9][a-z0-9._-]*$", errorHint: "a manifest source name" },
    url: URL_,
    suites: { type: "array", minItems: 1, items: suite },
  });
  const rule = obj(["set", "include", "exclude"], {
    set: TEXT,
    include: { type: "array", items: GLOB },
    exclude: { type: "array", items: GLOB },
  });
  const pkg = obj(["name", "version", "architecture", "source", "suite", "component", "url", "size", "sha256", "reasons", "select"], {
    name: NAME,
    version: TEXT,
    architecture: ARCH,
    source: TEXT,
    suite: DIST_PATH,
    component: DIST_PATH,
    url: URL_,
    size: SIZE,
    sha256: SHA256,
    reasons: { type: "array", items: TEXT },
    select: { type: "array", items: rule },
    decoded: obj(["control.tar", "data.tar"], { "control.tar": contentRef, "data.tar": contentRef }),
  });
  const ABS = { type: "string", pattern: "^/", errorHint: 'an absolute layer path starting with "/"' };
  const DIGEST = { type: "string", pattern: "^sha256:[0-9a-f]{64}$", errorHint: 'an OCI digest "sha256:<64 hex digits>"' };
  const SCALAR = { type: ["string", "number", "boolean"] };
  const derivation = obj(["recipe", "version", "options", "inputs", "outputs"], {
    recipe: TEXT,
    version: TEXT,
    options: { type: "object", additionalProperties: SCALAR },
    inputs: { type: "array", items: obj(["path", "sha256"], { path: TEXT, sha256: SHA256 }) },
    outputs: {
      type: "array",
      items: obj(["path", "type", "mode", "uid", "gid", "sha256"], {
        path: ABS,
        type: { enum: ["file", "dir", "symlink"] },
        mode: { type: "string", pattern: "^[0-7]{4}$", errorHint: 'a 4-digit octal mode such as "0644" or "1777"' },
        uid: SIZE,
        gid: SIZE,
        sha256: SHA256,
      }),
    },
  });
  const layer = obj(["diffId", "size", "provenance", "compressed"], {
    diffId: DIGEST,
    size: SIZE,
    provenance: obj(["path", "sha256", "entries"], { path: ABS, sha256: SHA256, entries: SIZE }),
    compressed: {
      type: "object",
      additionalProperties: obj(["digest", "size", "settings"], {
        digest: DIGEST,
        size: SIZE,
        settings: { type: "object", required: ["compressor", "level"], properties: { compressor: TEXT, level: { type: "number" } }, additionalProperties: SCALAR },
      }),
    },
  });
  const arch = obj(["packages", "skipped", "derivations", "layer"], {
    packages: { type: "array", items: pkg },
    skipped: { type: "array", items: obj(["name", "reason"], { name: TEXT, reason: TEXT }) },
    derivations: { type: "array", items: derivation },
    layer,
    paths: { type: "array", items: obj(["set", "path", "listed", "package"], { set: TEXT, path: ABS, listed: ABS, package: NAME }) },
  });
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    ...obj(["lockfileVersion", "manifest", "sourceDateEpoch", "policy", "sources", "architectures"], {
      lockfileVersion: { type: "string" },
      manifest: obj(["file", "sha256"], { file: TEXT, sha256: SHA256 }),
      sourceDateEpoch: SIZE,
      policy: { type: "string", enum: ["none", "closure"] },
      sources: { type: "array", items: source },
      architectures: { type: "object", propertyNames: ARCH, additionalProperties: arch },
      requests: {
        type: "array",
        items: obj(["reason", "name"], { reason: TEXT, name: NAME, architectures: { type: "array", minItems: 1, items: ARCH }, optional: { const: true } }),
      },
    }),
  };
}
