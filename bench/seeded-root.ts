/**
 * The data root the HTTP benches serve: ROWS executions made by the project's seed (`npm run seed`'s
 * code), an admin account and a read token from the environment, and a month of storage samples every
 * sample interval (the worst case: the sampler's thinning has not run), made once and kept under
 * bench/.data. The same folder bench/history.ts seeds, so the two benches share the slow part.
 */
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { openDataRoot } from "@/lib/boot";
import { closeAppDatabase, getDb } from "@/lib/db/client";
import { SESSION_COOKIE, seedCredentialsFromEnvironment, signIn } from "@/lib/auth/service";
import { DEFAULT_SEED_OPTIONS, seedDemoData } from "@/lib/demo/seed";
import { countExecutions } from "@/lib/executions/queries";
import { measureStorage } from "@/lib/storage/usage";
import { storeSample } from "@/lib/storage/sampler";
import { migrateSqliteToPostgres } from "@/lib/maintenance/migrate-backend";
import pg from "pg";
import Database from "better-sqlite3";
import { ensureBenchDataRoot, ROOT as DATASET_ROOT } from "./data-root";

export const BENCH_TOKEN = "mimir_bench000000000000000000000000000000000000";
export const BENCH_ADMIN_PASSWORD = "bench-admin-password";
const SAMPLE_DAYS = 30;
const SAMPLE_MINUTES = 15;

export function benchEnvironment(home: string): Record<string, string> {
  return { MIMIR_HOME: home, MIMIR_API_TOKEN: BENCH_TOKEN, MIMIR_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD };
}

/**
 * Opens (seeding when short) the bench data root for `rows` executions, signs the admin in (the Cookie
 * header of a browser session, for the page bench), then closes the database again for the servers.
 */
export async function prepareSeededRoot(rows: number): Promise<{ home: string; database: string; cookie: string }> {
  const home = path.resolve(import.meta.dirname, ".data", `history-seed-${rows}`);
  const config = loadConfig(benchEnvironment(home), home);
  setConfig(config);
  fs.mkdirSync(home, { recursive: true });
  await openDataRoot(config);
  await seedCredentialsFromEnvironment(config);
  if ((await countExecutions()) < rows) {
    console.log(`seeding ${rows.toLocaleString()} executions into ${home} …`);
    const started = performance.now();
    await seedDemoData(config, {
      ...DEFAULT_SEED_OPTIONS,
      executions: rows,
      logFiles: 0,
      onProgress: (n) => process.stdout.write(`\r  ${n.toLocaleString()} rows`),
    });
    console.log(`\r  seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const db = getDb().$client;
  const oldest = db.prepare("SELECT min(taken_at) AS t FROM storage_samples").get() as { t: string | null };
  const monthAgo = Date.now() - SAMPLE_DAYS * 86_400_000;
  if (!oldest.t || Date.parse(oldest.t) > monthAgo + 86_400_000) {
    console.log(`adding ${SAMPLE_DAYS} days of storage samples every ${SAMPLE_MINUTES} min …`);
    const current = await measureStorage({ tables: false });
    const until = oldest.t ? Date.parse(oldest.t) : Date.now();
    for (let at = monthAgo; at < until; at += SAMPLE_MINUTES * 60_000) {
      await storeSample({ ...current, measured_at: new Date(at).toISOString() });
    }
  }
  return { home, database: config.paths.database, cookie: await signInAndClose() };
}

/** Signs the bench admin in on the open data root (the Cookie header of a browser session, for the page bench), then closes its database for the servers. */
async function signInAndClose(): Promise<string> {
  const { sessionToken } = await signIn("admin", BENCH_ADMIN_PASSWORD, { ip: "127.0.0.1", userAgent: "bench" });
  getDb().$client.pragma("wal_checkpoint(TRUNCATE)");
  await closeAppDatabase();
  return `${SESSION_COOKIE}=${encodeURIComponent(sessionToken)}`;
}

/**
 * BENCH_DATASET=full: the backup and restore benches' dataset (bench/data-root.ts: 1M runs, 1,008 jobs,
 * 508 pipeline files, 200 MB of logs) instead of the history seed (15 jobs, 16 pipelines), for the
 * pages and requests whose cost grows with the number of jobs and pipelines. SQLite only.
 */
async function prepareFullDataset(): Promise<{ home: string; database: string; cookie: string }> {
  ensureBenchDataRoot();
  const config = loadConfig(benchEnvironment(DATASET_ROOT), DATASET_ROOT);
  setConfig(config);
  await openDataRoot(config);
  await seedCredentialsFromEnvironment(config);
  return { home: DATASET_ROOT, database: config.paths.database, cookie: await signInAndClose() };
}

/** The history seed of `rows` runs, or the full dataset when BENCH_DATASET=full. */
export function prepareBenchData(rows: number): Promise<{ home: string; database: string; cookie: string }> {
  return process.env.BENCH_DATASET === "full" ? prepareFullDataset() : prepareSeededRoot(rows);
}

/** BENCH_BACKEND=postgres: the HTTP benches serve the same seed from PostgreSQL (bench/.data's SQLite file, migrated once). */
export const BENCH_BACKEND: "sqlite" | "postgres" = process.env.BENCH_BACKEND === "postgres" ? "postgres" : "sqlite";
const PG_SERVER_URL = process.env.MIMIR_BENCH_PG_URL || process.env.MIMIR_TEST_PG_URL || "postgres://root@127.0.0.1:5432/postgres";

/** What a bench needs to start our server on the seed, on either backend, and to start the peers on the same data. */
export interface BenchRoot {
  home: string;
  /** our server's environment (benchEnvironment, plus the backend's) */
  env: Record<string, string>;
  /** the Cookie header of a signed-in admin */
  cookie: string;
  /** one row of a read-only query on the database our server will serve (SQLite file or PostgreSQL) */
  queryOne<T>(sql: string): Promise<T>;
  /** the peers' environment: BENCH_DB (SQLite) or BENCH_PG_URL (PostgreSQL) */
  peerEnv: Record<string, string>;
}

async function pgQuery<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/**
 * The seed on the backend BENCH_BACKEND names. On PostgreSQL: a database `mimir_bench_seed_<rows>` on
 * MIMIR_BENCH_PG_URL's server, filled once by our own migrate-to-postgres from the SQLite seed and kept
 * for the next run (BENCH_PG_FRESH=1 makes it again), and a data root of its own for the server's
 * folders (logs, config, backups) beside the SQLite one.
 */
export async function prepareBenchRoot(rows: number): Promise<BenchRoot> {
  if (process.env.BENCH_DATASET === "full" && BENCH_BACKEND !== "sqlite") throw new Error("BENCH_DATASET=full is a SQLite data root");
  const seeded = await prepareBenchData(rows);
  if (BENCH_BACKEND === "sqlite") {
    const queryOne = async <T>(sql: string): Promise<T> => {
      const db = new Database(seeded.database, { readonly: true });
      try {
        return db.prepare(sql).get() as T;
      } finally {
        db.close();
      }
    };
    return { home: seeded.home, env: benchEnvironment(seeded.home), cookie: seeded.cookie, queryOne, peerEnv: { BENCH_DB: seeded.database } };
  }
  const name = `mimir_bench_seed_${rows}`;
  const url = new URL(PG_SERVER_URL);
  url.pathname = `/${name}`;
  const exists = (await pgQuery(PG_SERVER_URL, `SELECT 1 FROM pg_database WHERE datname = '${name}'`)).length > 0;
  const filled =
    exists &&
    process.env.BENCH_PG_FRESH !== "1" &&
    Number((await pgQuery<{ n: string }>(url.toString(), "SELECT count(*) AS n FROM job_executions").catch(() => [{ n: "0" }]))[0]!.n) >= rows;
  if (!filled) {
    await pgQuery(PG_SERVER_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await pgQuery(PG_SERVER_URL, `CREATE DATABASE ${name}`);
    console.log(`migrating the seed into PostgreSQL (${name}) …`);
    const started = performance.now();
    setConfig(loadConfig(benchEnvironment(seeded.home), seeded.home));
    const result = await migrateSqliteToPostgres(url.toString(), { writeConfig: false, hashSource: false });
    if (!result.tables.every((table) => table.ok)) throw new Error("the migration of the bench seed did not verify");
    console.log(`  migrated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const home = `${seeded.home}-pg`;
  fs.mkdirSync(home, { recursive: true });
  const env = { ...benchEnvironment(home), MIMIR_PERSISTENCE_BACKEND: "postgres", MIMIR_CONNECTION_STRING: url.toString() };
  const config = loadConfig(env, home);
  setConfig(config);
  await openDataRoot(config);
  await seedCredentialsFromEnvironment(config);
  const { sessionToken } = await signIn("admin", BENCH_ADMIN_PASSWORD, { ip: "127.0.0.1", userAgent: "bench" });
  await closeAppDatabase();
  return {
    home,
    env,
    cookie: `${SESSION_COOKIE}=${encodeURIComponent(sessionToken)}`,
    queryOne: async <T>(sql: string) => (await pgQuery(url.toString(), sql))[0] as T,
    peerEnv: { BENCH_PG_URL: url.toString() },
  };
}

/**
 * A copy of a bench root that a bench may change (a cleanup deletes, a restore replaces), at `home`:
 * its folders copied and, on PostgreSQL, its database cloned (CREATE DATABASE … TEMPLATE, a file copy
 * on the server). Resolves with the environment of a server on the copy; `drop()` removes it.
 */
export async function copyBenchRoot(root: BenchRoot, home: string, label: string): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  fs.rmSync(home, { recursive: true, force: true });
  fs.cpSync(root.home, home, { recursive: true });
  const env = { ...root.env, MIMIR_HOME: home };
  const removeFolders = () => fs.rmSync(home, { recursive: true, force: true });
  const source = root.env.MIMIR_CONNECTION_STRING;
  if (!source) return { env, drop: async () => removeFolders() };
  const url = new URL(source);
  const name = `mimir_bench_copy_${label.replace(/\W/g, "_")}_${process.pid}`;
  await pgQuery(PG_SERVER_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await pgQuery(PG_SERVER_URL, `CREATE DATABASE ${name} TEMPLATE ${url.pathname.slice(1)}`);
  url.pathname = `/${name}`;
  return {
    env: { ...env, MIMIR_CONNECTION_STRING: url.toString() },
    drop: async () => {
      await pgQuery(PG_SERVER_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      removeFolders();
    },
  };
}

/**
 * BENCH_BACKEND=postgres for the restore bench: bench/.data/root (the dataset: 1M runs, 200 MB of
 * logs, 100 MB of plugins, 500 pipelines) with its database in PostgreSQL (`mimir_bench_dataset`,
 * filled once by our own migrate-to-postgres from the dataset's SQLite file) and its folders, but for
 * that file, copied to bench/.data/root-pg. Resolves with that home and the environment serving it.
 */
export async function preparePostgresDataset(): Promise<{ home: string; env: Record<string, string> }> {
  ensureBenchDataRoot();
  const name = "mimir_bench_dataset";
  const url = new URL(PG_SERVER_URL);
  url.pathname = `/${name}`;
  const home = path.join(path.dirname(DATASET_ROOT), "root-pg");
  const ready = path.join(home, ".bench-ready");
  const exists = (await pgQuery(PG_SERVER_URL, `SELECT 1 FROM pg_database WHERE datname = '${name}'`)).length > 0;
  if (!exists || !fs.existsSync(ready)) {
    await pgQuery(PG_SERVER_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await pgQuery(PG_SERVER_URL, `CREATE DATABASE ${name}`);
    console.error(`migrating the dataset's database into PostgreSQL (${name}) …`);
    const started = performance.now();
    setConfig(loadConfig({ ...process.env, MIMIR_HOME: DATASET_ROOT }, DATASET_ROOT));
    const result = await migrateSqliteToPostgres(url.toString(), { writeConfig: false, hashSource: false });
    if (!result.tables.every((table) => table.ok)) throw new Error("the migration of the bench dataset did not verify");
    console.error(`  migrated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    fs.rmSync(home, { recursive: true, force: true });
    // Everything but the SQLite database (and its WAL and shm files), which lives in the server now, and the sets.
    const leftOut = (relative: string) => relative.startsWith("backups") || relative.startsWith(path.join("data", "mimir.db")) || relative === ".bench-ready";
    fs.cpSync(DATASET_ROOT, home, { recursive: true, filter: (source) => !leftOut(path.relative(DATASET_ROOT, source)) });
    fs.writeFileSync(ready, "");
  }
  return { home, env: { MIMIR_PERSISTENCE_BACKEND: "postgres", MIMIR_CONNECTION_STRING: url.toString() } };
}
