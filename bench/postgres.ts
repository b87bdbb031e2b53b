/**
 * PostgreSQL benchmark: our `migrate-to-postgres` (preflight, schema, COPY of every table in one
 * transaction, sequences, and the count + checksum verification) against pgloader (Debian's
 * `pgloader`, the usual tool for this job) loading the same SQLite file into another scratch
 * database of the same server, in the same run. Prints both times and the ratio (ours / pgloader).
 * Then, on the database our command filled, the app on PostgreSQL: the history API's first page and
 * the statistics through our query modules, next to the very same SQL through a raw `pg` pool
 * (medians, ratio ours / raw), as bench/history.ts does on SQLite.
 *
 *   npm run bench:postgres                      # seeds bench/.data/history-seed-1000000 once (npm run seed's code), then measures
 *   BENCH_ROWS=200000 npm run bench:postgres    # a smaller data set
 *   MIMIR_BENCH_PG_URL=postgres://root@127.0.0.1:5432/postgres   # the server (default: MIMIR_TEST_PG_URL, else that URL)
 *
 * Installs pgloader through scripts/ensure-pgloader.sh (apt-get, as root) when it is missing. Scratch databases are
 * named mimir_bench_<random>_* and dropped at the end. Run with node --conditions=react-server (the
 * npm script does): lib/ marks itself server-only.
 */
import { execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { openDataRoot } from "@/lib/boot";
import { closeAppDatabase, getDb } from "@/lib/db/client";
import { countExecutions, durationAtRankQuery, historyPageQuery, statusCountsQuery, TIMED_STATUSES } from "@/lib/executions/queries";
import { getExecutionStatistics, listExecutions, nearestRankOffset } from "@/lib/executions/service";
import { DEFAULT_SEED_OPTIONS, seedDemoData } from "@/lib/demo/seed";
import { migrateSqliteToPostgres } from "@/lib/maintenance/migrate-backend";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const SERVER_URL = process.env.MIMIR_BENCH_PG_URL || process.env.MIMIR_TEST_PG_URL || "postgres://root@127.0.0.1:5432/postgres";
// The history bench's data root: one seed serves both benches.
const home = path.resolve(import.meta.dirname, ".data", `history-seed-${ROWS}`);

function urlFor(database: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** pgloader, installed by scripts/ensure-pgloader.sh when missing (apt-get as root; otherwise it prints the command). */
function ensurePgloader(): void {
  execFileSync("bash", [path.resolve(import.meta.dirname, "..", "scripts", "ensure-pgloader.sh")], { stdio: "inherit" });
}

/** The data root, filled by the project's seed (the history bench's generator) to ROWS executions if it holds fewer. */
async function seededDatabase(): Promise<string> {
  const config = loadConfig({ MIMIR_HOME: home }, home);
  setConfig(config);
  fs.mkdirSync(home, { recursive: true });
  await openDataRoot(config);
  if ((await countExecutions()) < ROWS) {
    console.log(`seeding ${ROWS.toLocaleString()} executions into ${home} …`);
    const started = performance.now();
    await seedDemoData(config, {
      ...DEFAULT_SEED_OPTIONS,
      executions: ROWS,
      logFiles: 0,
      onProgress: (n) => process.stdout.write(`\r  ${n.toLocaleString()} rows`),
    });
    console.log(`\r  seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  getDb().$client.pragma("wal_checkpoint(TRUNCATE)");
  await closeAppDatabase();
  return config.paths.database;
}

/**
 * pgloader's defaults (create tables and indexes, reset sequences) with two changes it needs to load
 * this file at all: drizzle's journal table is left out (its SERIAL id is no rowid alias in SQLite,
 * so pgloader copies NULL ids into a NOT NULL column; our command does not copy it either, each side
 * keeps its own), and a 4 GiB Lisp heap (its 1 GiB default is exhausted by 1M wide rows).
 */
function runPgloader(file: string, url: string, dir: string): Promise<string> {
  const load = path.join(dir, "bench.load");
  fs.writeFileSync(load, `LOAD DATABASE FROM sqlite://${file} INTO ${url}\n  EXCLUDING TABLE NAMES LIKE '__drizzle_migrations';\n`, { mode: 0o600 });
  return new Promise((resolve, reject) => {
    const child = spawn("pgloader", ["--dynamic-space-size", "4096", load], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`pgloader exited ${code}:\n${out.slice(-3000)}`))));
  });
}

async function count(url: string, table: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
  } finally {
    await client.end();
  }
}

async function main() {
  ensurePgloader();
  const file = await seededDatabase();
  const size = fs.statSync(file).size;
  // Both tools start with the file in the page cache.
  execFileSync("cat", [file], { stdio: ["ignore", "ignore", "inherit"] });
  const tag = `mimir_bench_${crypto.randomBytes(4).toString("hex")}`;
  const ours = `${tag}_ours`;
  const peer = `${tag}_pgloader`;
  await admin(`CREATE DATABASE ${ours}`);
  await admin(`CREATE DATABASE ${peer}`);
  try {
    console.log(
      `\nsource: ${file} (${(size / 1e9).toFixed(2)} GB, ${ROWS.toLocaleString()} job_executions); target: ${new URL(SERVER_URL).host}; load average ${loadAverage()}`,
    );

    let started = performance.now();
    const log = await runPgloader(file, urlFor(peer), home);
    const pgloaderSeconds = (performance.now() - started) / 1000;
    const peerRows = await count(urlFor(peer), "job_executions");
    if (peerRows !== ROWS) throw new Error(`pgloader loaded ${peerRows} executions, not ${ROWS}:\n${log.slice(-2000)}`);

    started = performance.now();
    let lastShown = 0;
    const result = await migrateSqliteToPostgres(urlFor(ours), {
      writeConfig: false,
      onProgress: (p) => {
        if (performance.now() - lastShown < 1000) return;
        lastShown = performance.now();
        process.stderr.write(
          `\r  ${p.phase} ${p.table} ${p.done.toLocaleString()} / ${p.total.toLocaleString()} rows, ${Math.round(p.rowsPerSecond).toLocaleString()} rows/s   `,
        );
      },
    });
    const oursSeconds = (performance.now() - started) / 1000;
    process.stderr.write("\n");
    if (!result.tables.every((t) => t.ok)) throw new Error("our migration did not verify");

    console.log(`\n${"".padEnd(58)} ${"seconds".padStart(9)}`);
    console.log(`${"ours: migrate-to-postgres, including verification".padEnd(58)} ${oursSeconds.toFixed(1).padStart(9)}`);
    console.log(`${"  of which copy (preflight, schema, COPY, sequences)".padEnd(58)} ${result.copySeconds.toFixed(1).padStart(9)}`);
    console.log(`${"  of which verification (counts + checksums)".padEnd(58)} ${result.verifySeconds.toFixed(1).padStart(9)}`);
    console.log(`${"pgloader (no verification)".padEnd(58)} ${pgloaderSeconds.toFixed(1).padStart(9)}`);
    console.log(`${"ratio ours / pgloader (goal ≤ 1.0×)".padEnd(58)} ${(oursSeconds / pgloaderSeconds).toFixed(2).padStart(8)}×`);
    console.log(`load average (1, 5, 15 min) at the end: ${loadAverage()}`);
    await queryBench(urlFor(ours));
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${ours} WITH (FORCE)`);
    await admin(`DROP DATABASE IF EXISTS ${peer} WITH (FORCE)`);
  }
}

/** The machine's load average, printed beside the figures: they mean little without it on a shared machine. */
function loadAverage(): string {
  return os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(", ");
}

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
// Enough for the app's pool to have opened its idle connections (min 5) before anything is timed.
const WARMUP = 5;

/**
 * Medians of ours and the raw peer, their runs interleaved (ours, raw, ours, raw …): on a shared
 * machine, and on a database whose autovacuum may start its first pass over the freshly copied rows at
 * any moment, two blocks timed one after the other can see different conditions (at 1M rows the same
 * statement measured 1 ms in one block and 3 ms in the next); alternating gives both the same.
 */
async function timePair(ours: () => unknown, raw: () => unknown): Promise<[number, number]> {
  for (let i = 0; i < WARMUP; i += 1) {
    await ours();
    await raw();
  }
  const samples: [number[], number[]] = [[], []];
  for (let i = 0; i < RUNS; i += 1) {
    for (const [k, fn] of [ours, raw].entries()) {
      const start = performance.now();
      await fn();
      samples[k]!.push(performance.now() - start);
    }
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return [median(samples[0]), median(samples[1])];
}

function row(label: string, ours: number, raw: number) {
  return `${label.padEnd(44)} ${ours.toFixed(3).padStart(9)} ms ${raw.toFixed(3).padStart(9)} ms ${(ours / raw).toFixed(2).padStart(7)}×`;
}

/** The app opened on the migrated PostgreSQL database (as a server with persistence.backend: postgres would), against raw pg. */
async function queryBench(url: string) {
  const config = loadConfig({ MIMIR_HOME: home, MIMIR_PERSISTENCE_BACKEND: "postgres", MIMIR_CONNECTION_STRING: url }, home);
  setConfig(config);
  await openDataRoot(config);
  const raw = new pg.Pool({ connectionString: url, max: 1, options: "-c TimeZone=UTC" });
  try {
    const query = (q: { sql: string; params: unknown[] }) => () => raw.query({ text: q.sql, values: q.params });
    const busiestJob = (await raw.query<{ job_id: string }>("SELECT job_id FROM job_executions GROUP BY job_id ORDER BY count(*) DESC LIMIT 1")).rows[0]!
      .job_id;
    const to = new Date(Date.now() + 1000).toISOString();
    const from = new Date(Date.parse(to) - 30 * 86_400_000).toISOString();
    const lines: string[] = [];
    const cases: { label: string; filters: Record<string, string> }[] = [
      { label: "history first page (50, no filter)", filters: {} },
      { label: "history first page, status=failed", filters: { status: "failed" } },
      { label: "history first page, busiest job", filters: { job_id: busiestJob } },
    ];
    for (const { label, filters } of cases) {
      const [service, direct] = await timePair(() => listExecutions({ limit: 50, ...filters }), query(historyPageQuery(filters, 51, null).toSQL()));
      lines.push(row(`${label}: service`, service, direct));
    }
    // The statements the statistics service runs, day by day, planned once from the data as bench/history.ts does.
    const calls: { sql: string; params: unknown[] }[] = [];
    for (let dayStart = Date.parse(from.slice(0, 10)); dayStart < Date.parse(to); dayStart += 86_400_000) {
      const window = {
        from: from > new Date(dayStart).toISOString() ? from : new Date(dayStart).toISOString(),
        to: to < new Date(dayStart + 86_400_000).toISOString() ? to : new Date(dayStart + 86_400_000).toISOString(),
      };
      const counts = statusCountsQuery(window).toSQL();
      calls.push(counts);
      const result = await raw.query<unknown[]>({ text: counts.sql, values: counts.params, rowMode: "array" });
      const timed = (result.rows as [string, unknown, unknown][])
        .filter(([status]) => (TIMED_STATUSES as readonly string[]).includes(status))
        .reduce((sum, [, , n]) => sum + Number(n), 0);
      if (timed > 0) for (const p of [0.5, 0.95]) calls.push(durationAtRankQuery(window, nearestRankOffset(timed, p), timed).toSQL());
    }
    const [service, direct] = await timePair(
      () => getExecutionStatistics({ from, to }),
      async () => {
        for (const call of calls) await raw.query({ text: call.sql, values: call.params });
      },
    );
    lines.push(row("statistics, 30 days: service", service, direct));
    console.log(`\nThe app on PostgreSQL (${ROWS.toLocaleString()} job_executions); median of ${RUNS} interleaved runs after ${WARMUP} warm-ups (goal ≤ 2×)`);
    console.log(`${"".padEnd(44)} ${"ours".padStart(12)} ${"raw pg".padStart(12)} ${"ratio".padStart(8)}`);
    for (const line of lines) console.log(line);
    console.log(`load average (1, 5, 15 min) at the end: ${loadAverage()}`);
  } finally {
    await raw.end();
    await closeAppDatabase();
  }
}

await main();
