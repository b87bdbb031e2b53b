import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { getDb } from "@/lib/db/client";
import { isPostgres } from "@/lib/db/dialect";
import { backups, jobExecutions, offsiteCopies, offsiteDestinations, scheduledJobs, storageAlerts, type NewJobExecutionRow } from "@/lib/db/schema";
import { VOLUMES } from "@/lib/config/volumes";
import { route } from "@/lib/http";
import { executionIdParams } from "@/lib/executions/inputs";
import { renderMetrics, warmUpMetrics } from "@/lib/metrics/collectors";
import { recordHttpRequest, routeTemplate } from "@/lib/metrics/http";
import { reusedInBackground, tableScans, warmTableScans } from "@/lib/metrics/run-duration";
import { takeStorageSample } from "@/lib/storage/sampler";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { testBackend } from "@/test/helpers/postgres";
import type { ExecutionStatus } from "@/lib/executions/types";

let root: TestDataRoot;
beforeAll(async () => {
  root = createTestDataRoot();
  const now = new Date().toISOString();
  await getDb().insert(scheduledJobs).values({ id: "j1", name: "j1", pipeline: "p", cronExpr: "* * * * *", createdAt: now, updatedAt: now });
  const run = (id: string, status: ExecutionStatus, seconds: number | null): NewJobExecutionRow => ({
    id,
    jobId: "j1",
    pipeline: "p",
    startTime: now,
    status,
    triggeredBy: "api",
    duration: seconds === null ? null : seconds * 1e9,
  });
  await getDb()
    .insert(jobExecutions)
    .values([run("a", "success", 2), run("b", "success", 90), run("c", "failed", 0.5), run("d", "running", null)]);
  await takeStorageSample();
  recordHttpRequest("GET", "/api/v1/jobs/[id]", 200, 12);
  // What boot starts: a scrape never waits for these passes (see below).
  await warmTableScans();
});
afterAll(() => root.cleanup());

test("/metrics passes promtool check metrics", async () => {
  const { text, contentType } = await renderMetrics();
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (check.error) throw new Error("promtool is missing: run scripts/ensure-test-tools.sh (apt-get install prometheus)");
  expect(check.stdout + check.stderr).toBe("");
  expect(check.status).toBe(0);
});

test("/metrics carries volumes, database, runs, durations, backups, alerts and HTTP", async () => {
  const { text } = await renderMetrics();
  expect(text).toMatch(/^mimir_volume_bytes\{volume="mimir_data"\} \d+$/m);
  expect(text).toMatch(/^mimir_filesystem_free_bytes\{volume="backups"\} \d+$/m);
  expect(text).toMatch(/^mimir_database_bytes\{file="wal"\} \d+$/m);
  expect(text).toMatch(/^mimir_table_rows\{table="job_executions"\} 4$/m);
  expect(text).toMatch(/^mimir_job_runs\{status="success"\} 2$/m);
  expect(text).toMatch(/^mimir_job_run_duration_seconds_bucket\{le="1"\} 1$/m);
  expect(text).toMatch(/^mimir_job_run_duration_seconds_bucket\{le="60"\} 2$/m);
  expect(text).toMatch(/^mimir_job_run_duration_seconds_bucket\{le="\+Inf"\} 3$/m);
  expect(text).toMatch(/^mimir_job_run_duration_seconds_sum 92\.5$/m);
  expect(text).toMatch(/^mimir_backup_last_success_timestamp_seconds 0$/m);
  expect(text).toMatch(/^mimir_backups 0$/m);
  expect(text).not.toMatch(/^mimir_backup_last_age_seconds/m);
  expect(text).not.toMatch(/^mimir_volume_bytes\{volume="database/m);
  expect(text).toMatch(/^mimir_http_requests_total\{method="GET",route="\/api\/v1\/jobs\/\[id\]",status="200"\} 1$/m);
  expect(text).toMatch(/^mimir_http_request_duration_seconds_bucket\{le="0.025",method="GET",route="\/api\/v1\/jobs\/\[id\]",status="200"\} 1$/m);
});

test.each([
  ["/api/v1/storage/history", {}, "/api/v1/storage/history"],
  ["/api/v1/scheduler/jobs/3f2a-77/enable", { id: "3f2a-77" }, "/api/v1/scheduler/jobs/[id]/enable"],
  ["/api/v1/jobs/nightlybackup", { id: "nightlybackup" }, "/api/v1/jobs/[id]"],
  ["/api/v1/pipelines/a%20b/validate", { id: "a b" }, "/api/v1/pipelines/[id]/validate"],
  ["/api/v1/export/csv/job_executions", { table: "job_executions" }, "/api/v1/export/csv/[table]"],
  ["/health", {}, "/health"],
  ["/api/v1/jobs/%3Cscript%3E", {}, "other"],
  ["/api/v1/jobs/x", { id: "y" }, "other"],
  // The API's catch-all (unknown paths) takes the tail of the path, wherever its first value recurs.
  ["/api/v1/nope/deeper", { path: ["nope", "deeper"] }, "/api/v1/[...path]"],
  ["/api/v1/api/qzxwvy", { path: ["api", "qzxwvy"] }, "/api/v1/[...path]"],
])("route template of %s is %s", (path, params, label) => {
  expect(routeTemplate(path, params)).toBe(label);
});

function httpSeries(text: string): string[] {
  return text.split("\n").filter((line) => line.startsWith("mimir_http_requests_total{"));
}

test("requests for hundreds of distinct ids, refused or not found, add no series", async () => {
  const getExecution = route({ access: "read", params: executionIdParams }, () => ({}));
  const lowercaseId = (n: number) => Array.from({ length: 2000 }, (_, i) => String.fromCharCode(97 + ((n * 7 + i * 13) % 26))).join("");
  const call = (id: string) => getExecution(new Request(`http://localhost/api/v1/jobs/${id}`), { params: Promise.resolve({ id }) });
  expect((await call(lowercaseId(0))).status).toBe(401);
  const before = httpSeries((await renderMetrics()).text);
  for (let n = 1; n <= 300; n += 1) expect((await call(lowercaseId(n))).status).toBe(401);
  const after = httpSeries((await renderMetrics()).text);
  expect(after.map((line) => line.replace(/ \d+$/, ""))).toEqual(before.map((line) => line.replace(/ \d+$/, "")));
  expect(after.join("\n")).toContain('route="/api/v1/jobs/[id]",status="401"} 301');
});

// On SQLite every statement holds the event loop: a scrape reads small tables only, a fixed number of
// times, and the passes over whole tables (row counts, run tallies) are reused and run off the loop.
/**
 * The statements (pragmas aside) `work` runs on the app's SQLite connection: counted where they run,
 * not where they are compiled, since the scrape's are compiled once per connection (preparedQuery).
 */
async function statementsOf(work: () => Promise<unknown>): Promise<string[]> {
  const statement = Object.getPrototypeOf(getDb().$client.prepare("SELECT 1")) as Record<string, unknown>;
  const seen: string[] = [];
  const runners = ["all", "get", "run", "iterate"] as const;
  const originals = runners.map((name) => statement[name] as (...args: unknown[]) => unknown);
  runners.forEach((name, i) => {
    statement[name] = function (this: { source: string }, ...args: unknown[]) {
      seen.push(this.source);
      return originals[i]!.apply(this, args);
    };
  });
  try {
    await work();
  } finally {
    runners.forEach((name, i) => (statement[name] = originals[i]));
  }
  return seen.filter((source) => !/^PRAGMA/i.test(source));
}

test("a scrape runs three statements on the app connection, none over the history", async () => {
  await renderMetrics();
  const statements = await (isPostgres() ? poolStatementsOf : statementsOf)(renderMetrics);
  expect(statements).toHaveLength(3);
  expect(statements.join("\n")).not.toMatch(/job_executions/);
});

/** The statements the app's PostgreSQL pool is sent while `work` runs (what statementsOf is on SQLite). */
async function poolStatementsOf(work: () => Promise<unknown>): Promise<string[]> {
  const pool = getDb().$client as unknown as { query: (...args: unknown[]) => unknown };
  const query = pool.query;
  const seen: string[] = [];
  pool.query = function (this: unknown, ...args: unknown[]) {
    const [first] = args as [string | { text: string }];
    seen.push(typeof first === "string" ? first : first.text);
    return query.apply(this, args);
  };
  try {
    await work();
  } finally {
    pool.query = query;
  }
  return seen;
}

test("scrapes at once read a snapshot each, never another's nor a third", async () => {
  const statementsOfEither = isPostgres() ? poolStatementsOf : statementsOf;
  const one = await statementsOfEither(renderMetrics);
  // Each starts while the one before is collecting its gauges, and ends before the next.
  const staggered = () => Promise.all([0, 1, 2].map((i) => new Promise((resolve) => setTimeout(resolve, i * 2)).then(renderMetrics)));
  const three = await statementsOfEither(staggered);
  expect(three.sort()).toEqual([...one, ...one, ...one].sort());
});

test("the backup and offsite families come from one read each: the newest set, the count, and per destination its newest verified copy", async () => {
  const manifest = JSON.stringify({ archives: Object.fromEntries(VOLUMES.map((name) => [name, { bytes: 1, files: 1 }])), row_counts: {} });
  const set = (id: string, createdAt: string) => ({ id, createdAt, trigger: "manual" as const, bytes: 1000, manifest, verifyStatus: "ok" as const });
  await getDb()
    .insert(backups)
    .values([set("20250101-000000", "2025-01-01T00:00:00.000Z"), set("20250102-000000", "2025-01-02T00:00:00.000Z")]);
  const at = "2025-01-03T00:00:00.000Z";
  await getDb()
    .insert(offsiteDestinations)
    .values(
      ["s3-a", "empty-b"].map((id) => ({
        id,
        name: id,
        kind: "folder",
        enabled: true,
        settings: "{}",
        requireEncrypted: false,
        keepMin: 1,
        createdAt: at,
        updatedAt: at,
      })),
    );
  const copy = (backupId: string, status: "verified" | "failed", verifiedAt: string | null, bytes: number, failures: number) => ({
    backupId,
    destinationId: "s3-a",
    status,
    bytes,
    totalBytes: bytes,
    provenFiles: "[]",
    verifiedAt,
    failures,
    updatedAt: at,
  });
  await getDb()
    .insert(offsiteCopies)
    .values([copy("20250101-000000", "verified", "2025-01-01T01:00:00.000Z", 111, 0), copy("20250102-000000", "verified", "2025-01-02T01:00:00.000Z", 222, 2)]);
  const { text } = await renderMetrics();
  expect(text).toMatch(/^mimir_backups 2$/m);
  expect(text).toMatch(/^mimir_backup_last_bytes\{backup="20250102-000000"\} 1000$/m);
  expect(text).toMatch(/^mimir_backup_last_verified\{backup="20250102-000000"\} 1$/m);
  expect(text).toContain(`mimir_offsite_last_success_timestamp_seconds{destination="s3-a"} ${Date.parse("2025-01-02T01:00:00.000Z") / 1000}`);
  expect(text).toMatch(/^mimir_offsite_last_bytes\{destination="s3-a"\} 222$/m);
  expect(text).toMatch(/^mimir_offsite_failures\{destination="s3-a"\} 2$/m);
  expect(text).toMatch(/^mimir_offsite_last_success_timestamp_seconds\{destination="empty-b"\} 0$/m);
  expect(text).toMatch(/^mimir_offsite_failures\{destination="empty-b"\} 0$/m);
});

test("the alert states come with the latest samples, in the same statement: raised 1, cleared 0, and the samples still whole", async () => {
  const at = new Date().toISOString();
  const alert = (key: string, state: "raised" | "cleared") => ({
    key,
    state,
    message: `${key} is ${state}`,
    value: 0.9,
    raiseAt: 0.8,
    clearAt: 0.7,
    updatedAt: at,
  });
  await getDb()
    .insert(storageAlerts)
    .values([alert("volume:mimir_logs", "raised"), alert("disk_free", "cleared")]);
  try {
    const { text } = await renderMetrics();
    expect(text).toMatch(/^mimir_storage_alert_active\{alert="volume:mimir_logs"\} 1$/m);
    expect(text).toMatch(/^mimir_storage_alert_active\{alert="disk_free"\} 0$/m);
    // An alert row is not a volume: the volume families keep their own series only.
    expect(text).not.toMatch(/^mimir_volume_bytes\{volume="(volume:mimir_logs|disk_free)"\}/m);
    expect(text).toMatch(/^mimir_volume_bytes\{volume="mimir_data"\} \d+$/m);
  } finally {
    await getDb().delete(storageAlerts);
  }
});

test("the boot's warm-up starts no pass over whole tables, nor does a scrape before boot has begun them; after that a scrape does, once its answer is out", async () => {
  const scans = tableScans();
  const { tallies, tableRows } = scans;
  const refreshes = { tallies: tallies.refreshIfStale, tableRows: tableRows.refreshIfStale };
  const asked: string[] = [];
  tallies.refreshIfStale = () => void asked.push("tallies");
  tableRows.refreshIfStale = () => void asked.push("tableRows");
  try {
    await warmUpMetrics();
    expect(asked).toEqual([]);
    // A restarted server scraped at once: boot's timer (TABLE_SCANS_AFTER_BOOT_MS) has not fired yet.
    scans.bootPassesBegun = false;
    await renderMetrics();
    scans.bootPassesBegun = true;
    await renderMetrics();
    // Not as the answer goes out, but once it has (PASSES_AFTER_SCRAPE_MS); and only the second scrape's.
    expect(asked).toEqual([]);
    await vi.waitFor(() => expect(asked).toEqual(["tallies", "tableRows"]));
  } finally {
    Object.assign(tallies, { refreshIfStale: refreshes.tallies });
    Object.assign(tableRows, { refreshIfStale: refreshes.tableRows });
    scans.bootPassesBegun = true;
  }
});

test("the boot's warm-up runs a scrape's three statements and a token lookup, none over the history", async (context) => {
  if (isPostgres()) return context.skip();
  const warmUp = await statementsOf(warmUpMetrics);
  const tokenLookups = warmUp.filter((source) => /from "api_tokens"/.test(source));
  expect(tokenLookups).toHaveLength(1);
  expect(warmUp.filter((source) => !tokenLookups.includes(source)).sort()).toEqual((await statementsOf(renderMetrics)).sort());
  expect(warmUp.join("\n")).not.toMatch(/job_executions/);
});

test("a value read from whole tables is never waited for by a scrape: absent until its first read ends, then reused and refreshed in the background", async () => {
  let finish!: (rows: number) => void;
  let reads = 0;
  const rows = reusedInBackground(
    30_000,
    () => {
      reads += 1;
      return new Promise<number>((resolve) => (finish = resolve));
    },
    0,
    () => undefined,
  );
  // Looking never starts a read: a scrape starts it once its own reads are done.
  expect(rows.current()).toBeNull();
  expect(reads).toBe(0);
  rows.refreshIfStale();
  expect(rows.current()).toBeNull();
  rows.refreshIfStale();
  // One read under way, however many scrapes ask meanwhile.
  expect(reads).toBe(1);
  finish(42);
  await expect(rows()).resolves.toBe(42);
  expect(rows.current()).toBe(42);
  expect(reads).toBe(1);
});

// Boot starts both passes at once: side by side, each with PostgreSQL's parallel workers, they took
// every core of a small server from the first requests after boot.
test.skipIf(testBackend() !== "postgres")("on PostgreSQL the passes over whole tables run one at a time, without parallel workers", async () => {
  const { readPostgresInBackground } = await import("@/lib/db/off-thread");
  const [[first], [second]] = await Promise.all([
    readPostgresInBackground([
      { sql: "SELECT current_setting('max_parallel_workers_per_gather'), pg_sleep($1)::text, clock_timestamp()::text", params: [0.2] },
    ]),
    readPostgresInBackground([{ sql: "SELECT current_setting('max_parallel_workers_per_gather'), statement_timestamp()::text", params: [] }]),
  ]);
  const [firstWorkers, , firstEnded] = first![0] as [string, string, string];
  const [secondWorkers, secondStarted] = second![0] as [string, string];
  expect([firstWorkers, secondWorkers]).toEqual(["0", "0"]);
  expect(Date.parse(secondStarted)).toBeGreaterThanOrEqual(Date.parse(firstEnded));
});
