import "server-only";
import { Cron } from "croner";
import { getConfig } from "@/lib/config/service";
import { notify } from "@/lib/notify/service";
import { listOperations } from "@/lib/operations/service";
import { listSetsOnDisk } from "@/lib/backups/store";
import { DAY_MS, HOUR_MS } from "@/lib/time";

// Whether scheduled backups keep up: for /health, and the backup.stale notification.

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

/**
 * Announces backup.stale when backups are overdue. A failed latest backup is left to its own
 * backup.failed. Returns the problem found, or null. May queue notifications.
 */
export async function checkBackupFreshness(now = new Date()): Promise<string | null> {
  const problem = await backupFreshnessProblem(now);
  if (!problem) return null;
  const [last] = (await listOperations({ limit: 1, kind: "backup" })).items;
  if (last?.status !== "failed") {
    const newest = listSetsOnDisk().find((set) => set.manifest.trigger !== "pre-restore" && set.manifest.trigger !== "import");
    await notify("backup.stale", { reason: problem, newest_backup_id: newest?.id ?? null });
  }
  return problem;
}

/** Slack on top of the schedule's interval: a backup of a large root takes a while to finish. */
export const FRESHNESS_GRACE_MS = 2 * HOUR_MS;

/** The time between two runs of a cron expression (a day when it cannot tell). */
export function scheduleIntervalMs(expression: string): number {
  const runs = new Cron(expression, { paused: true }).nextRuns(2);
  const [first, second] = runs;
  return first && second ? second.getTime() - first.getTime() : DAY_MS;
}
