/**
 * Verdicts of release signature checks, kept so that a warm `lock` need not load openpgp: a
 * check of the same release bytes against the same keyring bytes, with the same rules and code,
 * gives the same verdict at every instant until the first one at which a signature, key or
 * binding begins or ends being in effect (signature.ts, stableUntil). So the verdict is kept with
 * the instant it was judged at and that bound, and reused only for a `now` between the two;
 * anything else (a clock set back, an expiry or a revocation date reached) checks again, and that
 * check gives the error. Valid-Until and the suite are judged from the signed text on every run.
 * A verdict is a derived entry (derived-refs.ts): a ref without this user's MAC is a miss.
 */
import type { DerivedRefs } from "../fetch/derived-refs.js";
import { canonicalJson } from "../util/canonical-json.js";

/** What a release's signature check is a function of, besides the time. */
export interface VerdictInputs {
  /** sha256 of the InRelease, or of the Release. */
  release: string;
  /** sha256 of the detached Release.gpg; null for an InRelease. */
  signature: string | null;
  /** sha256 of the keyring file. */
  keyring: string;
  keyValidity: "at" | "signature-time";
}

export interface SignatureVerdict {
  fingerprint: string;
  signingKeyId: string;
  /** The instant judged at, whole seconds since 1970 (openpgp's resolution). */
  judgedAt: number;
  /** The verdict holds before this instant (whole seconds); null: no later instant matters. */
  stableUntil: number | null;
}

/** Where verdicts are kept; ResolutionMemo is one (its key names the program's code too). */
export interface VerdictStore {
  readonly refs: DerivedRefs;
  key(parts: unknown, kind: string): string;
}

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);

/** Whether a verdict judged earlier is the one a check at `now` would give. */
export function verdictHolds(v: SignatureVerdict, now: Date): boolean {
  const t = seconds(now);
  return v.judgedAt <= t && (v.stableUntil === null || t < v.stableUntil);
}

export class SignatureVerdicts {
  constructor(private readonly store: VerdictStore) {}

  name(inputs: VerdictInputs): string {
    return this.store.key({ verdict: 1, ...inputs }, "signature");
  }

  /** The verdict kept under `name` if it holds at `now`. */
  async get(name: string, now: Date): Promise<SignatureVerdict | undefined> {
    const hit = await this.store.refs.get(name);
    if (!hit) return undefined;
    let v: SignatureVerdict;
    try {
      v = JSON.parse(hit.bytes.toString("utf8")) as SignatureVerdict;
    } catch {
      return undefined;
    }
    const wellFormed =
      typeof v.fingerprint === "string" && typeof v.signingKeyId === "string" && Number.isSafeInteger(v.judgedAt) && (v.stableUntil === null || Number.isSafeInteger(v.stableUntil));
    return wellFormed && verdictHolds(v, now) ? v : undefined;
  }

  /** Keep the verdict of a check at `at` (nothing when it holds for no time at all). */
  async set(name: string, accepted: { fingerprint: string; signingKeyId: string; stableUntil: Date | null }, at: Date): Promise<void> {
    const v: SignatureVerdict = { fingerprint: accepted.fingerprint, signingKeyId: accepted.signingKeyId, judgedAt: seconds(at), stableUntil: accepted.stableUntil && seconds(accepted.stableUntil) };
    if (v.stableUntil !== null && v.stableUntil <= v.judgedAt) return;
    await this.store.refs.set(name, canonicalJson(v));
  }
}
