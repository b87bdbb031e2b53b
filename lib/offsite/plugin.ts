import "server-only";
import { z } from "zod";
import type { BuiltinPlugin } from "@/lib/plugins/builtin-plugins";
import type { BuiltinJob } from "@/lib/plugins/builtin-jobs";
import { formatCountOf } from "@/lib/format";
import { nowIso } from "@/lib/db/timestamps";
import { getLogger } from "@/lib/log/logger";
import { copyNewSet } from "@/lib/offsite/copy";
import { checkOffsiteFreshness } from "@/lib/offsite/freshness";
import * as queries from "@/lib/offsite/queries";
import { pruneDestination } from "@/lib/offsite/remote-sets";

/** What backups/set-events calls once a new set passed its drill: the copy to every enabled destination starts. */
export async function copyVerifiedSet(backupId: string): Promise<void> {
  await copyNewSet(backupId);
}

/** At boot: copies a stopped process left running or queued are failed, so the list offers Retry. Writes copy rows. */
export async function failInterruptedCopies(): Promise<number> {
  const count = await queries.failInterruptedCopies("the server stopped during the copy; retry it", nowIso());
  if (count > 0) getLogger().warn("marked offsite copies interrupted by the last shutdown as failed", { count });
  return count;
}

/** Remote retention at every enabled destination that has keep_days set. */
export const pruneOffsitePlugin: BuiltinPlugin<{ dry_run: boolean }> = {
  name: "System.prune_offsite",
  scope: "admin",
  description: "Deletes offsite copies older than each destination's keep days, always keeping its newest copies and the newest verified set",
  configSchema: z.object({ dry_run: z.boolean().default(false).describe("list what would be deleted, delete nothing") }).strict(),
  async run(config, context) {
    const results: Record<string, unknown> = {};
    const failures: string[] = [];
    for (const row of (await queries.listDestinationRows()).filter((r) => r.enabled && r.keepDays !== null)) {
      try {
        const result = await pruneDestination(row.id, { dryRun: config.dry_run });
        context.log(
          `${row.name}: ${config.dry_run ? "would prune" : "pruned"} ${formatCountOf(result.deleted.length, "set")}: ${result.deleted.join(", ") || "none"}`,
        );
        results[row.name] = result;
      } catch (error) {
        failures.push(`${row.name}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(`offsite prune failed at ${failures.join("; ")}`);
    return results;
  },
};

/** The hourly check: announces offsite.stale where copies are overdue. */
export const checkOffsiteFreshnessPlugin: BuiltinPlugin<Record<string, never>> = {
  name: "System.check_offsite_freshness",
  scope: "write",
  description: "Announces offsite.stale when the newest copy at a destination is older than the backup schedule allows",
  configSchema: z.object({}).strict(),
  async run(_config, context) {
    const problems = await checkOffsiteFreshness();
    context.log(problems.length > 0 ? problems.map((p) => p.reason).join("; ") : "offsite copies are fresh (or no destination is enabled)");
    return { problems: problems.map((p) => p.reason) };
  },
};

export const OFFSITE_JOBS: readonly BuiltinJob[] = [
  {
    id: "system-prune-offsite",
    name: "Prune offsite copies (keep days)",
    pipeline: {
      name: "system-prune-offsite",
      description: "Each destination's remote retention, keeping its newest copies and the newest verified set",
      steps: [{ name: "prune", plugin: "System.prune_offsite" }],
    },
    cron: (config) => config.values.backups.prune_schedule,
    enabledByDefault: (config) => config.values.persistence.backup_enabled,
  },
  {
    id: "system-offsite-freshness",
    name: "Offsite freshness check",
    pipeline: {
      name: "system-offsite-freshness",
      description: "Announces offsite.stale to the notification channels when offsite copies are overdue",
      steps: [{ name: "check", plugin: "System.check_offsite_freshness" }],
    },
    cron: () => "23 * * * *",
    enabledByDefault: () => true,
  },
];
