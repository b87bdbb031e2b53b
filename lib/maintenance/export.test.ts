import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { getDb } from "@/lib/db/client";
import { seedDemoData } from "@/lib/demo/seed";
import { recordAudit } from "@/lib/audit/service";
import { analyzeStatistics } from "@/lib/maintenance/service";
import { exportDatabaseSql, exportTableCsv, resolveExportTable } from "@/lib/maintenance/export";
import { csvField } from "@/lib/maintenance/csv";
import { runReadOnlyQuery, QUERY_ROW_CAP } from "@/lib/maintenance/query";

let root: TestDataRoot;
const sqlite = (file: string, ...args: string[]) => execFileSync("sqlite3", [file, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
const TRICKY = "Report, \"weekly\"\nline two,\r\nthird 🚀 ünïcode 'quoted'";

async function collect(chunks: AsyncGenerator<string>): Promise<string> {
  let text = "";
  for await (const chunk of chunks) text += chunk;
  return text;
}

beforeAll(async () => {
  root = createTestDataRoot();
  await seedDemoData(root.config, { executions: 3000, days: 30, logFiles: 0, seed: 3 });
  getDb()
    .$client.prepare(
      "INSERT INTO scheduled_jobs (id, name, pipeline, cron_expr, enabled, created_at, updated_at) VALUES ('tricky', ?, 'news-digest', '0 1 * * *', 1, '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')",
    )
    .run(TRICKY);
  // sqlite_sequence (audit_log is AUTOINCREMENT) and sqlite_stat1 must survive the round trip too.
  await recordAudit({ principal: null, action: "setup", result: "ok" });
  await analyzeStatistics();
});
afterAll(() => root.cleanup());

describe("SQL dump", () => {
  test("loads into the stock sqlite3 CLI with identical rows (.dump of both compared)", async () => {
    const dumpFile = path.join(root.home, "dump.sql");
    fs.writeFileSync(dumpFile, await collect(exportDatabaseSql()));
    const copy = path.join(root.home, "new.db");
    execFileSync("sqlite3", [copy], { input: fs.readFileSync(dumpFile) });
    // sqlite_stat4 (planner samples) is the one thing left out: the stock shell cannot load it either.
    const original = sqlite(root.config.paths.database, ".dump")
      .split("\n")
      .filter((line) => !line.startsWith("INSERT INTO sqlite_stat4") && line !== "ANALYZE sqlite_schema;")
      .join("\n");
    expect(original).toContain("INSERT INTO job_executions");
    expect(original).toContain("INSERT INTO sqlite_stat1");
    expect(original).toContain("INSERT INTO sqlite_sequence");
    expect(
      sqlite(copy, ".dump")
        .split("\n")
        .filter((line) => line !== "ANALYZE sqlite_schema;")
        .join("\n"),
    ).toBe(original);
    expect(sqlite(copy, "SELECT count(*) FROM job_executions").trim()).toBe("3000");
  });
});

describe("CSV export", () => {
  test("round-trips commas, quotes, newlines and emoji through sqlite3's own CSV import", async () => {
    const csvFile = path.join(root.home, "jobs.csv");
    fs.writeFileSync(csvFile, await collect(exportTableCsv(await resolveExportTable("scheduled_jobs"))));
    const header = fs.readFileSync(csvFile, "utf8").split("\r\n")[0];
    expect(header).toBe("id,name,pipeline,cron_expr,enabled,next_run,last_run,last_result,created_at,updated_at,owner,owner_scope");
    const imported = path.join(root.home, "imported.db");
    sqlite(imported, ".import --csv " + csvFile + " jobs");
    const name = execFileSync("sqlite3", ["-json", imported, "SELECT name FROM jobs WHERE id = 'tricky'"], { encoding: "utf8" });
    expect(JSON.parse(name)).toEqual([{ name: TRICKY }]);
    expect(sqlite(imported, "SELECT count(*) FROM jobs").trim()).toBe(String(getDb().$client.prepare("SELECT count(*) FROM scheduled_jobs").pluck().get()));
  });

  test.each([
    ["plain", "plain"],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["=1+2", "'=1+2"],
    ["-cmd", "'-cmd"],
    ["@SUM(A1)", "'@SUM(A1)"],
  ])("field %j is written as %s", (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  test.each(["no_such_table", "scheduled_jobs; DROP TABLE pipelines", "../../etc/passwd", "sqlite_master", '"scheduled_jobs"'])(
    "table %j is refused before any SQL is built",
    async (name) => {
      await expect(resolveExportTable(name)).rejects.toThrow(expect.objectContaining({ code: "not_found" }));
    },
  );
});

describe("read-only query console", () => {
  test("runs a SELECT and pages results up to the row cap", async () => {
    const result = await runReadOnlyQuery({ sql: "SELECT id, status FROM job_executions ORDER BY start_time" }, null);
    expect(result.columns).toEqual(["id", "status"]);
    expect(result.rows).toHaveLength(QUERY_ROW_CAP);
    expect(result.truncated).toBe(true);
  });

  test.each([
    ["DELETE FROM job_executions", "read_only"],
    ["UPDATE scheduled_jobs SET enabled = 0", "read_only"],
    ["DROP TABLE pipelines", "read_only"],
    ["PRAGMA journal_mode = DELETE", "read_only"],
    ["SELECT 1; DELETE FROM job_executions", "invalid_input"],
    ["ATTACH '/tmp/x.db' AS x", "invalid_input"],
    ["SELEC nonsense", "invalid_sql"],
  ])("%s is refused with %s and changes nothing", async (sql, code) => {
    const before = getDb().$client.prepare("SELECT count(*) FROM job_executions").pluck().get();
    await expect(runReadOnlyQuery({ sql }, null)).rejects.toMatchObject({ code });
    expect(getDb().$client.prepare("SELECT count(*) FROM job_executions").pluck().get()).toBe(before);
    expect(getDb().$client.pragma("journal_mode", { simple: true })).toBe("wal");
  });

  test("a query that runs too long is stopped at the time limit", async () => {
    // The recursive query never ends on its own: query_timeout at all is the limit at work.
    await expect(
      runReadOnlyQuery({ sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c" }, null),
    ).rejects.toMatchObject({ code: "query_timeout" });
  });
});
