import "server-only";
import type { AppConfig } from "@/lib/config/load";
import { onConfigChange } from "@/lib/config/service";
import { findJobRow, updateJob } from "@/lib/jobs/service";
import { getLogger } from "@/lib/log/logger";
import { withoutStepAudit } from "@/lib/audit/context";
import { builtinJobs } from "@/lib/plugins/builtin-jobs";
import { readAppliedBuiltinConfig, writeAppliedBuiltinConfig, type AppliedBuiltinConfig } from "@/lib/scheduler/queries";

/**
 * Built-in jobs follow the configuration values they derive from (the backup job's cron from
 * backups.schedule, the backup jobs' enabled from persistence.backup_enabled, …) when those values
 * change: at boot for config.yaml or the environment edited while the server was stopped, at once
 * for a change made from the console. A person's edit on the Jobs page holds until the configuration
 * value itself changes again, because only a difference from the value last applied (kept in
 * system_metadata) is carried over. Returns the ids of the jobs it changed.
 */
export async function applyConfigToBuiltinJobs(config: AppConfig): Promise<string[]> {
  const changed: string[] = [];
  for (const builtin of builtinJobs()) {
    if (!(await findJobRow(builtin.id))) continue;
    const wanted: AppliedBuiltinConfig = { cron_expr: builtin.cron(config), enabled: builtin.enabledByDefault(config) };
    const applied = await readAppliedBuiltinConfig(builtin.id);
    if (applied && applied.cron_expr === wanted.cron_expr && applied.enabled === wanted.enabled) continue;
    if (applied) {
      const update = {
        ...(applied.cron_expr === wanted.cron_expr ? {} : { cron_expr: wanted.cron_expr }),
        ...(applied.enabled === wanted.enabled ? {} : { enabled: wanted.enabled }),
      };
      try {
        // A consequence of the configuration change, which is on the record already (config.update).
        await withoutStepAudit(() => updateJob(builtin.id, update, null));
      } catch (error) {
        // Left as it is (and tried again at the next change or start) rather than failing boot.
        getLogger().warn("a built-in job could not follow the configuration", { id: builtin.id, ...update, error: (error as Error).message });
        continue;
      }
      getLogger().info("a built-in job follows a changed configuration value", { id: builtin.id, ...update });
      changed.push(builtin.id);
    }
    await writeAppliedBuiltinConfig(builtin.id, wanted);
  }
  return changed;
}

/** Applies each configuration change (Settings page, PUT /api/v1/config, a reload) to the built-in jobs. Returns the unsubscribe function. */
export function followConfigInBuiltinJobs(): () => void {
  return onConfigChange(async (next) => {
    await applyConfigToBuiltinJobs(next);
  });
}
