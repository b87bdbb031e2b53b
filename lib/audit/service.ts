import "server-only";
import { processState } from "@/lib/process-state";
import { z } from "zod";
import { getConfig } from "@/lib/config/service";
import { nowIso } from "@/lib/db/timestamps";
import { getLogger, redact } from "@/lib/log/logger";
import { decodeCursor, pageQuery, toPage, type Page } from "@/lib/pagination";
import type { Principal } from "@/lib/auth/scopes";
import { normalizeAddress } from "@/lib/client-address";
import { auditIsQuiet, currentActor } from "@/lib/audit/context";
import * as queries from "@/lib/audit/queries";
import type { auditLog } from "@/lib/db/schema/audit";
import type { AuditEntryDto } from "@/lib/audit/types";
import type { ApiWriteAction, AuditAction } from "@/lib/audit/actions";
import { DAY_MS } from "@/lib/time";
import { writesRefusedHere } from "@/lib/db/write-freeze";

export interface AuditEntry {
  /**
   * Who acted; null means the caller of the request or operation running now (lib/audit/context), and
   * the system (scheduled work) outside one.
   */
  principal: Principal | null;
  /** for a refused caller not identified: the account they tried, when it exists (never free text typed by a stranger) */
  actorName?: string;
  /** verb.noun from the closed list (lib/audit/actions.ts), or "METHOD /path" for an API write that names none */
  action: AuditAction | ApiWriteAction;
  target?: string | null;
  result: "ok" | "denied" | "failed";
  ip?: string | null;
  details?: Record<string, unknown>;
}

type AuditRowInsert = typeof auditLog.$inferInsert;

/** Old rows are deleted at most this often, from recordAudit itself, so no scheduler is needed for it. */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const memo = processState("auditPrune", (): { auditPrunedAt?: number } => ({}));

/**
 * Writes one audit row for a change (or a failed attempt at one): the capability that makes the
 * change calls it; the caller and address default to those of the request or operation running now,
 * which is marked so the route or action wrapper adds no second row. Inside a change that records
 * itself (withoutStepAudit) nothing is written. Details pass through the log redactor, so a secret
 * field is never stored. Once an hour it also deletes rows past audit.retention_days.
 */
export async function recordAudit(entry: AuditEntry): Promise<void> {
  if (auditIsQuiet()) return;
  const actor = currentActor();
  if (actor) actor.recorded = true;
  if (loggedInsteadWhileFrozen(entry)) return;
  await queries.insertAuditRow(auditRowOf(entry));
  await pruneNowAndThen();
}

/**
 * The row recordAudit writes for `entry` (caller and address from the request or operation running
 * now), without writing it: for a row that must land elsewhere too, such as the switch to
 * PostgreSQL's own row, committed with the copy. Reads only.
 */
export function auditRowOf(entry: AuditEntry): AuditRowInsert {
  const actor = currentActor();
  const principal = entry.principal ?? actor?.principal ?? null;
  return {
    at: nowIso(),
    actor: principal?.name ?? entry.actorName?.slice(0, 128) ?? "system",
    actorType: principal?.kind ?? (entry.actorName === undefined ? "system" : "anonymous"),
    action: entry.action,
    target: entry.target ?? null,
    result: entry.result,
    ip: addressOf(entry, actor?.ip),
    details: entry.details ? JSON.stringify(redact(entry.details)) : null,
  };
}

/** How long one refusal row gathers the refusals that follow it from the same caller. */
export const REFUSAL_WINDOW_MS = 60 * 1000;
/** Callers tracked at once; the stalest go first, so a flood of made-up addresses cannot grow memory. */
const MAX_REFUSAL_KEYS = 10_000;

interface OpenRefusal {
  id: Promise<number>;
  since: number;
  count: number;
  details: Record<string, unknown>;
}
const openRefusals = processState("auditRefusals", () => new Map<string, OpenRefusal>());

/**
 * Records a refused or failed attempt without letting a caller fill the table: the first refusal of a
 * caller (principal, or account tried, or anonymous) from an address, for an action with a result,
 * opens a row, and those that follow within REFUSAL_WINDOW_MS only raise its `details.count`. Actions
 * are the routes' and actions' names, a closed list, so a read token sending a thousand writes, or a
 * stranger guessing passwords, adds at most one row per action a minute. Inserts or updates one row.
 */
export async function recordRefusal(entry: AuditEntry & { result: "denied" | "failed" }): Promise<void> {
  if (auditIsQuiet()) return;
  const actor = currentActor();
  if (actor) actor.recorded = true;
  if (loggedInsteadWhileFrozen(entry)) return;
  const principal = entry.principal ?? actor?.principal ?? null;
  const ip = addressOf(entry, actor?.ip);
  const key = JSON.stringify([principal?.kind ?? "anonymous", principal?.id ?? entry.actorName ?? null, ip, entry.action, entry.result]);
  const now = Date.now();
  const open = openRefusals.get(key);
  if (open && now - open.since < REFUSAL_WINDOW_MS) {
    open.count += 1;
    const details = JSON.stringify(redact({ ...open.details, count: open.count }));
    await queries.updateAuditDetails(await open.id, details);
    return;
  }
  const details = { ...(entry.details ?? {}), window_seconds: REFUSAL_WINDOW_MS / 1000 };
  // Set before the insert is awaited, so refusals arriving meanwhile join this row instead of opening more.
  const id = queries.insertAuditRow({
    at: nowIso(),
    actor: principal?.name ?? entry.actorName?.slice(0, 128) ?? "anonymous",
    actorType: principal?.kind ?? "anonymous",
    action: entry.action,
    target: entry.target ?? null,
    result: entry.result,
    ip,
    details: JSON.stringify(redact({ ...details, count: 1 })),
  });
  openRefusals.delete(key);
  openRefusals.set(key, { id, since: now, count: 1, details });
  while (openRefusals.size > MAX_REFUSAL_KEYS) openRefusals.delete(openRefusals.keys().next().value!);
  try {
    await id;
  } catch (error) {
    openRefusals.delete(key);
    throw error;
  }
  await pruneNowAndThen();
}

/**
 * While writes are frozen for a switch to PostgreSQL a row written to the SQLite file would be lost at
 * the switch: what it would have said goes to the application log instead (the refusals of changing
 * requests, mostly). Returns whether it did.
 */
function loggedInsteadWhileFrozen(entry: AuditEntry): boolean {
  const reason = writesRefusedHere();
  if (reason === null) return false;
  getLogger().info("audit row not stored: writes are frozen for the switch to PostgreSQL", {
    action: entry.action,
    target: entry.target ?? null,
    result: entry.result,
    actor: entry.principal?.name ?? currentActor()?.principal?.name ?? entry.actorName ?? null,
  });
  return true;
}

function addressOf(entry: AuditEntry, fallback: string | null | undefined): string | null {
  const ip = entry.ip ?? fallback ?? null;
  return ip === null ? null : normalizeAddress(ip);
}

async function pruneNowAndThen(): Promise<void> {
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
