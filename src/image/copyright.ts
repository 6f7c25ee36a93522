/**
 * A package's declared license, from its Debian copyright file when that file is
 * machine-readable (DEP-5, copyright-format 1.0): the License of the `Files: *` paragraph,
 * turned from Debian's short names into an SPDX license expression. Anything else
 * (free-form copyright, no `Files: *` paragraph, no file) declares nothing: NOASSERTION.
 */
import { field, parseDeb822, type Paragraph } from "../debian/deb822.js";

export interface DeclaredLicense {
  /** An SPDX license expression, or "NOASSERTION". */
  expression: string;
  /** The LicenseRef-… identifiers the expression uses, with the text to extract for each. */
  refs: ExtractedLicense[];
}

export interface ExtractedLicense {
  licenseId: string;
  name: string;
  extractedText: string;
}

export const NOASSERTION: DeclaredLicense = { expression: "NOASSERTION", refs: [] };

const FORMAT = /^https?:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/?$/;

/** The declared license of a copyright file's text (see the module comment). */
export function declaredLicense(text: string): DeclaredLicense {
  let paragraphs: Paragraph[];
  try {
    paragraphs = parseDeb822(text.replace(/\r\n/g, "\n"));
  } catch {
    return NOASSERTION; // not deb822 at all: a free-form copyright file
  }
  const header = paragraphs[0];
  const format = header ? field(header, "Format")?.trim() : undefined;
  if (!format || !FORMAT.test(format)) return NOASSERTION;
  const all = paragraphs.find((p) => (field(p, "Files") ?? "").split(/\s+/).includes("*"));
  const license = all ? field(all, "License") : undefined;
  const short = license?.split("\n")[0]?.trim();
  if (!short) return NOASSERTION;
  return toSpdxExpression(short, (name) => licenseText(paragraphs, all!, name));
}

/** A stand-alone License paragraph's text for `name`, or the Files: * paragraph's own body. */
function licenseText(paragraphs: Paragraph[], files: Paragraph, name: string): string | undefined {
  const body = (p: Paragraph): string | undefined => {
    const v = field(p, "License");
    if (v === undefined) return undefined;
    const nl = v.indexOf("\n");
    const text = nl < 0 ? "" : v.slice(nl + 1).replace(/^\.$/gm, "");
    return text.trim() ? text : undefined;
  };
  for (const p of paragraphs) {
    if (field(p, "Files") !== undefined) continue;
    if (field(p, "License")?.split("\n")[0]?.trim().toLowerCase() === name.toLowerCase()) {
      const t = body(p);
      if (t) return t;
    }
  }
  return body(files);
}

// Debian short names (copyright-format 1.0 §7.2 and common practice) → SPDX identifiers.
// Names with an "-only"/"-or-later" pair in SPDX take that form from the trailing "+".
const GNU: Record<string, string> = {
  "gpl-1": "GPL-1.0", "gpl-2": "GPL-2.0", "gpl-3": "GPL-3.0",
  "lgpl-2": "LGPL-2.0", "lgpl-2.0": "LGPL-2.0", "lgpl-2.1": "LGPL-2.1", "lgpl-3": "LGPL-3.0", "lgpl-3.0": "LGPL-3.0",
  "agpl-3": "AGPL-3.0", "agpl-3.0": "AGPL-3.0",
  "gfdl-1.1": "GFDL-1.1", "gfdl-1.2": "GFDL-1.2", "gfdl-1.3": "GFDL-1.3",
  "gpl-2.0": "GPL-2.0", "gpl-3.0": "GPL-3.0", "gpl-1.0": "GPL-1.0",
};
const PLAIN: Record<string, string> = {
  "apache-1.0": "Apache-1.0", "apache-1.1": "Apache-1.1", "apache-2.0": "Apache-2.0",
  "artistic": "Artistic-1.0", "artistic-1.0": "Artistic-1.0", "artistic-2.0": "Artistic-2.0",
  "bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause", "bsd-4-clause": "BSD-4-Clause",
  "cc0": "CC0-1.0", "cc0-1.0": "CC0-1.0", "cc-by-3.0": "CC-BY-3.0", "cc-by-4.0": "CC-BY-4.0", "cc-by-sa-3.0": "CC-BY-SA-3.0", "cc-by-sa-4.0": "CC-BY-SA-4.0",
  "expat": "MIT", "mit": "MIT", "isc": "ISC", "zlib": "Zlib", "bsl-1.0": "BSL-1.0", "boost-1.0": "BSL-1.0",
  "mpl-1.1": "MPL-1.1", "mpl-2.0": "MPL-2.0", "cddl-1.0": "CDDL-1.0", "epl-1.0": "EPL-1.0", "epl-2.0": "EPL-2.0",
  "openssl": "OpenSSL", "python-2.0": "Python-2.0", "psf-2": "PSF-2.0", "x11": "X11", "curl": "curl",
  "unicode-dfs-2016": "Unicode-DFS-2016", "ofl-1.1": "OFL-1.1", "w3c": "W3C", "zpl-2.1": "ZPL-2.1",
};

/** One Debian license name → an SPDX id (or a LicenseRef with its text). */
function licenseId(name: string, text: (name: string) => string | undefined, refs: Map<string, ExtractedLicense>): string {
  const orLater = name.endsWith("+");
  const bare = (orLater ? name.slice(0, -1) : name).toLowerCase();
  const gnu = GNU[bare];
  if (gnu) return `${gnu}-${orLater ? "or-later" : "only"}`;
  const plain = PLAIN[bare];
  if (plain) return orLater ? `${plain}+` : plain;
  if (bare === "perl") return "(Artistic-1.0-Perl OR GPL-1.0-or-later)";
  const id = `LicenseRef-${name.replace(/\+$/, "-or-later").replace(/[^A-Za-z0-9.-]+/g, "-")}`;
  if (!refs.has(id)) {
    refs.set(id, { licenseId: id, name, extractedText: text(name) ?? `The package's Debian copyright file names this license "${name}" without its text.` });
  }
  return id;
}

/**
 * A DEP-5 License short line ("GPL-2+ or Artistic", "BSD-3-clause and Expat", "A or B, and C")
 * → an SPDX expression. Commas split at a lower precedence than and/or (DEP-5 §7.2), so each
 * comma-separated part is parenthesised. "with … exception" has no reliable SPDX mapping, so
 * such a term becomes a LicenseRef as a whole.
 */
export function toSpdxExpression(short: string, text: (name: string) => string | undefined = () => undefined): DeclaredLicense {
  const refs = new Map<string, ExtractedLicense>();
  const parts = short.split(/\s*,\s*/).filter((p) => p !== "");
  let expr = "";
  for (const [i, part] of parts.entries()) {
    let tokens = part.split(/\s+/);
    let joiner = "AND";
    if (i > 0 && /^(and|or)$/i.test(tokens[0] ?? "")) {
      joiner = tokens[0]!.toUpperCase();
      tokens = tokens.slice(1);
    }
    let sub: string;
    if (tokens.some((t) => /^with$/i.test(t))) sub = licenseId(tokens.join(" "), text, refs);
    else {
      const out: string[] = [];
      for (const t of tokens) {
        if (/^(and|or)$/i.test(t)) out.push(t.toUpperCase());
        else out.push(licenseId(t, text, refs));
      }
      sub = out.join(" ");
    }
    if (!sub) continue;
    const wrapped = parts.length > 1 && sub.includes(" ") ? `(${sub})` : sub;
    expr = expr === "" ? wrapped : `${expr} ${joiner} ${wrapped}`;
  }
  if (!expr) return NOASSERTION;
  return { expression: expr, refs: [...refs.values()] };
}

/** The declared license of a package's copyright file (undefined: the package has none). */
export function copyrightLicense(copyright: Uint8Array | undefined): DeclaredLicense {
  return copyright === undefined ? NOASSERTION : declaredLicense(Buffer.from(copyright).toString("utf8"));
}
