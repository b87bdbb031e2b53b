import { execFileSync, spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import pg from "pg";
import { parse } from "yaml";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { createScratchDatabase, type ScratchDatabase } from "@/test/helpers/postgres";
import { closeAppDatabase, getDb, openDatabase, setAppDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { DEFAULT_SEED_OPTIONS, seedDemoData } from "@/lib/demo/seed";
import { recordAudit } from "@/lib/audit/service";
import { isAppError, type AppError } from "@/lib/errors";
import { dataRootLockPaths, lockDataRoot } from "@/lib/backups/server-lock";
import { releaseProcessLock } from "@/lib/db/process-lock";
import { versionProblem } from "@/lib/db/transfer/to-postgres";
import { migratePostgresToSqlite, migrateSqliteToPostgres, preflightSqliteToPostgres, startMigrateToPostgres } from "@/lib/maintenance/migrate-backend";
import { cancelOperation, getOperation, waitForOperation } from "@/lib/operations/service";
import { thawWrites, writesFrozenReason } from "@/lib/db/write-freeze";
import { stopScheduler } from "@/lib/scheduler/engine";
import { createUser, signIn } from "@/lib/auth/service";
import { ADVISORY_LOCK_NAMESPACE, ADVISORY_LOCKS } from "@/lib/db/postgres";
import { startStorageSampler, stopStorageSampler, takeStorageSample } from "@/lib/storage/sampler";

const FIXTURES = path.join(import.meta.dirname, "../../test/fixtures");
const ROOT = path.join(import.meta.dirname, "../..");

let root: TestDataRoot;
let scratch: ScratchDatabase;
beforeEach(async () => {
  root = createTestDataRoot();
  scratch = await createScratchDatabase({ label: "mig", migrate: false });
});
afterEach(async () => {
  root.cleanup();
  await scratch.drop();
});

const sha256 = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

async function pgQuery<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Every index and constraint of the target's schema with its definition, one string each, sorted. */
async function pgIndexesAndKeys(url: string): Promise<string[]> {
  const rows = await pgQuery<{ entry: string }>(
    url,
    `SELECT 'index ' || indexname || ': ' || indexdef AS entry FROM pg_indexes WHERE schemaname = current_schema()
     UNION ALL
     SELECT 'constraint ' || conname || ': ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = current_schema()::regnamespace`,
  );
  return rows.map((r) => r.entry).sort();
}

function sqliteCounts(file: string, tables: string[]): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    return Object.fromEntries(tables.map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

async function pgCounts(url: string, tables: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = Number((await pgQuery<{ n: string }>(url, `SELECT count(*) AS n FROM "${t}"`))[0]!.n);
  return out;
}

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const count = (table: string) => Number(getDb().$client.prepare(`SELECT count(*) FROM "${table}"`).pluck().get());

/** Values that trip naive copies: COPY's escapes, unicode, a 64-bit integer past 2^53, a real, booleans both ways. */
function addAwkwardRows(db: Database.Database) {
  const now = "2025-01-15T02:00:00.123Z";
  db.prepare("INSERT INTO audit_log (at, actor, actor_type, action, target, result, details) VALUES (?, 'alice', 'user', 'job.update', ?, 'ok', ?)").run(
    now,
    "tab\there\nnewline \\N back\\slash",
    '{"ünïcødé":"✓","ctl":"\\b\\f"}',
  );
  db.prepare("INSERT INTO storage_samples (taken_at, volume, bytes, files, fs_free_bytes, fs_total_bytes) VALUES (?, 'mimir_data', ?, 3, NULL, ?)").run(
    now,
    9007199254740993n,
    1n << 60n,
  );
  db.prepare(
    "INSERT INTO storage_alerts (key, state, message, value, raise_at, clear_at, raised_at, cleared_at, notified_state, updated_at) VALUES ('disk_free', 'raised', 'low', 0.95, 1.5e-7, 0.9, ?, NULL, NULL, ?)",
  ).run(now, now);
  db.prepare("INSERT INTO backups (id, created_at, trigger, bytes, encrypted, pinned, manifest) VALUES ('20250115-020000', ?, 'manual', 123, 1, 0, '{}')").run(
    now,
  );
}

const DATA_TABLES = ["scheduled_jobs", "pipelines", "job_executions", "audit_log", "storage_samples", "storage_alerts", "backups"];

describe("migrate-to-postgres", () => {
  it("copies every table with equal counts and checksums, resets sequences, leaves the SQLite file as it was, then writes the config", async () => {
    await seedDemoData(root.config, { ...DEFAULT_SEED_OPTIONS, executions: 3000, logFiles: 0 });
    await recordAudit({ principal: null, action: "config.update", target: "x", result: "ok" });
    addAwkwardRows(getDb().$client);
    closeAppDatabase();
    const file = root.config.paths.database;
    const before = sha256(file);
    const progress: number[] = [];

    const result = await migrateSqliteToPostgres(scratch.url, { onProgress: (p) => progress.push(p.done) });

    expect(result.tables.every((t) => t.ok)).toBe(true);
    expect(result.tables.map((t) => t.table)).toEqual(expect.arrayContaining([...DATA_TABLES, "system_metadata", "users", "operations"]));
    // Parents before children: the foreign keys found their rows as the copy went.
    expect(result.tables.findIndex((t) => t.table === "scheduled_jobs")).toBeLessThan(result.tables.findIndex((t) => t.table === "job_executions"));
    expect(await pgCounts(scratch.url, DATA_TABLES)).toEqual(sqliteCounts(file, DATA_TABLES));
    expect(result.tables.find((t) => t.table === "job_executions")!.targetRows).toBe(3000);
    expect(progress.at(-1)).toBeGreaterThan(3000);
    expect(sha256(file)).toBe(before);
    expect(result.source_sha256_after).toBe(before);

    const [awkward] = await pgQuery<{ target: string; details: string }>(scratch.url, "SELECT target, details FROM audit_log WHERE action = 'job.update'");
    expect(awkward).toEqual({ target: "tab\there\nnewline \\N back\\slash", details: '{"ünïcødé":"✓","ctl":"\\b\\f"}' });
    const [sample] = await pgQuery<{ bytes: string; total: string }>(
      scratch.url,
      "SELECT bytes::text AS bytes, fs_total_bytes::text AS total FROM storage_samples WHERE bytes > 9007199254740992",
    );
    expect(sample).toEqual({ bytes: "9007199254740993", total: String(1n << 60n) });
    const [backup] = await pgQuery<{ encrypted: boolean; pinned: boolean }>(scratch.url, "SELECT encrypted, pinned FROM backups");
    expect(backup).toEqual({ encrypted: true, pinned: false });
    // The identity continues after the copied ids instead of colliding with them.
    const maxId = Number((await pgQuery<{ m: string }>(scratch.url, "SELECT max(id) AS m FROM audit_log"))[0]!.m);
    const [inserted] = await pgQuery<{ id: string }>(
      scratch.url,
      "INSERT INTO audit_log (at, actor, actor_type, action, result) VALUES (now(), 'x', 'system', 'y', 'ok') RETURNING id",
    );
    expect(Number(inserted!.id)).toBe(maxId + 1);
    const meta = Object.fromEntries(
      (await pgQuery<{ key: string; value: string }>(scratch.url, "SELECT key, value FROM system_metadata")).map((r) => [r.key, r.value]),
    );
    const sourceMeta = new Database(file, { readonly: true }).prepare("SELECT key, value FROM system_metadata").all() as { key: string; value: string }[];
    expect(meta.instance_id).toBe(sourceMeta.find((r) => r.key === "instance_id")!.value);
    expect(meta.migrated_from).toMatch(/^sqlite:/);

    const written = parse(fs.readFileSync(root.config.configFile, "utf8"));
    expect(written.persistence).toMatchObject({ backend: "postgres", connection_string: scratch.url });
  });

  it("migrates a database adopted from Mimir AIP's Go server, Go timestamps and all", async () => {
    closeAppDatabase();
    const file = root.config.paths.database;
    for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(file + suffix, { force: true });
    const sql = fs.readFileSync(path.join(FIXTURES, "mimir-schema.sql"), "utf8") + fs.readFileSync(path.join(FIXTURES, "mimir-rows.sql"), "utf8");
    execFileSync("sqlite3", [file], { input: sql });
    // A Go timestamp the adoption could not have rewritten had it been written after: the copy normalises it too.
    execFileSync("sqlite3", [file, "UPDATE scheduled_jobs SET last_run = '2025-01-15 02:00:00.987654321+00:00' WHERE id = 'job-weekly'"]);
    const db = openDatabase(file);
    expect(migrateDatabase(db, file).adopted).toBe(true);
    db.$client.prepare("UPDATE job_executions SET end_time = '2025-01-14 03:00:00.5+01:00' WHERE id = 'exec-1'").run();
    db.$client.close();

    const result = await migrateSqliteToPostgres(scratch.url, { writeConfig: false });

    expect(result.tables.every((t) => t.ok)).toBe(true);
    expect(await pgCounts(scratch.url, ["scheduled_jobs", "pipelines", "job_executions"])).toEqual({ scheduled_jobs: 2, pipelines: 2, job_executions: 3 });
    const times = await pgQuery<{ id: string; start: string; end: string }>(
      scratch.url,
      `SELECT id, to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS start, to_char(end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS end FROM job_executions ORDER BY id`,
    );
    expect(times).toEqual([
      { id: "exec-1", start: "2025-01-14T02:00:00.000Z", end: "2025-01-14T02:00:00.500Z" },
      { id: "exec-2", start: "2025-01-15T02:00:00.123Z", end: "2025-01-15T02:00:03.500Z" },
      { id: "exec-3", start: "2025-01-15T11:30:00.000Z", end: "2025-01-15T11:30:01.000Z" },
    ]);
    const [weekly] = await pgQuery<{ enabled: boolean; last: string }>(
      scratch.url,
      `SELECT enabled, to_char(last_run AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last FROM scheduled_jobs WHERE id = 'job-weekly'`,
    );
    expect(weekly).toEqual({ enabled: false, last: "2025-01-15T02:00:00.987Z" });
  });

  it("lists every problem before touching anything: bad timestamps, non-boolean, orphans, a target that is not empty", async () => {
    const raw = getDb().$client;
    raw.pragma("foreign_keys = OFF");
    raw.exec(`INSERT INTO pipelines (name, config, created_at, updated_at) VALUES ('p', 'name: p', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')`);
    raw.exec(
      `INSERT INTO scheduled_jobs (id, name, pipeline, cron_expr, enabled, next_run, created_at, updated_at) VALUES ('j1', 'J', 'p', '* * * * *', 2, 'next tuesday', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')`,
    );
    raw.exec(
      `INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by) VALUES ('orphan-1', 'gone', 'p', '2025-01-01T00:00:00.000Z', 'success', 'api'), ('orphan-2', 'gone', 'p', '2025-01-01T00:00:00.000Z', 'success', 'api')`,
    );
    closeAppDatabase();
    // The target already holds a job: its schema and that row are created by hand, as another deployment would have.
    await migrateSqliteToPostgresSchemaOnly(scratch.url);
    await pgQuery(
      scratch.url,
      `INSERT INTO pipelines (name, config, created_at, updated_at) VALUES ('other', 'x', now(), now()); INSERT INTO scheduled_jobs (id, name, pipeline, cron_expr, enabled, created_at, updated_at) VALUES ('theirs', 'T', 'other', '* * * * *', true, now(), now())`,
    );
    const before = sha256(root.config.paths.database);
    const configBefore = fs.existsSync(root.config.configFile) ? fs.readFileSync(root.config.configFile, "utf8") : null;

    const error = await migrateSqliteToPostgres(scratch.url).catch((e: unknown) => e);

    expect(isAppError(error) && error.code).toBe("preflight_failed");
    const problems = (error as AppError).details as string[];
    expect(problems.find((p) => p.startsWith("scheduled_jobs.next_run"))).toMatch(/1 row\(s\) not a timestamp.*next tuesday.*rows j1/);
    expect(problems.find((p) => p.startsWith("scheduled_jobs.enabled"))).toMatch(/not a boolean/);
    expect(problems.find((p) => p.includes("orphan"))).toMatch(
      /job_executions: 2 orphan row\(s\) whose job_id names no scheduled_jobs row \(rows orphan-1, orphan-2\)/,
    );
    expect(problems.find((p) => p.includes("not empty"))).toMatch(/table (pipelines|scheduled_jobs) has rows/);
    expect(await pgCounts(scratch.url, ["scheduled_jobs", "job_executions"])).toEqual({ scheduled_jobs: 1, job_executions: 0 });
    expect(sha256(root.config.paths.database)).toBe(before);
    expect(fs.existsSync(root.config.configFile) ? fs.readFileSync(root.config.configFile, "utf8") : null).toBe(configBefore);
  });

  it("refuses a damaged SQLite file with quick_check's findings, and touches nothing", async () => {
    await seedDemoData(root.config, { ...DEFAULT_SEED_OPTIONS, executions: 2000, logFiles: 0 });
    const raw = getDb().$client;
    raw.pragma("wal_checkpoint(TRUNCATE)");
    const pageSize = raw.pragma("page_size", { simple: true }) as number;
    const leaves = raw.prepare("SELECT pageno FROM dbstat WHERE name = 'job_executions' AND pagetype = 'leaf' ORDER BY pageno").pluck().all() as number[];
    closeAppDatabase();
    // Two leaf pages in the middle of the history table overwritten, as recovery.test.ts does.
    const fd = fs.openSync(root.config.paths.database, "r+");
    fs.writeSync(fd, Buffer.alloc(2 * pageSize - 200, 0xa5), 0, 2 * pageSize - 200, (leaves[Math.floor(leaves.length / 2)]! - 1) * pageSize + 100);
    fs.closeSync(fd);

    const error = await migrateSqliteToPostgres(scratch.url, { writeConfig: false }).catch((e: unknown) => e);

    expect(isAppError(error) && error.code).toBe("preflight_failed");
    expect((error as AppError).details).toEqual([expect.stringMatching(/^The SQLite database fails quick_check \(.+\): repair it first/s)]);
    expect(await pgQuery(scratch.url, "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'")).toEqual([]);
  });

  it("refuses an unreachable target and says where, without the password", async () => {
    closeAppDatabase();
    const result = await preflightSqliteToPostgres("postgres://someone:s3cret-pw@127.0.0.1:1/nowhere");
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(/^Cannot connect to PostgreSQL at 127\.0\.0\.1:1\/nowhere: /);
    expect(result.problems.join()).not.toContain("s3cret-pw");
  });

  it("refuses PostgreSQL older than 13", () => {
    expect(versionProblem(120015, "12.15")).toMatch(/PostgreSQL 12\.15 is too old/);
    expect(versionProblem(130000, "13.0")).toBeNull();
  });

  it("refuses a second run into the database it already filled", async () => {
    await recordAudit({ principal: null, action: "config.update", target: "x", result: "ok" });
    closeAppDatabase();
    await migrateSqliteToPostgres(scratch.url, { writeConfig: false });
    const error = await migrateSqliteToPostgres(scratch.url, { writeConfig: false }).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe("preflight_failed");
    expect(((error as AppError).details as string[]).join("\n")).toMatch(/The target is not empty: table \w+ has rows/);
  });

  it("killed with SIGKILL in the middle of the copy, leaves the target empty, and a second run then succeeds", { timeout: 180_000 }, async () => {
    await seedDemoData(root.config, { ...DEFAULT_SEED_OPTIONS, executions: 40_000, logFiles: 0 });
    closeAppDatabase();
    const child = spawn(
      process.execPath,
      ["--conditions=react-server", "--import", "tsx", "scripts/mimir.ts", "migrate-to-postgres", "--to", scratch.url, "--keep-config"],
      {
        cwd: ROOT,
        env: { ...process.env, MIMIR_HOME: root.home },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // Mid-copy: PostgreSQL's own progress view shows COPY into job_executions under way.
    let copied = 0;
    for (let i = 0; i < 3000 && copied === 0; i += 1) {
      const rows = await pgQuery<{ n: string }>(
        scratch.url,
        "SELECT tuples_processed AS n FROM pg_stat_progress_copy p JOIN pg_class c ON c.oid = p.relid WHERE c.relname = 'job_executions'",
      );
      copied = Number(rows[0]?.n ?? 0);
      if (copied === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(copied, stderr).toBeGreaterThan(0);
    child.kill("SIGKILL");
    await exited;
    // The server notices the dead client and rolls its transaction back.
    for (let i = 0; i < 500; i += 1) {
      const live = await pgQuery(scratch.url, "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mimir-migrate'");
      if (live.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await pgCounts(scratch.url, DATA_TABLES)).toEqual(Object.fromEntries(DATA_TABLES.map((t) => [t, 0])));
    // The copy drops job_executions' indexes and foreign keys to rebuild them after the rows: the rollback brought them back.
    const afterKill = await pgIndexesAndKeys(scratch.url);
    expect(afterKill.join("\n")).toMatch(/^index idx_executions_status_start: /m);
    expect(afterKill.join("\n")).toMatch(/^constraint job_executions_job_id_scheduled_jobs_id_fk: FOREIGN KEY/m);

    const phases: string[] = [];
    const result = await migrateSqliteToPostgres(scratch.url, {
      writeConfig: false,
      onProgress: (p) => phases.push(p.phase === "index" ? `index ${p.done}/${p.total} ${p.table}` : p.phase),
    });
    expect(result.tables.find((t) => t.table === "job_executions")).toMatchObject({ sourceRows: 40_000, targetRows: 40_000, ok: true });
    expect(await pgIndexesAndKeys(scratch.url)).toEqual(afterKill);
    // The index builds move the bar one by one between the copy and the verification.
    const builds = phases.filter((phase) => phase.startsWith("index "));
    expect(builds.length).toBeGreaterThan(1);
    expect(builds[0]).toMatch(new RegExp(`^index 1/${builds.length} `));
    expect(builds.at(-1)).toMatch(new RegExp(`^index ${builds.length}/${builds.length} (index|foreign key) `));
    expect(phases.indexOf(builds[0]!)).toBeGreaterThan(phases.lastIndexOf("copy"));
    expect(phases.lastIndexOf(builds.at(-1)!)).toBeLessThan(phases.indexOf("verify"));
    expect(builds.join("\n")).toMatch(/index \S*idx_executions_status_start/);
    // The planner has statistics for the copied history at once (ANALYZE in the copy's transaction).
    const [stats] = await pgQuery<{ n: string }>(scratch.url, "SELECT count(*) AS n FROM pg_stats WHERE tablename = 'job_executions'");
    expect(Number(stats!.n)).toBeGreaterThan(0);
    // …and knows the copied rows are all visible (VACUUM after the commit), so counts can scan the index alone.
    const [visible] = await pgQuery<{ pages: number }>(scratch.url, "SELECT relallvisible AS pages FROM pg_class WHERE relname = 'job_executions'");
    expect(visible!.pages).toBeGreaterThan(0);
  });

  it("refuses while a server runs on this data root", async () => {
    closeAppDatabase();
    // This process takes the data root's lock as a server does; the CLI, another process, must refuse.
    expect(lockDataRoot(root.config, "server")).toBe(true);
    try {
      const run = spawnSync(
        process.execPath,
        ["--conditions=react-server", "--import", "tsx", "scripts/mimir.ts", "migrate-to-postgres", "--to", scratch.url],
        {
          cwd: ROOT,
          env: { ...process.env, MIMIR_HOME: root.home },
          encoding: "utf8",
        },
      );
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/A server \(pid \d+\) is running on .*Stop it first/);
      expect(await pgQuery(scratch.url, "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'")).toEqual([]);
    } finally {
      releaseProcessLock(dataRootLockPaths(root.config)[0]!);
    }
  });
});

describe("the Database page's migration (an operation in the running server)", () => {
  afterEach(() => {
    thawWrites();
    stopScheduler();
  });

  it("copies and verifies, writes the config, and keeps changes refused until the restart; the operation keeps no secret", async () => {
    await seedDemoData(root.config, { ...DEFAULT_SEED_OPTIONS, executions: 500, logFiles: 0 });
    const started = await startMigrateToPostgres({ connection_string: scratch.url }, null);
    expect(started.kind).toBe("migrate_to_postgres");
    const done = await waitForOperation(started.id);
    expect(done.status, JSON.stringify(done.error)).toBe("succeeded");
    expect(done.result).toMatchObject({ restart_required: true, config_written: true, rows: expect.any(Number) });
    expect(JSON.stringify(done)).not.toContain(scratch.url);
    expect(writesFrozenReason()).toMatch(/restart the console to switch/);
    expect(await pgCounts(scratch.url, ["job_executions"])).toEqual({ job_executions: 500 });
    expect(parse(fs.readFileSync(root.config.configFile, "utf8")).persistence.backend).toBe("postgres");
  });

  it("fails with every preflight problem in its message, keeps nothing, and lets changes and the scheduler resume", async () => {
    getDb().$client.pragma("foreign_keys = OFF");
    getDb().$client.exec(
      `INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by) VALUES ('orphan-1', 'gone', 'p', '2025-01-01T00:00:00.000Z', 'success', 'api')`,
    );
    const done = await waitForOperation((await startMigrateToPostgres({ connection_string: scratch.url }, null)).id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "preflight_failed", message: expect.stringMatching(/\(1\) job_executions: 1 orphan row/) });
    expect(writesFrozenReason()).toBeNull();
    expect(await pgQuery(scratch.url, "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'")).toEqual([]);
  });
});

// Sign-in's scrypt is slow on purpose and the migration waits on real servers: these tests get room beyond the default 30 s.
describe("nothing written between the freeze and the restart is lost", () => {
  const PASSWORD = "a-long-password-for-alice";
  const meta = { ip: "127.0.0.1", userAgent: "test" };
  afterEach(() => {
    thawWrites();
    stopScheduler();
    stopStorageSampler();
  });

  /** The target's migrations lock, held so the migration waits with the freeze in force and the copy not begun. */
  async function holdTargetMigrations(): Promise<{ waiting: () => Promise<boolean>; release: () => Promise<void> }> {
    const holder = new pg.Client({ connectionString: scratch.url });
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock($1, $2)", [ADVISORY_LOCK_NAMESPACE, ADVISORY_LOCKS.migrate]);
    return {
      waiting: async () =>
        (
          await holder.query(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
          )
        ).rows.length > 0,
      release: async () => {
        await holder.query("SELECT pg_advisory_unlock($1, $2)", [ADVISORY_LOCK_NAMESPACE, ADVISORY_LOCKS.migrate]);
        await holder.end();
      },
    };
  }

  it(
    "refuses sign-in and every other write during the freeze and after the commit; the sampler writes nothing; PostgreSQL reads the migration as succeeded with its audit row",
    { timeout: 120_000 },
    async () => {
      await seedDemoData(root.config, { ...DEFAULT_SEED_OPTIONS, executions: 50, logFiles: 0 });
      await createUser({ username: "alice", password: PASSWORD, role: "admin" });
      const lock = await holdTargetMigrations();
      let operationId: string;
      const before = { sessions: 0, samples: 0 };
      try {
        operationId = (await startMigrateToPostgres({ connection_string: scratch.url }, null)).id;
        await until(lock.waiting, "the migration to wait for the target's migrations lock");
        before.sessions = count("sessions");
        before.samples = count("storage_samples");
        expect(writesFrozenReason()).toMatch(/copying its database to PostgreSQL/);

        const refused = await signIn("alice", PASSWORD, meta).catch((e: unknown) => e);
        expect(isAppError(refused) && refused.code, String(refused)).toBe("migrating");
        expect(await takeStorageSample().catch((e: unknown) => e)).toMatchObject({ code: "migrating" });
        // Its first tick is due at once: skipped while frozen (the count below stays).
        startStorageSampler();
        // A writer nobody thought of is refused by the SQLite connection itself.
        expect(() =>
          getDb().$client.prepare("INSERT INTO system_metadata (key, value, updated_at) VALUES ('stray', 'x', '2025-01-01T00:00:00.000Z')").run(),
        ).toThrow(/copying its database/);
        expect(count("sessions")).toBe(before.sessions);
      } finally {
        await lock.release();
      }

      const done = await waitForOperation(operationId);
      expect(done.status, JSON.stringify(done.error)).toBe("succeeded");
      const rows = (done.result as { rows: number }).rows;
      // After the commit, until the restart: config says postgres, this process still holds the SQLite file.
      expect(writesFrozenReason()).toMatch(/restart the console to switch/);
      const after = await signIn("alice", PASSWORD, meta).catch((e: unknown) => e);
      expect(isAppError(after) && after.code).toBe("migrating");
      expect((after as AppError).message).toMatch(/restart the console/);
      expect(await takeStorageSample().catch((e: unknown) => e)).toMatchObject({ code: "migrating" });
      expect({ sessions: count("sessions"), samples: count("storage_samples") }).toEqual(before);
      expect(await pgCounts(scratch.url, ["sessions", "storage_samples"])).toEqual({ sessions: before.sessions, storage_samples: before.samples });

      // PostgreSQL, as the console reads it after the restart: the migration succeeded, and says so in the audit log.
      const [operation] = await pgQuery<{ status: string; result: string; finished_at: Date | null }>(
        scratch.url,
        "SELECT status, result, finished_at FROM operations WHERE id = $1",
        [operationId!],
      );
      expect(operation!.status).toBe("succeeded");
      expect(operation!.finished_at).not.toBeNull();
      expect(JSON.parse(operation!.result)).toMatchObject({ restart_required: true, config_written: true, rows });
      const audit = await pgQuery<{ result: string; details: string }>(
        scratch.url,
        "SELECT result, details FROM audit_log WHERE action = 'data.migrate_to_postgres'",
      );
      expect(audit).toEqual([{ result: "ok", details: expect.stringContaining(`"rows":${rows}`) }]);
      // The SQLite file, the way back, says the same.
      expect(done.result).toEqual(JSON.parse(operation!.result));
      const sqliteAudit = getDb().$client.prepare("SELECT result FROM audit_log WHERE action = 'data.migrate_to_postgres'").pluck().all();
      expect(sqliteAudit).toEqual(["ok"]);
    },
  );

  it("waits for a change under way before the copy starts, so the change is in the copy", { timeout: 120_000 }, async () => {
    const { enterWrite } = await import("@/lib/db/write-freeze");
    const admitted = enterWrite();
    const operationId = (await startMigrateToPostgres({ connection_string: scratch.url }, null)).id;
    await until(async () => (await getOperation(operationId)).message === "waiting for changes under way to finish", "the freeze to wait");
    expect(writesFrozenReason()).toMatch(/copying/);
    expect(await pgQuery(scratch.url, "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'")).toEqual([]);
    // Written after the freeze began, by a change admitted before it: it passes, and the copy, which waited for it, holds it.
    await admitted.run(() => recordAudit({ principal: null, action: "config.update", target: "admitted-before-the-freeze", result: "ok" }));
    admitted.end();
    const done = await waitForOperation(operationId);
    expect(done.status, JSON.stringify(done.error)).toBe("succeeded");
    expect(await pgQuery(scratch.url, "SELECT target FROM audit_log WHERE target = 'admitted-before-the-freeze'")).toEqual([
      { target: "admitted-before-the-freeze" },
    ]);
  });

  it("committed but config.yaml not written: writes stay refused, and the message says what to set", { timeout: 120_000 }, async () => {
    const lock = await holdTargetMigrations();
    let operationId: string;
    try {
      operationId = (await startMigrateToPostgres({ connection_string: scratch.url }, null)).id;
      await until(lock.waiting, "the migration to wait for the target's migrations lock");
      // config.yaml cannot be written once the copy has committed: a folder stands where the file goes.
      fs.rmSync(root.config.configFile, { force: true });
      fs.mkdirSync(root.config.configFile);
    } finally {
      await lock.release();
    }
    const done = await waitForOperation(operationId);
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ message: expect.stringMatching(/complete and committed, but config\.yaml could not be written.*restart the console/) });
    // Resumed writes here would be missing from the copy that is complete in PostgreSQL.
    expect(writesFrozenReason()).toMatch(/complete and committed/);
    expect((await pgQuery<{ status: string }>(scratch.url, "SELECT status FROM operations WHERE id = $1", [operationId!]))[0]!.status).toBe("succeeded");
  });

  it("a cancelled migration resumes what it paused: sign-in, samples, writes", { timeout: 120_000 }, async () => {
    await createUser({ username: "alice", password: PASSWORD, role: "admin" });
    const lock = await holdTargetMigrations();
    let operationId: string;
    try {
      operationId = (await startMigrateToPostgres({ connection_string: scratch.url }, null)).id;
      await until(lock.waiting, "the migration to wait for the target's migrations lock");
      // Cancelled with the freeze in force: the copy stops at its first check and rolls back.
      await cancelOperation(operationId, null);
    } finally {
      await lock.release();
    }
    const done = await waitForOperation(operationId);
    expect(done.status).toBe("cancelled");
    expect(writesFrozenReason()).toBeNull();
    const samples = count("storage_samples");
    expect((await takeStorageSample()).stored).toBe(true);
    expect(count("storage_samples")).toBeGreaterThan(samples);
    const session = await signIn("alice", PASSWORD, meta);
    expect(session.user.username).toBe("alice");
    expect(getDb().$client.prepare("SELECT result FROM audit_log WHERE action = 'data.migrate_to_postgres'").pluck().all()).toEqual(["failed"]);
  });
});

describe("migrate-to-sqlite (the way back)", () => {
  it("round-trips: SQLite → PostgreSQL → a new SQLite file with the same rows, checksums and config", async () => {
    await seedDemoData(root.config, { ...DEFAULT_SEED_OPTIONS, executions: 1500, logFiles: 0 });
    addAwkwardRows(getDb().$client);
    closeAppDatabase();
    const there = await migrateSqliteToPostgres(scratch.url);
    const back = path.join(root.home, "data", "from-postgres.db");

    const result = await migratePostgresToSqlite(scratch.url, back);

    expect(result.tables.every((t) => t.ok)).toBe(true);
    expect(fs.existsSync(`${back}.migrating`)).toBe(false);
    expect(sqliteCounts(back, DATA_TABLES)).toEqual(sqliteCounts(root.config.paths.database, DATA_TABLES));
    // The same canonical rows on both ends of the round trip (system_metadata gains migrated_from on each hop).
    const sums = (tables: typeof result.tables) =>
      Object.fromEntries(tables.filter((t) => t.table !== "system_metadata").map((t) => [t.table, t.targetChecksum]));
    expect(sums(result.tables)).toEqual(sums(there.tables));
    const db = new Database(back, { readonly: true });
    db.defaultSafeIntegers(true);
    expect(db.prepare("SELECT bytes FROM storage_samples WHERE bytes > 9007199254740992").pluck().get()).toBe(9007199254740993n);
    expect(db.prepare("SELECT encrypted FROM backups").pluck().get()).toBe(1n);
    expect(db.prepare("PRAGMA integrity_check").pluck().get()).toBe("ok");
    db.close();
    const written = parse(fs.readFileSync(root.config.configFile, "utf8"));
    expect(written.persistence).toMatchObject({ backend: "sqlite", database_path: back, connection_string: "" });

    // The new file is a working database for the app.
    const reopened = openDatabase(back);
    expect(migrateDatabase(reopened, back).appliedMigrations).toBe(0);
    setAppDatabase(reopened, back);
  });

  it("never overwrites an existing file", async () => {
    closeAppDatabase();
    await migrateSqliteToPostgres(scratch.url, { writeConfig: false });
    const error = await migratePostgresToSqlite(scratch.url, root.config.paths.database, { writeConfig: false }).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe("preflight_failed");
    expect(((error as AppError).details as string[])[0]).toMatch(/already exists: name a new file/);
  });
});

/** The target's schema alone, as a previous deployment would have left it. */
async function migrateSqliteToPostgresSchemaOnly(url: string) {
  const { migratePostgres, openPostgresPool } = await import("@/lib/db/postgres");
  const pool = openPostgresPool(url);
  try {
    await migratePostgres(pool);
  } finally {
    await pool.end();
  }
}
