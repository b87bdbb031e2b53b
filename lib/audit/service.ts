import "server-only";
import { getDb } from "@/lib/db/client";
import { auditLog } from "@/lib/db/schema";
import { nowIso } from "@/lib/db/timestamps";
import { redact } from "@/lib/log/logger";
import type { Principal } from "@/lib/auth/scopes";

export interface AuditEntry {
  /** null for the product's own scheduled work */
  principal: Principal | null;
  /** verb.noun, e.g. "backup.create", "job.delete", "config.update" */
  action: string;
  target?: string | null;
  result: "ok" | "denied" | "failed";
  ip?: string | null;
  details?: Record<string, unknown>;
}

/** Writes one audit row; details pass through the log redactor, so a secret field is never stored. */
export async function recordAudit(entry: AuditEntry): Promise<void> {
  await getDb()
    .insert(auditLog)
    .values({
      at: nowIso(),
      actor: entry.principal?.name ?? "system",
      actorType: entry.principal?.kind ?? "system",
      action: entry.action,
      target: entry.target ?? null,
      result: entry.result,
      ip: entry.ip ?? null,
      details: entry.details ? JSON.stringify(redact(entry.details)) : null,
    });
}
