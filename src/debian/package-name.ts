/**
 * Debian's package name rule (policy §5.6.1, binary and source packages alike): lower-case
 * letters, digits, "+", "-" and ".", at least two characters, starting with a letter or digit.
 * The one rule for the manifest, the lock's schema, Packages indexes, relationships and
 * dpkg status entries.
 */

/** The rule as a regular expression body, for composing (e.g. "Source: name (version)"). */
export const PACKAGE_NAME_BODY = "[a-z0-9][a-z0-9+.-]+";
/** The rule as a JSON Schema pattern. */
export const PACKAGE_NAME_PATTERN = `^${PACKAGE_NAME_BODY}$`;
/** The rule in words, for error messages. */
export const PACKAGE_NAME_RULE = 'lower-case letters, digits, "+", "-" and ".", at least 2 characters';

const NAME = new RegExp(PACKAGE_NAME_PATTERN);

export function isPackageName(name: string): boolean {
  return NAME.test(name);
}
