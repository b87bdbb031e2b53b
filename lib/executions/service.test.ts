import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { createJob } from "@/lib/jobs/service";
import { bulkInsertExecutions } from "@/lib/db/bulk";
import { getDb } from "@/lib/db/client";
import { exportExecutionsCsv, getExecution, getExecutionStatistics, listExecutions } from "@/lib/executions/service";
import { eq } from "drizzle-orm";
import { jobExecutions, type NewJobExecutionRow } from "@/lib/db/schema";
import { executionDto, OUTPUT_SUMMARY_CHARS, type ExecutionStatus } from "@/lib/executions/types";

let root: TestDataRoot;
const MS = 1_000_000;

function run(id: string, startTime: string, status: ExecutionStatus, durationMs: number | null, jobId = "a"): NewJobExecutionRow {
  return {
    id,
    jobId,
    pipeline: `p-${jobId}`,
    startTime,
    status,
    duration: durationMs === null ? null : durationMs * MS,
    triggeredBy: "scheduler",
    error: status === "failed" ? 'boom, "quoted"' : null,
  };
}

beforeAll(async () => {
  root = createTestDataRoot();
  await createJob({ id: "a", name: "a", pipeline: "p-a", cron_expr: "0 2 * * *", enabled: false }, null);
  await createJob({ id: "b", name: "b", pipeline: "p-b", cron_expr: "0 2 * * *", enabled: false }, null);
  const rows: NewJobExecutionRow[] = [];
  // Day 1: durations 1..20 s, all success, job a. Day 2: three runs with the same start time (ties), job b.
  for (let i = 1; i <= 20; i += 1)
    rows.push(run(`d1-${String(i).padStart(2, "0")}`, `2025-03-01T00:00:${String(i).padStart(2, "0")}.000Z`, "success", i * 1000));
  rows.push(
    run("d2-x", "2025-03-02T10:00:00.000Z", "failed", 500, "b"),
    run("d2-y", "2025-03-02T10:00:00.000Z", "success", 700, "b"),
    run("d2-z", "2025-03-02T10:00:00.000Z", "skipped", 0, "b"),
  );
  await bulkInsertExecutions(getDb(), rows);
});
afterAll(() => root.cleanup());

describe("history", () => {
  test("keyset pages walk every row once, newest first, through ties", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listExecutions({ limit: 2, cursor });
      seen.push(...page.items.map((item) => item.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(23);
    expect(new Set(seen).size).toBe(23);
    expect(seen.slice(0, 3).sort()).toEqual(["d2-x", "d2-y", "d2-z"]);
    expect(seen[3]).toBe("d1-20");
  });

  test.each([
    [{ status: "failed" as const }, ["d2-x"]],
    [{ job_id: "b", status: "skipped" as const }, ["d2-z"]],
    [{ pipeline: "p-a", from: "2025-03-01T00:00:19.000Z" }, ["d1-20", "d1-19"]],
    [{ to: "2025-03-01T00:00:02.000Z" }, ["d1-01"]],
  ])("filters %j", async (filters, ids) => {
    expect((await listExecutions({ limit: 50, ...filters })).items.map((item) => item.id)).toEqual(ids);
  });

  test("a tampered cursor is a 400, not a 500", async () => {
    await expect(listExecutions({ limit: 5, cursor: "not-a-cursor" })).rejects.toMatchObject({ code: "invalid_cursor", status: 400 });
  });
});

describe("statistics", () => {
  test("counts per day by status and nearest-rank p50/p95 of finished runs, in SQL", async () => {
    const stats = await getExecutionStatistics({ from: "2025-03-01T00:00:00.000Z", to: "2025-03-03T00:00:00.000Z" });
    expect(stats.total_executions).toBe(23);
    expect(stats.by_status).toEqual({ success: 21, failed: 1, skipped: 1 });
    expect(stats.success_rate).toBeCloseTo(21 / 22);
    expect(stats.per_day).toEqual([
      { day: "2025-03-01", total: 20, by_status: { success: 20 } },
      { day: "2025-03-02", total: 3, by_status: { failed: 1, success: 1, skipped: 1 } },
    ]);
    // Nearest rank over 1..20 s: p50 = 10th value, p95 = 19th; day 2 counts success and failed only.
    expect(stats.duration_per_day).toEqual([
      { day: "2025-03-01", runs: 20, p50_ms: 10_000, p95_ms: 19_000 },
      { day: "2025-03-02", runs: 2, p50_ms: 500, p95_ms: 700 },
    ]);
  });

  // A closed day's percentiles are remembered beside its counts: any change to the day's runs that can
  // move them (a run added, deleted, or finishing) changes the counts, and the next load reads them again.
  test("a past day's percentiles follow a run added, finishing and deleted on that day", async () => {
    const window = { from: "2025-03-02T00:00:00.000Z", to: "2025-03-03T00:00:00.000Z" };
    const day2 = async () => (await getExecutionStatistics(window)).duration_per_day[0];
    expect(await day2()).toEqual({ day: "2025-03-02", runs: 2, p50_ms: 500, p95_ms: 700 });
    await bulkInsertExecutions(getDb(), [run("d2-late", "2025-03-02T23:00:00.000Z", "running", null, "b")]);
    expect(await day2()).toEqual({ day: "2025-03-02", runs: 2, p50_ms: 500, p95_ms: 700 });
    await getDb()
      .update(jobExecutions)
      .set({ status: "success", duration: 9000 * MS })
      .where(eq(jobExecutions.id, "d2-late"));
    expect(await day2()).toEqual({ day: "2025-03-02", runs: 3, p50_ms: 700, p95_ms: 9000 });
    await getDb().delete(jobExecutions).where(eq(jobExecutions.id, "d2-late"));
    expect(await day2()).toEqual({ day: "2025-03-02", runs: 2, p50_ms: 500, p95_ms: 700 });
    // A run replaced by another of the same status between two loads: the counts are as they were, the durations are not.
    await getDb().delete(jobExecutions).where(eq(jobExecutions.id, "d2-y"));
    await bulkInsertExecutions(getDb(), [run("d2-w", "2025-03-02T11:00:00.000Z", "success", 8000, "b")]);
    expect(await day2()).toEqual({ day: "2025-03-02", runs: 2, p50_ms: 500, p95_ms: 8000 });
  });

  test("refuses an inverted or too long window", async () => {
    await expect(getExecutionStatistics({ from: "2025-03-02T00:00:00.000Z", to: "2025-03-01T00:00:00.000Z" })).rejects.toMatchObject({ status: 400 });
    await expect(getExecutionStatistics({ from: "2020-01-01T00:00:00.000Z", to: "2025-03-01T00:00:00.000Z" })).rejects.toMatchObject({ status: 400 });
  });
});

test("CSV export quotes fields and holds every matching row", async () => {
  let csv = "";
  for await (const chunk of exportExecutionsCsv({ job_id: "b" })) csv += chunk;
  const lines = csv.trim().split("\r\n");
  expect(lines[0]).toBe("id,job_id,pipeline,start_time,end_time,duration,status,error,triggered_by");
  expect(lines).toHaveLength(4);
  expect(csv).toContain('"boom, ""quoted"""');
});

describe("a run's steps as another writer stored them", () => {
  test("fields of other types read as the API documents them, entries that are no object dropped", async () => {
    const steps = [
      { step_name: "fetch", plugin: "Input.http", status: "success", duration: 1500 * MS, output: { rows: 3, note: "x".repeat(3000) } },
      { step_name: 7, plugin: null, status: "failed", error: { code: 500 }, duration: "1s", output: "kept as it is" },
      "not a step",
      null,
      { step_name: "mimir", plugin: "Output.json", start_time: "2025-04-01T00:00:00Z", end_time: "2025-04-01T00:00:01Z", status: "success", error: "" },
    ];
    await bulkInsertExecutions(getDb(), [{ ...run("odd-steps", "2025-04-01T00:00:00.000Z", "failed", 1000), steps: JSON.stringify(steps) }]);
    try {
      const execution = await getExecution("odd-steps");
      expect(execution.steps).toHaveLength(3);
      const [first, second, third] = execution.steps;
      expect(first).toMatchObject({ step_name: "fetch", plugin: "Input.http", duration: 1500 * MS });
      expect(first!.output).toHaveLength(OUTPUT_SUMMARY_CHARS + 1);
      expect(first!.output!.startsWith('{"rows":3,"note":"xxx')).toBe(true);
      expect(second).toMatchObject({ step_name: "7", plugin: "", status: "failed", error: '{"code":500}', duration: null, output: "kept as it is" });
      expect(third).toMatchObject({ step_name: "mimir", start_time: "2025-04-01T00:00:00Z", error: "", output: null });
      // What the API answers is what its schema says.
      expect(() => executionDto.parse(execution)).not.toThrow();
    } finally {
      await getDb().delete(jobExecutions).where(eq(jobExecutions.id, "odd-steps"));
    }
  });
});
