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

/** The names an image's /etc/passwd and /etc/group define; undefined when the image has neither. */
export interface Accounts {
  users: ReadonlySet<string>;
  groups: ReadonlySet<string>;
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
export function checkImageUser(value: string, accounts: Accounts | undefined | "not yet"): void {
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
    const known = accounts === undefined ? undefined : i === 0 ? accounts.users : accounts.groups;
    if (known === undefined) throw bad(`${what} name ${JSON.stringify(part)}, but the image has no /etc/${i === 0 ? "passwd" : "group"} of the base set to look it up in`, "give a numeric uid[:gid], or add the base file set to the manifest");
    if (!known.has(part)) throw bad(`no ${what} ${JSON.stringify(part)} in the image's /etc/${i === 0 ? "passwd" : "group"} (it has ${[...known].join(", ")})`, "give one of those names, or a numeric uid[:gid]");
  }
}
