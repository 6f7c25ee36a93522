/**
 * `image --user`: `uid[:gid]` (numbers) or names from the image's /etc/passwd and /etc/group.
 * A value the runtime cannot resolve would only fail when the container starts, so it is
 * refused when the image is built.
 */
import { UsageError } from "../model/errors.js";

/** runc and Docker take ids 0 … 2^31-1. */
export const MAX_USER_ID = 2 ** 31 - 1;

const NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;
const NUMBER = /^[0-9]+$/;

/**
 * What the image's /etc/passwd or /etc/group is, as far as the build can know it: the names it
 * defines and which layer's file it is (`from`: an --add tar; absent: the base set), or why its
 * names cannot be read (it is a link or another kind of node there).
 */
export type AccountFile = { names: ReadonlySet<string>; from?: string } | { unreadable: string };

/** The image's account files; undefined where the image has none. */
export interface Accounts {
  users: AccountFile | undefined;
  groups: AccountFile | undefined;
}

/** What an added layer puts at /etc/passwd and /etc/group: its text, null for a node whose text is unknown (a link, a directory), absent when it leaves the path alone. */
export interface LayerAccountFiles {
  from: string;
  passwd?: string | null;
  group?: string | null;
}

/** The accounts of the image: the lowest layers' (the base set's), each added layer's files replacing them where it has one. */
export function accountsOver(base: Accounts, layers: readonly LayerAccountFiles[]): Accounts {
  let { users, groups } = base;
  const file = (text: string | null, path: string, from: string): AccountFile =>
    text === null ? { unreadable: `${path} in ${from} is not a regular file` } : { names: accountNames(text), from };
  for (const l of layers) {
    if (l.passwd !== undefined) users = file(l.passwd, "/etc/passwd", l.from);
    if (l.group !== undefined) groups = file(l.group, "/etc/group", l.from);
  }
  return { users, groups };
}

/** The account names of passwd(5) / group(5) text. */
export function accountNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const name = line.split(":", 1)[0]!;
    if (name !== "" && !name.startsWith("#")) names.add(name);
  }
  return names;
}

/**
 * Throws a UsageError naming --user and the value unless `value` is "" (no user), or
 * `user[:group]` with each part an id in range or a name `accounts` define ("not yet": names
 * are only checked for their form, before the image's accounts are known).
 */
export function checkImageUser(value: string, accounts: Accounts | "not yet"): void {
  if (value === "") return;
  const parts = value.split(":");
  const bad = (detail: string, hint: string): UsageError => new UsageError(`--user ${JSON.stringify(value)}: ${detail}`, { hint });
  if (parts.length > 2) throw bad("expected user or user:group", "e.g. --user 65532:65532 or --user nonroot");
  for (const [i, part] of parts.entries()) {
    const what = i === 0 ? "user" : "group";
    if (NUMBER.test(part)) {
      if (part.length > 10 || Number(part) > MAX_USER_ID) throw bad(`${what} id ${part} is out of range (0 to ${MAX_USER_ID})`, "give an id a container runtime accepts");
      continue;
    }
    if (!NAME.test(part)) throw bad(`${JSON.stringify(part)} is neither a numeric ${what} id nor a ${what} name`, "give uid[:gid] as numbers, or names from the image's /etc/passwd and /etc/group");
    if (accounts === "not yet") continue;
    const path = i === 0 ? "/etc/passwd" : "/etc/group";
    const known = i === 0 ? accounts.users : accounts.groups;
    if (known === undefined) throw bad(`${what} name ${JSON.stringify(part)}, but the image has no ${path} to look it up in`, "give a numeric uid[:gid], add the base file set to the manifest, or add a tar with the file");
    if ("unreadable" in known) throw bad(`${what} name ${JSON.stringify(part)}, but ${known.unreadable}, so its names cannot be checked`, "give a numeric uid[:gid], or ship the file as a regular file");
    if (!known.names.has(part)) {
      const from = known.from !== undefined ? `from ${known.from}; ` : "";
      throw bad(`no ${what} ${JSON.stringify(part)} in the image's ${path} (${from}it has ${[...known.names].join(", ")})`, "give one of those names, or a numeric uid[:gid]");
    }
  }
}
