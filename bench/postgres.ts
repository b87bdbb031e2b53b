/**
 * PostgreSQL benchmark: our `migrate-to-postgres` (preflight, schema, COPY of every table in one
 * transaction, sequences, and the count + checksum verification) against pgloader (Debian's
 * `pgloader`, the usual tool for this job) loading the same SQLite file into another scratch
 * database of the same server, in the same run. Prints both times and the ratio (ours / pgloader).
 *
 *   npm run bench:postgres                      # seeds bench/.data/history-seed-1000000 once (npm run seed's code), then measures
 *   BENCH_ROWS=200000 npm run bench:postgres    # a smaller data set
 *   MIMIR_BENCH_PG_URL=postgres://root@127.0.0.1:5432/postgres   # the server (default: MIMIR_TEST_PG_URL, else that URL)
 *
 * Installs pgloader with apt-get when it is missing and the bench runs as root. Scratch databases are
 * named mimir_bench_<random>_* and dropped at the end. Run with node --conditions=react-server (the
 * npm script does): lib/ marks itself server-only.
 */
import { execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { openDataRoot } from "@/lib/boot";
import { closeAppDatabase, getDb } from "@/lib/db/client";
import { countExecutions } from "@/lib/executions/queries";
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

function ensurePgloader(): void {
  try {
    execFileSync("pgloader", ["--version"], { stdio: "ignore" });
    return;
  } catch {
    // not installed
  }
  if (process.getuid?.() !== 0) throw new Error("pgloader is missing: sudo apt-get install -y pgloader");
  console.log("installing pgloader (apt-get) …");
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "pgloader"], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

/** The data root, filled by the project's seed (the history bench's generator) to ROWS executions if it holds fewer. */
async function seededDatabase(): Promise<string> {
  const config = loadConfig({ MIMIR_HOME: home }, home);
  setConfig(config);
  fs.mkdirSync(home, { recursive: true });
  openDataRoot(config);
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
  closeAppDatabase();
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
    console.log(`\nsource: ${file} (${(size / 1e9).toFixed(2)} GB, ${ROWS.toLocaleString()} job_executions); target: ${new URL(SERVER_URL).host}`);

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
    console.log(
      "\nThe query bench (history first page and statistics on PostgreSQL through our query modules vs raw pg) needs the PostgreSQL backend switch; it is not part of this run.",
    );
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${ours} WITH (FORCE)`);
    await admin(`DROP DATABASE IF EXISTS ${peer} WITH (FORCE)`);
  }
}

await main();
