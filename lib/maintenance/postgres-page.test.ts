import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { dropConsoleRole } from "@/lib/db/engine/postgres/console";
import { exportDatabaseSql, exportTableCsv, resolveExportTable } from "@/lib/maintenance/export";
import { consoleRoleName } from "@/lib/maintenance/postgres-console";
import { runReadOnlyQuery } from "@/lib/maintenance/query";
import { runRetentionCleanup } from "@/lib/maintenance/retention";
import { getDatabaseOverview, listTableSummaries, runIntegrityCheck, startMaintenance, vacuumDatabase } from "@/lib/maintenance/service";
import type { TestDataRoot } from "@/test/helpers/data-root";
import { createPostgresDataRoot, createSeededDatabase, type SeededDatabase } from "@/test/helpers/pg-ops-seed";

/** The Database page's services on a deployment running on PostgreSQL. */

let root: TestDataRoot;
let db: SeededDatabase;

beforeAll(async () => {
  db = await createSeededDatabase("pg_ops_page_services", 2, 10);
  root = await createPostgresDataRoot(db);
});

afterAll(async () => {
  root?.cleanup();
  await dropConsoleRole(db.pool, consoleRoleName(db.name)).catch(() => undefined);
  await db?.dropAll();
});

async function collect(chunks: AsyncGenerator<string>): Promise<string> {
  let text = "";
  for await (const chunk of chunks) text += chunk;
  return text;
}

describe("Database page services on PostgreSQL", () => {
  test("the overview says which backend is in use and gives per-table figures", async () => {
    const overview = await getDatabaseOverview();
    expect(overview.backend).toBe("postgres");
    if (overview.backend !== "postgres") return;
    expect(overview.database).toBe(db.name);
    expect(overview.tables.find((table) => table.name === "job_executions")?.total_bytes).toBeGreaterThan(0);
    expect(overview.locks.lock_waits).toEqual([]);
    const tables = await listTableSummaries();
    const jobs = tables.find((table) => table.name === "scheduled_jobs");
    expect(jobs?.rows).toBe(2);
    expect(jobs?.columns.find((column) => column.name === "id")).toMatchObject({ primary_key: true, type: "text" });
  });

  test("WAL checkpoint and recover answer 501 with what to do instead", async () => {
    await expect(startMaintenance("checkpoint", null)).rejects.toMatchObject({ code: "unavailable_on_postgres" });
    await expect(startMaintenance("recover", null)).rejects.toThrow(/restore the latest verified backup/);
  });

  test("VACUUM (ANALYZE) runs; the integrity check says how to install amcheck, then checks with it", async () => {
    const vacuum = await vacuumDatabase();
    expect(vacuum).toMatchObject({ tables: expect.any(Number) });
    await expect(runIntegrityCheck(true)).rejects.toThrow(/CREATE EXTENSION amcheck/);
    await db.pool.query("CREATE EXTENSION amcheck");
    expect(await runIntegrityCheck(false)).toMatchObject({ ok: true, problems: [], mode: "integrity_check" });
  });

  test("retention cleanup deletes old runs in batches and reports nothing about WAL or free pages", async () => {
    await db.pool.query(
      `INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by)
       SELECT 'ancient-' || g, 'job-1', 'pipe-1', '2019-06-01T00:00:00Z', 'success', 'scheduler' FROM generate_series(1, 40) g`,
    );
    const dry = await runRetentionCleanup({ dry_run: true, retention_days: 365 });
    expect(dry).toMatchObject({ expired_rows: 40, deleted_rows: 0 });
    const report = await runRetentionCleanup({ dry_run: false, retention_days: 365 });
    expect(report).toMatchObject({ expired_rows: 40, deleted_rows: 40, space_returned_by: "none", free_pages_left: 0 });
    expect((await db.pool.query("SELECT count(*) AS n FROM job_executions WHERE id LIKE 'ancient-%'")).rows[0].n).toBe("0");
  });

  test("SQL and CSV exports read the PostgreSQL database; credential tables are refused as CSV", async () => {
    expect(await collect(exportDatabaseSql())).toContain('COPY "scheduled_jobs"');
    const csv = await collect(exportTableCsv(await resolveExportTable("scheduled_jobs")));
    expect(csv.split("\r\n")[0]).toBe("id,name,pipeline,cron_expr,enabled,next_run,last_run,last_result,created_at,updated_at,owner,owner_scope");
    expect(csv).toMatch(/\r\njob-1,Job 1,pipe-1,0 2 \* \* \*,0,\d{4}-\d\d-\d\dT/);
    await expect(resolveExportTable("users")).rejects.toMatchObject({ code: "forbidden" });
  });

  test("the console reads through its own login role: jobs yes, users and writes no", async () => {
    const result = await runReadOnlyQuery({ sql: "SELECT id, enabled FROM scheduled_jobs ORDER BY id" }, null);
    expect(result.rows).toEqual([
      ["job-1", false],
      ["job-2", true],
    ]);
    await expect(runReadOnlyQuery({ sql: "SELECT * FROM users" }, null)).rejects.toMatchObject({ code: "forbidden" });
    await expect(runReadOnlyQuery({ sql: "SELECT query_to_xml('select * from api_tokens', true, true, '')" }, null)).rejects.toMatchObject({
      code: "forbidden",
    });
    await expect(runReadOnlyQuery({ sql: "DELETE FROM pipelines" }, null)).rejects.toMatchObject({ code: "invalid_input" });
    const who = await runReadOnlyQuery({ sql: "SELECT session_user, current_setting('transaction_read_only')" }, null);
    expect(who.rows[0]).toEqual([consoleRoleName(db.name), "on"]);
  });
});
