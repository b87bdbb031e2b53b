import fs from "node:fs";
import pg from "pg";
import { closeAppDatabase } from "@/lib/db/client";
import { installPostgresAppDatabase, openPostgresPool } from "@/lib/db/postgres";
import { bindSchemaBackend } from "@/lib/db/schema/select";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { createScratchDatabase, type ScratchDatabase } from "@/test/helpers/postgres";

/**
 * A migrated scratch database (test/helpers/postgres.ts) with a pool on it and rows in every table the
 * backup, restore and Database page operations touch, on the app's real PostgreSQL schema.
 */

export interface SeededDatabase extends ScratchDatabase {
  pool: pg.Pool;
  /** ends the pool and drops the database */
  dropAll: () => Promise<void>;
}

export async function createSeededDatabase(label: string, jobs = 3, runsPerJob = 20): Promise<SeededDatabase> {
  const scratch = await createScratchDatabase({ label });
  const pool = openPostgresPool(scratch.url, { max_open: 4, max_idle: 0, max_lifetime_seconds: 0, connect_timeout_seconds: 10 });
  try {
    await seedRows(pool, jobs, runsPerJob);
  } catch (error) {
    await pool.end();
    await scratch.drop();
    throw error;
  }
  return {
    ...scratch,
    pool,
    dropAll: async () => {
      await pool.end().catch(() => undefined);
      await scratch.drop();
    },
  };
}

/** `jobs` jobs with `runsPerJob` runs each (text with tabs, newlines, backslashes and quotes), a user, a session, a token, audit rows, samples. */
export async function seedRows(pool: pg.Pool, jobs: number, runsPerJob: number): Promise<void> {
  await pool.query(
    `INSERT INTO pipelines (name, description, config, created_at, updated_at)
     SELECT 'pipe-' || g, E'desc \\t tab', E'steps:\\n  - name: "x"\\n    path: C:\\\\temp', now(), now() FROM generate_series(1, $1) g`,
    [jobs],
  );
  await pool.query(
    `INSERT INTO scheduled_jobs (id, name, pipeline, cron_expr, enabled, next_run, created_at, updated_at)
     SELECT 'job-' || g, 'Job ' || g, 'pipe-' || g, '0 2 * * *', g % 2 = 0, now(), now(), now() FROM generate_series(1, $1) g`,
    [jobs],
  );
  await pool.query(
    `INSERT INTO job_executions (id, job_id, pipeline, start_time, end_time, duration, status, error, context, steps, triggered_by)
     SELECT 'run-' || j || '-' || r, 'job-' || j, 'pipe-' || j, now() - (r || ' hours')::interval, now(), 5000000000,
            CASE WHEN r % 5 = 0 THEN 'failed' ELSE 'success' END, CASE WHEN r % 5 = 0 THEN E'line1\\nline2\\t\\\\end' END, '{"k":"v"}', '[]', 'scheduler'
       FROM generate_series(1, $1) j, generate_series(1, $2) r`,
    [jobs, runsPerJob],
  );
  await pool.query(
    `INSERT INTO users (id, username, password_hash, role, created_at, updated_at) VALUES ('u1', 'admin', 'scrypt$secret-hash', 'admin', now(), now())
     ON CONFLICT DO NOTHING`,
  );
  await pool.query(
    `INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen_at) VALUES ('sess-hash', 'u1', now(), now() + interval '1 day', now())
     ON CONFLICT DO NOTHING`,
  );
  await pool.query(
    `INSERT INTO api_tokens (id, name, token_hash, prefix, scope, created_at) VALUES ('t1', 'ci', 'token-hash', 'mimir_ab', 'read', now()) ON CONFLICT DO NOTHING`,
  );
  await pool.query(
    `INSERT INTO audit_log (at, actor, actor_type, action, result) SELECT now(), 'system', 'system', 'seed-' || g, 'ok' FROM generate_series(1, 5) g`,
  );
  await pool.query(`INSERT INTO storage_samples (taken_at, volume, bytes, files) SELECT now(), 'mimir_data', 3000000000 + g, g FROM generate_series(1, 4) g`);
}

/** Every table of the public schema, the migrations journal included. */
export async function listTables(pool: pg.Pool): Promise<string[]> {
  const rows = await pool.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
  return rows.rows.map((row) => row.name);
}

export async function rowCounts(pool: pg.Pool, tables?: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables ?? (await listTables(pool))) {
    const row = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(table)}`);
    counts[table] = Number(row.rows[0]?.n);
  }
  return counts;
}

/**
 * A data root (test/helpers/data-root.ts) whose process-wide database is `db` on PostgreSQL, as boot
 * makes it with MIMIR_PERSISTENCE_BACKEND=postgres: config, engine and schema all on PostgreSQL.
 * The caller drops `db` itself after cleanup().
 */
export async function createPostgresDataRoot(db: ScratchDatabase): Promise<TestDataRoot> {
  const root = createTestDataRoot({ MIMIR_PERSISTENCE_BACKEND: "postgres", MIMIR_CONNECTION_STRING: db.url });
  await closeAppDatabase();
  // A deployment on PostgreSQL has no mimir.db in its data volume.
  for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(root.config.paths.database + suffix, { force: true });
  installPostgresAppDatabase(db.url, { max_open: 4, max_idle: 0, max_lifetime_seconds: 0, connect_timeout_seconds: 10 });
  return {
    ...root,
    cleanup: () => {
      void closeAppDatabase();
      bindSchemaBackend("sqlite");
      fs.rmSync(root.home, { recursive: true, force: true });
    },
  };
}
