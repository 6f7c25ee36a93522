/**
 * A package's reason chain as the resolver writes it into the lock: the request first, then the
 * packages its dependencies led through, "file set libc → libc6 → libgcc-s1". `lock` reads the
 * head (which file set asked); the SBOM reads the package steps (who depends on whom).
 */
export const CHAIN_ARROW = " → ";

export function joinChain(reason: string, packages: readonly string[]): string {
  return [reason, ...packages].join(CHAIN_ARROW);
}

export interface ReasonChain {
  /** What asked: "file set libc", "packages[0]", … */
  reason: string;
  /** The packages from the one the request named to the one the chain explains; empty when the request named it. */
  packages: string[];
}

export function splitChain(chain: string): ReasonChain {
  const [reason = "", ...packages] = chain.split(CHAIN_ARROW);
  return { reason, packages };
}
