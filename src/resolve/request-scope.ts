/**
 * Where a lock's scoped requests apply, in words: `why` and the SBOM show it beside each reason
 * chain that starts at such a request ("packages[2] → cpuid (requested for amd64 only)").
 */
import type { LockedRequest } from "../model/lock.js";
import { splitChain } from "./reason-chain.js";

/** The scoped request a chain starts at, if any. `pkg` is the package the chain explains. */
export function requestOfChain(requests: readonly LockedRequest[] | undefined, chain: string, pkg: string): LockedRequest | undefined {
  const { reason, packages } = splitChain(chain);
  // "packages[i]" is one request (its name may be virtual); a file set's chain names its package first, or is that package's.
  return (requests ?? []).find((r) => r.reason === reason && (reason.startsWith("packages[") || r.name === (packages[0] ?? pkg)));
}

/** "requested for amd64 only", "optional: skipped where missing", or both joined by "; ". */
export function describeScope(r: LockedRequest): string {
  const words: string[] = [];
  if (r.architectures) words.push(`requested for ${listWords(r.architectures)} only`);
  if (r.optional) words.push("optional: skipped where missing");
  return words.join("; ");
}

/** The chain as `why` and the SBOM print it: with its request's scope, when it has one. */
export function chainWithScope(requests: readonly LockedRequest[] | undefined, chain: string, pkg: string): string {
  const r = requestOfChain(requests, chain, pkg);
  return r ? `${chain} (${describeScope(r)})` : chain;
}

function listWords(xs: readonly string[]): string {
  return xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;
}
