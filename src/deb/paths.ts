/** Normalisation and safety checks of member names in a .deb's tar archives. */

import { DebFormatError } from "./errors.js";

/**
 * "./a/b" → "/a/b", "./" → "/", "a//b/" → "/a/b", "./a/./b" → "/a/b". Refuses (DebFormatError
 * naming `label` and the member) names that are empty, contain NUL, are absolute or contain a
 * ".." segment: such a member could land outside the layer.
 */
export function normaliseMemberPath(name: string, label: string): string {
  if (name === "") throw new DebFormatError(label, '""', "a tar member has an empty name");
  if (name.includes("\0")) throw new DebFormatError(label, JSON.stringify(name), "a tar member name contains a NUL byte");
  if (name.startsWith("/")) {
    throw new DebFormatError(label, name, "absolute member path refused: .deb members must be relative (./usr/…)");
  }
  const segments = name.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) {
    throw new DebFormatError(label, name, 'member path with a ".." segment refused: it could escape the layer');
  }
  return "/" + segments.join("/");
}
