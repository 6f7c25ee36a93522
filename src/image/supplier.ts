/**
 * A Debian package's SPDX supplier, from its control stanza's Maintainer ("Name <email>",
 * Debian Policy §5.6.2). Always the Organization form: most Debian maintainers are teams or
 * lists ("Debian GCC Maintainers", "GNU Libc Maintainers"), the supplier is who distributes the
 * package (the Debian project, through that maintainer), and a person maintaining one package
 * does so for Debian rather than as a supplier of their own.
 */
import { field, parseDeb822 } from "../debian/deb822.js";

/** "Organization: NAME (EMAIL)", "Organization: NAME" without an address, or NOASSERTION without a Maintainer. */
export function supplierOf(controlText: string | undefined): string {
  const stanza = controlText === undefined ? undefined : parseDeb822(controlText)[0];
  const maintainer = stanza && field(stanza, "Maintainer");
  if (!maintainer) return "NOASSERTION";
  const m = /^(.*?)\s*<([^<>]*)>$/.exec(maintainer);
  const name = (m ? m[1]! : maintainer).trim();
  const email = m?.[2]!.trim();
  if (!name) return email ? `Organization: ${email} (${email})` : "NOASSERTION";
  return email ? `Organization: ${name} (${email})` : `Organization: ${name}`;
}
