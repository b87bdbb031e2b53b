import "server-only";
import { z } from "zod";
import type { BuiltinPlugin } from "@/lib/plugins/builtin-plugins";
import type { BuiltinJob } from "@/lib/plugins/builtin-jobs";
import { takeStorageSample } from "@/lib/storage/sampler";

/** System.storage_sample: one storage sample (sizes, thinning, alerts) as a pipeline step. */
export const storageSamplePlugin: BuiltinPlugin<Record<string, never>> = {
  name: "System.storage_sample",
  scope: "write",
  description: "Measures every volume, the backups folder and the database, stores a sample, and raises or clears storage alerts.",
  configSchema: z.object({}).strict(),
  async run(_config, context) {
    const result = await takeStorageSample();
    context.log(
      `sampled in ${result.scan_ms} ms${result.stored ? "" : " (not stored: see the application log)"}; ` +
        `active alerts: ${result.active_alerts.join(", ") || "none"}`,
    );
    return { ...result };
  },
};

/** The guide's "Monitoring Disk Usage" as a job: every storage.sample_interval_minutes. */
export const storageSampleJob: BuiltinJob = {
  id: "system-storage-sample",
  name: "Storage sample",
  pipeline: {
    name: "system-storage-sample",
    description: "Measures volume and disk usage for the Storage page, its charts and its alerts.",
    steps: [{ name: "sample", plugin: "System.storage_sample" }],
  },
  cron: (config) => intervalToCron(config.values.storage.sample_interval_minutes),
  enabledByDefault: () => true,
};

/** The nearest cron schedule to an interval in minutes (cron cannot go below one minute). */
export function intervalToCron(minutes: number): string {
  const whole = Math.max(1, Math.round(minutes));
  if (whole < 60) return whole === 1 ? "* * * * *" : `*/${whole} * * * *`;
  const hours = Math.max(1, Math.round(whole / 60));
  return hours < 24 ? `0 */${hours} * * *` : "0 0 * * *";
}
