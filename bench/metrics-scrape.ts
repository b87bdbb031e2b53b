/**
 * /metrics as Prometheus sees it from a fresh process: our production server started on the bench
 * data root (1,000,000 runs), the first scrape the moment /health first answers (boot done; or
 * BENCH_FIRST_SCRAPE_AFTER_MS later), then one
 * scrape a second for BENCH_SCRAPE_SECONDS (past two 30 s reuse windows of the table scans).
 *
 *   BENCH_PORTS=3500-3519 npm run bench:metrics
 *   BENCH_BACKEND=postgres npm run bench:metrics   # the same seed on PostgreSQL (migrated once)
 */
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { BENCH_TOKEN, prepareBenchRoot } from "./seeded-root";
import { startOurs, type ServeMode } from "./servers";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const MODE = (process.env.BENCH_SERVE ?? "start") as ServeMode;
const SCRAPE_FOR_MS = Number(process.env.BENCH_SCRAPE_SECONDS ?? 65) * 1000;
/** Wait this long after boot before the first scrape (Prometheus scrapes a new target within its interval, not at once). */
const FIRST_AFTER_MS = Number(process.env.BENCH_FIRST_SCRAPE_AFTER_MS ?? 0);

const loadAverage = () => fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const { env } = await prepareBenchRoot(ROWS);
// startOurs resolves when /health first answers: the scrape right after is the process's first.
const server = await startOurs(MODE, env);
try {
  const scrape = async () => {
    const started = performance.now();
    const response = await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` } });
    await response.text();
    if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
    return performance.now() - started;
  };
  await new Promise((resolve) => setTimeout(resolve, FIRST_AFTER_MS));
  const first = await scrape();
  const scrapes: number[] = [];
  const until = performance.now() + SCRAPE_FOR_MS;
  while (performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    scrapes.push(await scrape());
  }
  console.log(
    `${ROWS.toLocaleString()} runs, ${server.name}: first scrape ${first.toFixed(1)} ms (${FIRST_AFTER_MS} ms after boot); then ${scrapes.length} over ${SCRAPE_FOR_MS / 1000} s: p50 ${percentile(scrapes, 50).toFixed(1)} ms, p95 ${percentile(scrapes, 95).toFixed(1)} ms, max ${Math.max(...scrapes).toFixed(1)} ms (load ${loadAverage()})`,
  );
} finally {
  await server.stop();
}
