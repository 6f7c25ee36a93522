/**
 * /etc/localtime and /etc/timezone as tzdata's postinst writes them:
 * `ln -nsf /usr/share/zoneinfo/$TIMEZONE /etc/localtime` (an absolute target) and
 * `echo "$TIMEZONE" > /etc/timezone`.
 */
import type { LayerNode } from "../model/layer.js";
import { UnknownTimezoneError } from "./errors.js";
import { InputSet, fileNode, finish, resolveFile, symlinkNode } from "./node.js";
import type { Derivation, DerivationInput } from "./types.js";
import { TZDATA_RECIPE } from "../model/builtin-file-sets.js";

export const TIMEZONE_RECIPE = TZDATA_RECIPE;
const TIMEZONE_VERSION = "1";
export const ZONEINFO = "/usr/share/zoneinfo";

export interface TimezoneOptions {
  /** A zone name relative to /usr/share/zoneinfo, e.g. "Etc/UTC", "Europe/Paris". */
  timezone: string;
}

/** "tzdata <version>" from whichever zoneinfo node came from the package, for messages. */
function tzdataVersion(nodes: ReadonlyMap<string, LayerNode>, hint: string | undefined): string {
  const probe = [hint, ZONEINFO, `${ZONEINFO}/Etc/UTC`, `${ZONEINFO}/UTC`].filter((p): p is string => p !== undefined);
  for (const p of probe) {
    const o = nodes.get(p)?.origin;
    if (o?.kind === "package") return `${o.package} ${o.version}`;
  }
  for (const n of nodes.values()) {
    if (n.path.startsWith(ZONEINFO + "/") && n.origin.kind === "package") return `${n.origin.package} ${n.origin.version}`;
  }
  return "this layer (it has no tzdata zoneinfo files)";
}

const TZIF = [0x54, 0x5a, 0x69, 0x66]; // "TZif"

export function timezone(input: DerivationInput, opts: TimezoneOptions): Derivation {
  const zone = opts.timezone;
  const components = zone.split("/");
  if (zone === "" || zone.startsWith("/") || components.some((c) => c === "" || c === "." || c === "..") || /[\s\\]/.test(zone)) {
    throw new UnknownTimezoneError(zone, tzdataVersion(input.nodes, undefined), "a zone is a relative name such as Europe/Paris, without empty, '.' or '..' parts or white space");
  }
  const path = `${ZONEINFO}/${zone}`;
  const r = resolveFile(input.nodes, path);
  if (!r.ok) throw new UnknownTimezoneError(zone, tzdataVersion(input.nodes, path), r.reason);
  if (!TZIF.every((b, i) => r.content[i] === b)) {
    throw new UnknownTimezoneError(zone, tzdataVersion(input.nodes, path), `${r.path} is not a TZif zone file`);
  }
  const inputs = new InputSet();
  for (const v of r.via) inputs.add(v.path, v.data);
  return finish(TIMEZONE_RECIPE, TIMEZONE_VERSION, { timezone: zone }, inputs, [
    symlinkNode("/etc/localtime", path),
    fileNode("/etc/timezone", zone + "\n"),
  ]);
}
