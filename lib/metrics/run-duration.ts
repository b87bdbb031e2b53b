import "server-only";
import type { Metric } from "prom-client";
import { histogramOfRunDurations } from "@/lib/executions/service";

/** Upper bounds of the run-duration histogram, in seconds: seconds-long steps up to four-hour backups. */
export const RUN_DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 14400] as const;
/** The run-duration pass and the row counts read whole tables: reuse them for this long between scrapes. */
export const TABLE_SCAN_REUSE_MS = 30_000;

type Guard = <T>(read: () => Promise<T>, fallback: T) => Promise<T>;

/**
 * mimir_job_run_duration_seconds as a histogram computed from stored runs (the executions
 * capability records them; nothing here observes a run). prom-client's Histogram only counts
 * observations, so this is a metric object of the shape its registry formats (get() answering the
 * collected values), which is why it is cast to Metric where it is registered.
 */
export function runDurationHistogram(guarded: Guard): Metric {
  const name = "mimir_job_run_duration_seconds";
  const help = "Duration of finished runs in the execution history";
  let cached: { at: number; values: { metricName: string; labels: Record<string, string | number>; value: number }[] } | null = null;
  const metric = {
    name,
    help,
    type: "histogram",
    aggregator: "sum",
    async get() {
      if (!cached || Date.now() - cached.at > TABLE_SCAN_REUSE_MS) {
        const h = await guarded(() => histogramOfRunDurations(RUN_DURATION_BUCKETS), {
          count: 0,
          sumSeconds: 0,
          cumulative: RUN_DURATION_BUCKETS.map(() => 0),
        });
        cached = {
          at: Date.now(),
          values: [
            ...RUN_DURATION_BUCKETS.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: h.cumulative[i]! })),
            { metricName: `${name}_bucket`, labels: { le: "+Inf" }, value: h.count },
            { metricName: `${name}_sum`, labels: {}, value: h.sumSeconds },
            { metricName: `${name}_count`, labels: {}, value: h.count },
          ],
        };
      }
      return { name, help, type: "histogram", aggregator: "sum", values: cached.values };
    },
  };
  return metric as unknown as Metric;
}
