import "server-only";
import { Cron } from "croner";
import { getConfig } from "@/lib/config/service";
import { outboundFetch } from "@/lib/net/outbound";
import { getLogger } from "@/lib/log/logger";
import { listOperations } from "@/lib/operations/service";
import { listSetsOnDisk } from "@/lib/backups/store";
import { DAY_MS, HOUR_MS } from "@/lib/time";

// Whether scheduled backups keep up (for /health), and the alert when a scheduled one fails.

/**
 * When scheduled backups are on: a reason for /health to report degraded (the latest backup failed,
 * or the newest set is older than the schedule allows), else null. Reads only.
 */
export async function backupFreshnessProblem(now = new Date()): Promise<string | null> {
  const config = getConfig();
  if (!config.values.persistence.backup_enabled) return null;
  const [last] = (await listOperations({ limit: 1, kind: "backup" })).items;
  if (last?.status === "failed") return `the latest backup failed: ${last.error?.message ?? "no reason recorded"}`;
  const newest = listSetsOnDisk().find((set) => set.manifest.trigger !== "pre-restore" && set.manifest.trigger !== "import");
  const allowedMs = scheduleIntervalMs(config.values.backups.schedule) + FRESHNESS_GRACE_MS;
  if (!newest) return "scheduled backups are on but no backup has been made yet";
  const age = now.getTime() - new Date(newest.manifest.created_at).getTime();
  if (age > allowedMs) return `the newest backup (${newest.id}) is older than the schedule '${config.values.backups.schedule}' allows`;
  return null;
}

/** Slack on top of the schedule's interval: a backup of a large root takes a while to finish. */
const FRESHNESS_GRACE_MS = 2 * HOUR_MS;

function scheduleIntervalMs(expression: string): number {
  const runs = new Cron(expression, { paused: true }).nextRuns(2);
  const [first, second] = runs;
  return first && second ? second.getTime() - first.getTime() : DAY_MS;
}

/** A receiver that has not answered a backup-failure alert by then is given up on. */
const BACKUP_ALERT_TIMEOUT_MS = 10_000;

/** Sends a failed scheduled backup to the configured webhook (storage.alert_webhook_url); never throws. */
export async function notifyBackupFailure(message: string): Promise<void> {
  const url = getConfig().values.storage.alert_webhook_url;
  if (!url) return;
  try {
    // Through the outbound guard (destination check, no redirects), like every request the console makes.
    const response = await outboundFetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ event: "backup_failed", message, time: new Date().toISOString() }),
      timeoutMs: BACKUP_ALERT_TIMEOUT_MS,
    });
    await response.body?.cancel().catch(() => undefined);
    if (!response.ok) getLogger().warn("backup failure webhook refused", { status: response.status });
  } catch (error) {
    getLogger().warn("backup failure webhook could not be sent", { error: (error as Error).message });
  }
}
