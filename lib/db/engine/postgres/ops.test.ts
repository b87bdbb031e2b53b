import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ConsoleQueryError, dropConsoleRole, ensureConsoleRole, runConsoleQuery } from "./console";
import {
  pgCountExpiredExecutions,
  pgDeleteExpiredExecutionsBatch,
  pgDeleteRunsBeyondCapBatch,
  pgEmptyDataTables,
  pgEstimateExecutionBytes,
  pgExportTableCsv,
  pgListJobsOverCap,
} from "./data";
import { exportPostgresSql } from "./dump";
import { pgAnalyze, pgCheckIntegrity, pgLockReport, pgOverview, pgVacuumAnalyze } from "./maintenance";
import { createSeededDatabase, listTables, rowCounts, type SeededDatabase } from "@/test/helpers/pg-ops-seed";

let db: SeededDatabase;
let tableCount: number;

beforeAll(async () => {
  db = await createSeededDatabase("pg_ops_page", 3, 40);
  tableCount = (await listTables(db.pool)).length;
});

afterAll(async () => {
  await db?.dropAll();
});

function consoleUrl(base: string, role: string): string {
  const url = new URL(base);
  url.username = role;
  url.password = "";
  return url.toString();
}

async function collect(chunks: AsyncGenerator<string>): Promise<string> {
  let text = "";
  for await (const chunk of chunks) text += chunk;
  return text;
}

describe("Database page figures and maintenance on PostgreSQL", () => {
  test("the overview gives the database size and per-table rows, dead rows, bytes and bloat", async () => {
    await db.pool.query("DELETE FROM job_executions WHERE id LIKE 'run-3-%' AND id > 'run-3-2'");
    await db.pool.query("ANALYZE");
    const overview = await pgOverview(db.pool);
    expect(overview).toMatchObject({ backend: "postgres", database: db.name, schema: "public", data_checksums: false, checksum_failures: 0 });
    expect(overview.database_bytes).toBeGreaterThan(0);
    const runs = overview.tables.find((table) => table.name === "job_executions");
    expect(runs).toBeDefined();
    expect(runs?.total_bytes).toBeGreaterThan(runs?.table_bytes ?? 0);
    expect(runs?.index_bytes).toBeGreaterThan(0);
    expect(overview.tables.map((table) => table.name)).toEqual(expect.arrayContaining(["scheduled_jobs", "audit_log", "users"]));
    expect(overview.connections.max).toBeGreaterThan(0);
  });

  test("VACUUM (ANALYZE) and ANALYZE run over every app table", async () => {
    const vacuum = await pgVacuumAnalyze(db.pool);
    expect(vacuum.tables).toBe(tableCount);
    expect(vacuum.database_bytes_after).toBeGreaterThan(0);
    const analyzed = await pgAnalyze(db.pool);
    expect(analyzed.tables).toBe(tableCount);
    const stats = await db.pool.query("SELECT count(*) AS n FROM pg_stats WHERE schemaname = 'public' AND tablename = 'job_executions'");
    expect(Number(stats.rows[0].n)).toBeGreaterThan(0);
  });

  test("without amcheck the integrity check checks nothing and says how to install it; with it, every btree index and table is checked", async () => {
    const missing = await pgCheckIntegrity(db.pool, "quick");
    expect(missing.ok).toBeNull();
    expect(missing.amcheck.installed).toBe(false);
    expect(missing.amcheck.how_to_install.join("\n")).toMatch(/CREATE EXTENSION amcheck/);

    await db.pool.query("CREATE EXTENSION amcheck");
    const quick = await pgCheckIntegrity(db.pool, "quick");
    expect(quick).toMatchObject({ mode: "quick", ok: true, problems: [], tables_checked: 0 });
    expect(quick.indexes_checked).toBeGreaterThanOrEqual(14);
    const full = await pgCheckIntegrity(db.pool, "full");
    expect(full).toMatchObject({ mode: "full", ok: true, problems: [], tables_checked: tableCount });
    expect(full.amcheck.how_to_install).toEqual([]);
  });

  test("a lock wait is reported with the session holding the lock, and a long transaction with the fix", async () => {
    const holder = new pg.Client({ connectionString: db.url, application_name: "holder" });
    const waiter = new pg.Client({ connectionString: db.url, application_name: "waiter" });
    await holder.connect();
    await waiter.connect();
    try {
      const holderPid = (await holder.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
      await holder.query("BEGIN");
      await holder.query("UPDATE scheduled_jobs SET name = 'held' WHERE id = 'job-1'");
      const blocked = waiter.query("UPDATE scheduled_jobs SET name = 'waiting' WHERE id = 'job-1'").catch(() => undefined);
      await expect.poll(async () => (await pgLockReport(db.pool, 0)).lock_waits.length, { timeout: 10_000 }).toBe(1);
      const report = await pgLockReport(db.pool, 0);
      expect(report.lock_waits[0]).toMatchObject({ application: "waiter", blocked_by: [holderPid] });
      expect(report.long_transactions.map((session) => session.application)).toContain("holder");
      expect(report.fix.join("\n")).toContain(`${holderPid}`);
      expect(report.fix.join("\n")).toMatch(/pg_terminate_backend/);
      expect(report.fix.join("\n")).toMatch(/idle_in_transaction_session_timeout/);
      await holder.query("ROLLBACK");
      await blocked;
      expect((await pgLockReport(db.pool, 3600)).fix).toEqual([]);
    } finally {
      await holder.end();
      await waiter.end();
    }
  });
});

describe("retention, reset and exports on PostgreSQL", () => {
  test("retention deletes old finished runs in batches on the primary key and never a running one", async () => {
    await db.pool.query(
      `INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by)
       SELECT 'old-' || g, 'job-1', 'pipe-1', '2020-01-01T00:00:00Z'::timestamptz + (g || ' minutes')::interval,
              CASE WHEN g = 1 THEN 'running' ELSE 'success' END, 'scheduler' FROM generate_series(1, 25) g`,
    );
    const scope = { cutoff: "2021-01-01T00:00:00.000Z", jobId: null };
    expect(await pgCountExpiredExecutions(db.pool, scope)).toBe(24);
    expect(await pgEstimateExecutionBytes(db.pool, scope, 24)).toBeGreaterThan(24 * 50);
    const deleted: string[] = [];
    for (;;) {
      const batch = await pgDeleteExpiredExecutionsBatch(db.pool, scope, 10);
      expect(batch.length).toBeLessThanOrEqual(10);
      if (batch.length === 0) break;
      deleted.push(...batch);
    }
    expect(deleted).toHaveLength(24);
    expect(deleted.every((id) => id.startsWith("old-") && id !== "old-1")).toBe(true);
    const left = await db.pool.query("SELECT id FROM job_executions WHERE id LIKE 'old-%'");
    expect(left.rows).toEqual([{ id: "old-1" }]);
  });

  test("the per-job cap keeps each job's newest runs", async () => {
    const over = await pgListJobsOverCap(db.pool, { cutoff: null, jobId: null }, 10);
    expect(over).toEqual([
      { jobId: "job-1", excess: 30 },
      { jobId: "job-2", excess: 30 },
      { jobId: "job-3", excess: 2 },
    ]);
    const newest = (await db.pool.query("SELECT id FROM job_executions WHERE job_id = 'job-2' ORDER BY start_time DESC, id DESC LIMIT 10")).rows.map(
      (row) => row.id,
    );
    let removed = 0;
    for (
      let batch = await pgDeleteRunsBeyondCapBatch(db.pool, "job-2", 10, 7);
      batch.length > 0;
      batch = await pgDeleteRunsBeyondCapBatch(db.pool, "job-2", 10, 7)
    ) {
      removed += batch.length;
    }
    expect(removed).toBe(30);
    const kept = (await db.pool.query("SELECT id FROM job_executions WHERE job_id = 'job-2' ORDER BY start_time DESC, id DESC")).rows.map((row) => row.id);
    expect(kept).toEqual(newest);
  });

  test("CSV export gives ISO timestamps and 1/0 booleans, in one snapshot", async () => {
    const csv = await collect(pgExportTableCsv(db.pool, "scheduled_jobs"));
    const lines = csv.trimEnd().split("\n");
    expect(lines[0]).toBe("id,name,pipeline,cron_expr,enabled,next_run,last_run,last_result,created_at,updated_at,owner,owner_scope");
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^job-\d,.*,[01],\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,/);
  });

  test("SQL export is the dump text, closed early without leaking its connection", async () => {
    const text = await collect(exportPostgresSql(db.pool));
    expect(text).toContain('COPY "scheduled_jobs"');
    expect(text.trimEnd().endsWith("-- mimir-dump: complete")).toBe(true);
    const early = exportPostgresSql(db.pool);
    await early.next();
    await early.return(undefined);
    expect(db.pool.totalCount - db.pool.idleCount).toBe(0);
  });

  test("reset empties the data tables and all operations but the running one, in one transaction", async () => {
    await db.pool.query(
      "INSERT INTO operations (id, kind, status, exclusive, created_at) VALUES ('op-old', 'backup', 'succeeded', false, now()), ('op-reset', 'reset', 'running', true, now())",
    );
    const deleted = await pgEmptyDataTables(db.pool, ["job_executions", "job_fires", "scheduled_jobs", "pipelines", "storage_samples"], {
      keepOperationId: "op-reset",
    });
    expect(deleted.scheduled_jobs).toBe(3);
    expect(deleted.operations).toBe(1);
    const counts = await rowCounts(db.pool, ["job_executions", "scheduled_jobs", "pipelines", "storage_samples", "operations", "users", "audit_log"]);
    expect(counts).toMatchObject({ job_executions: 0, scheduled_jobs: 0, pipelines: 0, storage_samples: 0, operations: 1, users: 1 });
    expect(counts.audit_log).toBeGreaterThan(0);
    await expect(pgEmptyDataTables(db.pool, ["scheduled_jobs", "no_such_table"], { keepOperationId: "op-reset" })).rejects.toThrow(/no_such_table/);
    expect((await rowCounts(db.pool, ["operations"])).operations).toBe(1);
  });
});

describe("read-only console through its own login role", () => {
  const role = `mimir_pg_ops_console_${randomBytes(4).toString("hex")}`;
  const limits = { rowCap: 5, timeoutMs: 2_000 };
  let url: string;

  beforeAll(async () => {
    await db.pool.query("INSERT INTO pipelines (name, config, created_at, updated_at) VALUES ('p-console', 'x', now(), now()) ON CONFLICT DO NOTHING");
    await ensureConsoleRole(db.pool, {
      role,
      password: randomBytes(12).toString("hex"),
      readable: ["scheduled_jobs", "pipelines", "job_executions", "system_metadata"],
      timeoutMs: limits.timeoutMs,
    });
    url = consoleUrl(db.url, role);
  });

  afterAll(async () => {
    await dropConsoleRole(db.pool, role);
  });

  const refused = async (sql: string) => {
    try {
      await runConsoleQuery(url, sql, limits);
    } catch (error) {
      expect(error).toBeInstanceOf(ConsoleQueryError);
      return error as ConsoleQueryError;
    }
    throw new Error(`the console ran: ${sql}`);
  };

  test("reads the allowed tables with a row cap", async () => {
    const result = await runConsoleQuery(url, "SELECT name, created_at FROM pipelines ORDER BY name;", limits);
    expect(result.columns).toEqual(["name", "created_at"]);
    expect(result.rows.length).toBeGreaterThan(0);
    expect(typeof result.rows[0]?.[1]).toBe("string");
    const many = await runConsoleQuery(url, "SELECT g FROM generate_series(1, 50) g", limits);
    expect(many).toMatchObject({ truncated: true });
    expect(many.rows).toHaveLength(5);
  });

  test("cannot read the credential tables, directly or through query_to_xml", async () => {
    expect((await refused("SELECT * FROM users")).kind).toBe("forbidden");
    expect((await refused("SELECT * FROM sessions")).kind).toBe("forbidden");
    expect((await refused("SELECT query_to_xml('select password_hash from users', true, true, '')")).kind).toBe("forbidden");
    const stats = await runConsoleQuery(url, "SELECT attname FROM pg_stats WHERE tablename IN ('users', 'api_tokens')", limits);
    expect(stats.rows).toEqual([]);
  });

  test("regression: the set_config('role', …) bypass of a SET LOCAL ROLE console does not work with a login role", async () => {
    // The app's own role (root here): the bypass switched back to the session user and read users.
    const appRole = (await db.pool.query("SELECT current_user AS role")).rows[0].role as string;
    // First the hole itself, so this test keeps meaning something: a role switch inside the app's session is undone from one SELECT.
    const app = await db.pool.connect();
    try {
      await app.query("BEGIN READ ONLY");
      await app.query(`SET LOCAL ROLE ${pg.escapeIdentifier(role)}`);
      await expect(app.query("SELECT * FROM users")).rejects.toThrow(/permission denied/);
      await app.query("ROLLBACK");
      await app.query("BEGIN READ ONLY");
      await app.query(`SET LOCAL ROLE ${pg.escapeIdentifier(role)}`);
      const leaked = await app.query(`SELECT set_config('role', '${appRole}', true), query_to_xml('select password_hash from users', true, true, '') AS x`);
      expect(String(leaked.rows[0].x)).toContain("scrypt$secret-hash");
    } finally {
      await app.query("ROLLBACK");
      app.release();
    }
    for (const target of [appRole, "postgres", role]) {
      const error = await refused(`SELECT set_config('role', '${target}', true), query_to_xml('select username, password_hash from users', true, true, '')`);
      expect(error.kind).toBe("forbidden");
    }
    const reset = await refused("SELECT set_config('session_authorization', 'postgres', true), query_to_xml('select * from users', true, true, '')");
    expect(reset.kind).toBe("forbidden");
  });

  test("cannot write, in any form", async () => {
    expect((await refused("INSERT INTO pipelines VALUES ('x', NULL, 'y', now(), now())")).kind).toBe("not_a_query");
    expect((await refused("WITH d AS (DELETE FROM pipelines RETURNING *) SELECT * FROM d")).kind).toBe("read_only");
    expect((await refused("SELECT query_to_xml('delete from pipelines', true, true, '')")).kind).toBe("read_only");
    expect(
      (await refused("SELECT set_config('transaction_read_only', 'off', true), query_to_xml('update scheduled_jobs set name = ''x''', true, true, '')")).kind,
    ).toMatch(/read_only|forbidden|invalid_sql/);
    expect((await refused("SELECT 1; DROP TABLE pipelines")).kind).toMatch(/too_many_statements|invalid_sql/);
    expect((await refused("SELECT pg_catalog.pg_read_file('/etc/passwd')")).kind).toBe("forbidden");
    expect((await db.pool.query("SELECT count(*) AS n FROM pipelines WHERE name = 'p-console'")).rows[0].n).toBe("1");
  });

  test("a query past the time limit is stopped", async () => {
    expect((await refused("SELECT pg_sleep(10)")).kind).toBe("timeout");
  });
});
