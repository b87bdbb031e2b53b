/**
 * History benchmark: our history API's first page and the statistics query over a 1,000,000-row
 * job_executions, next to the very same SQL run through raw better-sqlite3 in the same process and
 * run. Prints medians and the ratio (ours / raw).
 *
 *   npm run bench:history                      # seeds bench/.data/history-seed-1000000 once (npm run seed's code), then measures
 *   BENCH_ROWS=200000 npm run bench:history    # a smaller data set
 *
 * Run with node --conditions=react-server (the npm script does): lib/ marks itself server-only.
 */
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { openDataRoot } from "@/lib/boot";
import { getDb } from "@/lib/db/client";
import { seedCredentialsFromEnvironment } from "@/lib/auth/service";
import { DEFAULT_SEED_OPTIONS, seedDemoData } from "@/lib/demo/seed";
import { countExecutions, durationAtRankQuery, historyPageQuery, statusCountsQuery, TIMED_STATUSES } from "@/lib/executions/queries";
import { getExecutionStatistics, listExecutions, nearestRankOffset } from "@/lib/executions/service";
import { GET as historyRoute } from "@/app/api/v1/jobs/route";
import { GET as statisticsRoute } from "@/app/api/v1/jobs/statistics/route";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const WARMUP = 2;
const TOKEN = "mimir_bench000000000000000000000000000000000000";
const home = path.resolve(import.meta.dirname, ".data", `history-seed-${ROWS}`);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function time(fn: () => unknown): Promise<number> {
  for (let i = 0; i < WARMUP; i += 1) await fn();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

/** The data root, filled by the project's seed (`npm run seed`'s code) to ROWS executions if it holds fewer. */
async function openSeededDataRoot() {
  const config = loadConfig({ MIMIR_HOME: home, MIMIR_API_TOKEN: TOKEN }, home);
  setConfig(config);
  fs.mkdirSync(home, { recursive: true });
  await openDataRoot(config);
  await seedCredentialsFromEnvironment(config);
  if ((await countExecutions()) < ROWS) {
    console.log(`seeding ${ROWS.toLocaleString()} executions into ${home} …`);
    const started = performance.now();
    await seedDemoData(config, {
      ...DEFAULT_SEED_OPTIONS,
      executions: ROWS,
      logFiles: 0,
      onProgress: (n) => process.stdout.write(`\r  ${n.toLocaleString()} rows`),
    });
    getDb().$client.pragma("wal_checkpoint(TRUNCATE)");
    console.log(`\r  seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return config;
}

function row(label: string, ours: number, raw: number) {
  return `${label.padEnd(44)} ${ours.toFixed(3).padStart(9)} ms ${raw.toFixed(3).padStart(9)} ms ${(ours / raw).toFixed(2).padStart(7)}×`;
}

async function main() {
  const config = await openSeededDataRoot();
  // The busiest job of the seed: a job filter that still has many rows to page through.
  const busiestJob = (getDb().$client.prepare("SELECT job_id FROM job_executions GROUP BY job_id ORDER BY count(*) DESC LIMIT 1").get() as { job_id: string })
    .job_id;
  const rows = await countExecutions();
  const raw = new Database(config.paths.database, { readonly: true });
  const prepare = (query: { sql: string; params: unknown[] }) => {
    const statement = raw.prepare(query.sql);
    return () => statement.all(...query.params);
  };
  const request = (pathAndQuery: string) => new Request(`http://127.0.0.1${pathAndQuery}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  const noParams = { params: Promise.resolve({}) };

  const to = new Date(Date.now() + 1000).toISOString();
  const from = new Date(Date.parse(to) - 30 * 86_400_000).toISOString();
  const lines: string[] = [];

  const cases: { label: string; filters: Record<string, string> }[] = [
    { label: "history first page (50, no filter)", filters: {} },
    { label: "history first page, status=failed", filters: { status: "failed" } },
    { label: "history first page, busiest job", filters: { job_id: busiestJob } },
  ];
  for (const { label, filters } of cases) {
    const rawPage = prepare(historyPageQuery(filters, 51, null).toSQL());
    const service = await time(() => listExecutions({ limit: 50, ...filters }));
    const api = await time(async () => {
      const response = await historyRoute(request(`/api/v1/jobs?${new URLSearchParams({ limit: "50", ...filters })}`), noParams);
      if (response.status !== 200) throw new Error(`history answered ${response.status}`);
      await response.text();
    });
    const direct = await time(rawPage);
    lines.push(row(`${label}: service`, service, direct), row(`${label}: API route`, api, direct));
  }

  // The same statements the service runs, day by day: status counts, then two rank lookups for a day
  // with timed runs. Planned here (texts prepared once, parameters fixed) from one pass over the data:
  // the raw peer is the best the driver can do; our side prepares through drizzle on every call.
  const calls: { sql: string; params: unknown[] }[] = [];
  for (let dayStart = Date.parse(from.slice(0, 10)); dayStart < Date.parse(to); dayStart += 86_400_000) {
    const window = {
      from: from > new Date(dayStart).toISOString() ? from : new Date(dayStart).toISOString(),
      to: to < new Date(dayStart + 86_400_000).toISOString() ? to : new Date(dayStart + 86_400_000).toISOString(),
    };
    const counts = statusCountsQuery(window).toSQL();
    calls.push(counts);
    // drizzle's SQL selects unnamed expressions and maps them by position: read rows as arrays the same way.
    const rows = raw
      .prepare(counts.sql)
      .raw(true)
      .all(...counts.params) as [string, number, number][];
    const timed = rows.filter(([status]) => (TIMED_STATUSES as readonly string[]).includes(status)).reduce((sum, [, , n]) => sum + n, 0);
    if (timed > 0) for (const p of [0.5, 0.95]) calls.push(durationAtRankQuery(window, nearestRankOffset(timed, p), timed).toSQL());
  }
  const statements = new Map(calls.map((call) => [call.sql, raw.prepare(call.sql)]));
  const direct = await time(() => {
    for (const call of calls) statements.get(call.sql)!.all(...call.params);
  });
  const service = await time(() => getExecutionStatistics({ from, to }));
  const api = await time(async () => {
    const response = await statisticsRoute(request(`/api/v1/jobs/statistics?from=${from}&to=${to}`), noParams);
    if (response.status !== 200) throw new Error(`statistics answered ${response.status}`);
    await response.text();
  });
  lines.push(row("statistics, 30 days: service", service, direct), row("statistics, 30 days: API route", api, direct));

  const windowRows = (raw.prepare("SELECT count(*) AS n FROM job_executions WHERE start_time >= ? AND start_time < ?").get(from, to) as { n: number }).n;
  console.log(
    `\njob_executions: ${rows.toLocaleString()} rows (${windowRows.toLocaleString()} in the 30-day statistics window); median of ${RUNS} runs after ${WARMUP} warm-ups`,
  );
  console.log(`${"".padEnd(44)} ${"ours".padStart(12)} ${"raw SQL".padStart(12)} ${"ratio".padStart(8)}`);
  for (const line of lines) console.log(line);
  raw.close();
}

await main();
