/**
 * The clear-signed framing of an InRelease, read strictly and without openpgp: what a warm
 * `lock` needs to take the signed text of a release whose signature verdict it holds
 * (signature-verdicts.ts), and what the signature check compares openpgp's lenient reading with.
 */
import { VerificationError } from "../model/errors.js";

const HINT_FRAMING =
  "The file is not a single clear-signed message (truncated download, an error page, or tampering). Fetch it again, or try another mirror.";

export function framingError(label: string, detail: string, cause?: unknown): VerificationError {
  return new VerificationError(`${label}: not a valid clear-signed InRelease: ${detail}`, {
    hint: HINT_FRAMING,
    ...(cause !== undefined ? { cause } : {}),
  });
}

export function decodeUtf8(data: Uint8Array, label: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch (e) {
    throw new VerificationError(`${label}: the signed data is not valid UTF-8`, { hint: HINT_FRAMING, cause: e });
  }
}

const BEGIN_SIGNED = "-----BEGIN PGP SIGNED MESSAGE-----";
export const BEGIN_SIG = "-----BEGIN PGP SIGNATURE-----";
export const END_SIG = "-----END PGP SIGNATURE-----";

/** Trailing blanks as OpenPGP's cleartext framework drops them. */
export const stripTrailing = (line: string): string => line.replace(/[ \t\r]+$/, "");
export const isBlank = (line: string): boolean => /^\s*$/.test(line);

export interface Framed {
  /** The armored message alone, from its BEGIN line to its END line. */
  armored: string;
  /** The signed text as read by this parser, to compare with openpgp's reading. */
  text: string;
}

/**
 * Our own strict reading of the clear-signed framing, independent of openpgp's lenient one:
 * nothing but blank lines around one message, only "Hash:" armor headers, every body line that
 * starts with "-" dash-escaped (so a second BEGIN line inside the text is impossible), one
 * signature block. apt once parsed data outside the signed part; this closes that door.
 */
export function frameClearsigned(input: string, label: string): Framed {
  const lines = input.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const withoutEol = lines[i]!.endsWith("\r") ? lines[i]!.slice(0, -1) : lines[i]!;
    if (withoutEol.includes("\r")) throw framingError(label, `line ${i + 1} holds a bare carriage return`);
  }
  let i = 0;
  while (i < lines.length && isBlank(lines[i]!)) i++;
  if (i >= lines.length) throw framingError(label, "the file is empty");
  if (stripTrailing(lines[i]!) !== BEGIN_SIGNED) {
    throw framingError(label, `line ${i + 1}: expected "${BEGIN_SIGNED}" first, found other content`);
  }
  const begin = i++;
  // Armor headers: only "Hash:", then one blank line.
  for (;; i++) {
    if (i >= lines.length) throw framingError(label, "the armor headers never end");
    const line = stripTrailing(lines[i]!);
    if (line === "") break;
    if (!/^Hash: [A-Za-z0-9-]+(, ?[A-Za-z0-9-]+)*$/.test(line)) {
      throw framingError(label, `line ${i + 1}: unexpected armor header ${JSON.stringify(line.slice(0, 60))} (only "Hash:" is allowed)`);
    }
  }
  i++;
  const body: string[] = [];
  for (;; i++) {
    if (i >= lines.length) throw framingError(label, `no "${BEGIN_SIG}" line: the file is truncated`);
    const line = stripTrailing(lines[i]!);
    if (line === BEGIN_SIG) break;
    if (line.startsWith("- ")) body.push(line.slice(2));
    else if (line.startsWith("-")) {
      throw framingError(label, `line ${i + 1}: a line starting with "-" that is not dash-escaped (a second armor block?)`);
    } else body.push(line);
  }
  for (i++; ; i++) {
    if (i >= lines.length) throw framingError(label, `no "${END_SIG}" line: the file is truncated`);
    const line = stripTrailing(lines[i]!);
    if (line === END_SIG) break;
    if (line.startsWith("-")) throw framingError(label, `line ${i + 1}: unexpected armor line inside the signature block`);
  }
  const end = i;
  for (i++; i < lines.length; i++) {
    if (!isBlank(lines[i]!)) throw framingError(label, `line ${i + 1}: unexpected content after "${END_SIG}"`);
  }
  return {
    armored: lines.slice(begin, end + 1).join("\n") + "\n",
    text: body.map(stripTrailing).join("\n"),
  };
}
