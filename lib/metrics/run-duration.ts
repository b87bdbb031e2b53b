import "server-only";
import type { Metric } from "prom-client";
import { processState } from "@/lib/process-state";
import { getEngine } from "@/lib/db/engine";
import { getLogger } from "@/lib/log/logger";
import { tallyRuns, type RunTallies } from "@/lib/executions/service";

/** Upper bounds of the run-duration histogram, in seconds: seconds-long steps up to four-hour backups. */
export const RUN_DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 14400] as const;
/** The run tallies and the row counts read whole tables: reuse them for this long between scrapes. */
export const TABLE_SCAN_REUSE_MS = 30_000;

const NO_RUNS: RunTallies = { byStatus: {}, durations: { count: 0, sumSeconds: 0, cumulative: RUN_DURATION_BUCKETS.map(() => 0) } };

/** A value read in the background and reused (reusedInBackground). */
export interface Reused<T> {
  /** the last value, waiting for a read only when none has ended yet */
  (): Promise<T>;
  /**
   * The last value without ever waiting, or null until the first read has ended. A scrape uses this:
   * the families read from whole tables are left out of a process's first scrapes (absent, never a
   * false 0) rather than holding the scrape up for the pass (238 ms at 1,000,000 runs, right after boot).
   */
  current(): T | null;
  /**
   * Starts a read when none is under way and the value is missing or stale. A scrape calls it once
   * its own reads are done (refreshTableScansIfStale), so that the pass never runs beside them.
   */
  refreshIfStale(): void;
}

/**
 * A value that costs a pass over whole tables, read again at most every `maxAgeMs` and then in the
 * background: a caller gets the last value at once (up to maxAgeMs plus one read old). A failed read
 * keeps the last value; with none yet, the caller gets `fallback`. Concurrent callers share one read.
 */
export function reusedInBackground<T>(maxAgeMs: number, read: () => Promise<T>, fallback: T, onError: (error: unknown) => void): Reused<T> {
  let last: { at: number; value: T } | null = null;
  let reading: Promise<T> | null = null;
  const refresh = (): Promise<T> =>
    (reading ??= read()
      .then((value) => {
        last = { at: Date.now(), value };
        return value;
      })
      .catch((error: unknown) => {
        onError(error);
        return last?.value ?? fallback;
      })
      .finally(() => (reading = null)));
  const reused = (): Promise<T> => {
    if (!last) return refresh();
    if (Date.now() - last.at > maxAgeMs) void refresh();
    return Promise.resolve(last.value);
  };
  reused.current = (): T | null => last?.value ?? null;
  reused.refreshIfStale = () => {
    if (!last || Date.now() - last.at > maxAgeMs) void refresh();
  };
  return reused;
}

/**
 * The run counts and durations of every stored run, read in one pass over the history (120 ms at
 * 1,000,000 runs, on a worker thread: lib/db/off-thread.ts) and reused for TABLE_SCAN_REUSE_MS, so
 * mimir_job_runs and mimir_job_run_duration_seconds cost one pass per window between them, and no
 * scrape but a process's first waits for it.
 */
export function runTallies(onError: (error: unknown) => void): Reused<RunTallies> {
  return reusedInBackground(TABLE_SCAN_REUSE_MS, () => tallyRuns(RUN_DURATION_BUCKETS), NO_RUNS, onError);
}

export interface TableScans {
  tallies: Reused<RunTallies>;
  tableRows: Reused<{ name: string; rows: number }[]>;
  /** set by warmTableScans: until boot's first passes begin, a scrape leaves them to it */
  bootPassesBegun: boolean;
}

/**
 * The two passes over whole tables that /metrics reports (run tallies, row counts per table), one
 * pair per process: boot starts them (warmTableScans), so that a scrape finds them read, or being read,
 * instead of starting them and waiting for them on the worker thread (0.5 to 2.5 s at 1,000,000 runs),
 * and the /metrics route bundle reuses what boot read.
 */
export function tableScans(): TableScans {
  return processState("metricsTableScans", () => ({
    tallies: runTallies(warn),
    tableRows: reusedInBackground(TABLE_SCAN_REUSE_MS, () => getEngine().countTableRows(), [], warn),
    bootPassesBegun: false,
  }));
}

/**
 * What a scrape calls once its own reads are done: the passes, and any other reused value the scrape
 * reports (`others`: PostgreSQL's database size), are read again `afterMs` later (once its answer is
 * out) when stale, but never when the scrape came before boot began the passes
 * (TABLE_SCANS_AFTER_BOOT_MS). A pass over a million runs started as an answer was compressed and
 * sent held it up by 20-30 ms (bench:metrics), and the first scrapes of a restarted server need the
 * cores for themselves.
 */
export function refreshTableScansIfStale(afterMs: number, others: Reused<unknown>[] = []): void {
  const { tallies, tableRows, bootPassesBegun } = tableScans();
  if (!bootPassesBegun) return;
  const refreshes = [tallies, tableRows, ...others].map((reused) => reused.refreshIfStale);
  setTimeout(() => refreshes.forEach((refresh) => refresh()), afterMs).unref();
}

/**
 * How long after boot the two passes start (instrumentation-node.ts): a restarted server is probed
 * and scraped at once, and those first requests find the cores free instead of sharing them with a
 * pass over a million runs.
 */
export const TABLE_SCANS_AFTER_BOOT_MS = 5_000;

/** Starts both table scans in the background (after boot); resolves once both have ended. Never throws, a failed read is logged. */
export async function warmTableScans(): Promise<void> {
  const scans = tableScans();
  scans.bootPassesBegun = true;
  await Promise.all([scans.tallies(), scans.tableRows()]);
}

function warn(error: unknown): void {
  getLogger().warn("metrics: a value could not be read", { error: (error as Error).message });
}

/**
 * mimir_job_run_duration_seconds as a histogram computed from stored runs (the executions
 * capability records them; nothing here observes a run). prom-client's Histogram only counts
 * observations, so this is a metric object of the shape its registry formats (get() answering the
 * collected values), which is why it is cast to Metric where it is registered.
 */
export function runDurationHistogram(tallies: () => RunTallies | null): Metric {
  const name = "mimir_job_run_duration_seconds";
  const help = "Duration of finished runs in the execution history";
  const metric = {
    name,
    help,
    type: "histogram",
    aggregator: "sum",
    get() {
      const read = tallies();
      // Absent until the first pass has ended: a histogram of zeros would be a false reset.
      if (!read) return { name, help, type: "histogram", aggregator: "sum", values: [] };
      const h = read.durations;
      const values = [
        ...RUN_DURATION_BUCKETS.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: h.cumulative[i]! })),
        { metricName: `${name}_bucket`, labels: { le: "+Inf" }, value: h.count },
        { metricName: `${name}_sum`, labels: {}, value: h.sumSeconds },
        { metricName: `${name}_count`, labels: {}, value: h.count },
      ];
      return { name, help, type: "histogram", aggregator: "sum", values };
    },
  };
  return metric as unknown as Metric;
}
