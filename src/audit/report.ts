/** The result of an audit: one line per check, failures with what differs. */
import { EXIT } from "../model/errors.js";

export type CheckStatus = "ok" | "fail" | "unavailable";

export interface AuditCheck {
  /** e.g. "release debian/bookworm", "package amd64/libc6", "layer amd64". */
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a failure, when the error that caused it says. */
  hint?: string;
  /** For a differing layer: the paths that differ and where they came from. */
  paths?: Array<{ path: string; difference: string; origin: string }>;
}

export interface AuditReport {
  ok: boolean;
  checks: AuditCheck[];
  summary: { total: number; failed: number; unavailable: number };
}

export function summarise(checks: AuditCheck[]): AuditReport {
  const failed = checks.filter((c) => c.status === "fail").length;
  const unavailable = checks.filter((c) => c.status === "unavailable").length;
  return { ok: failed === 0 && unavailable === 0, checks, summary: { total: checks.length, failed, unavailable } };
}

/** The exit code of an audit (DESIGN.md §2): 1 when a check failed; else 3 when one could not be made; else 0. */
export function auditExitCode(r: AuditReport): number {
  return r.summary.failed > 0 ? EXIT.checkFailed : r.summary.unavailable > 0 ? EXIT.network : EXIT.ok;
}

export function formatReport(r: AuditReport): string[] {
  const lines: string[] = [];
  for (const c of r.checks) {
    const tag = c.status === "ok" ? "ok  " : c.status === "fail" ? "FAIL" : "MISS";
    lines.push(`${tag} ${c.name}: ${c.detail}`);
    if (c.hint) lines.push(`       hint: ${c.hint}`);
    for (const p of c.paths ?? []) lines.push(`       ${p.path}: ${p.difference} (from ${p.origin})`);
  }
  lines.push(`${r.summary.total} checks: ${r.summary.total - r.summary.failed - r.summary.unavailable} ok, ${r.summary.failed} failed, ${r.summary.unavailable} could not be checked`);
  return lines;
}
