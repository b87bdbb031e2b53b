import "server-only";
import { processState } from "@/lib/process-state";
import { z } from "zod";
import { getConfig } from "@/lib/config/service";
import { nowIso } from "@/lib/db/timestamps";
import { getLogger, redact } from "@/lib/log/logger";
import { decodeCursor, pageQuery, toPage, type Page } from "@/lib/pagination";
import type { Principal } from "@/lib/auth/scopes";
import * as queries from "@/lib/audit/queries";
import type { AuditEntryDto } from "@/lib/audit/types";
import type { ApiWriteAction, AuditAction } from "@/lib/audit/actions";
import { DAY_MS } from "@/lib/time";

export interface AuditEntry {
  /** null for the product's own scheduled work, and for callers not (yet) identified */
  principal: Principal | null;
  /** for a caller not identified: who they claimed to be (the user name typed at sign-in) */
  actorName?: string;
  /** verb.noun from the closed list (lib/audit/actions.ts), or "METHOD /path" for an API write that names none */
  action: AuditAction | ApiWriteAction;
  target?: string | null;
  result: "ok" | "denied" | "failed";
  ip?: string | null;
  details?: Record<string, unknown>;
}

/** Old rows are deleted at most this often, from recordAudit itself, so no scheduler is needed for it. */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const memo = processState("auditPrune", (): { auditPrunedAt?: number } => ({}));

/**
 * Writes one audit row; details pass through the log redactor, so a secret field is never stored.
 * Once an hour it also deletes rows past audit.retention_days.
 */
export async function recordAudit(entry: AuditEntry): Promise<void> {
  await queries.insertAuditRow({
    at: nowIso(),
    actor: entry.principal?.name ?? entry.actorName?.slice(0, 128) ?? "system",
    actorType: entry.principal?.kind ?? (entry.actorName === undefined ? "system" : "anonymous"),
    action: entry.action,
    target: entry.target ?? null,
    result: entry.result,
    ip: entry.ip ?? null,
    details: entry.details ? JSON.stringify(redact(entry.details)) : null,
  });
  if (Date.now() - (memo.auditPrunedAt ?? 0) > PRUNE_INTERVAL_MS) {
    memo.auditPrunedAt = Date.now();
    await pruneAuditLog().catch((error) => getLogger().warn("audit log pruning failed", { error }));
  }
}

/** Deletes audit rows older than audit.retention_days; returns how many went. */
export async function pruneAuditLog(now = Date.now()): Promise<number> {
  const days = getConfig().values.audit.retention_days;
  return queries.deleteAuditRowsBefore(new Date(now - days * DAY_MS).toISOString());
}

export const listAuditQuery = pageQuery.extend({
  actor: z.string().max(128).optional(),
  action: z.string().max(128).optional(),
  result: z.enum(["ok", "denied", "failed"]).optional(),
});
export type ListAuditQuery = z.infer<typeof listAuditQuery>;

const auditCursor = z.object({ id: z.number().int() });

/** The audit log newest first, paged, optionally filtered by actor, action prefix and result. Reads only. */
export async function listAuditLog(query: ListAuditQuery): Promise<Page<AuditEntryDto>> {
  const after = decodeCursor(query.cursor, auditCursor);
  const rows = await queries.listAuditRows(query.limit, after?.id ?? null, query);
  const page = toPage(rows, query.limit, (row) => ({ id: row.id }));
  return { items: page.items.map(queries.toAuditEntryDto), next_cursor: page.next_cursor };
}
