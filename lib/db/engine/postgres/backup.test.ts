import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openPostgresSnapshot, writeSnapshotToFile, type DumpFacts } from "./dump";
import { DumpFormatError } from "./dump-reader";
import { DumpVersionError, restorePostgresDump, verifyPostgresDump } from "./restore";
import { adminQuery, urlForDatabase } from "@/test/helpers/postgres";
import { createSeededDatabase, listTables, rowCounts, type SeededDatabase } from "@/test/helpers/pg-ops-seed";

const CARRY = { tables: ["users", "sessions", "api_tokens", "audit_log", "notification_channels"], appendTable: "audit_log" };

let db: SeededDatabase;
let ALL_TABLES: string[];
/** what a restore loads: every table but the migrations journal, which stays the live one */
const restored = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([table]) => table !== "__drizzle_migrations"));
let folder: string;

beforeAll(async () => {
  db = await createSeededDatabase("pg_ops_backup", 4, 50);
  ALL_TABLES = await listTables(db.pool);
  folder = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-pg-ops-"));
});

afterAll(async () => {
  await db?.dropAll();
  fs.rmSync(folder, { recursive: true, force: true });
});

/** The schema's indexes and foreign keys as the catalog prints them: a restore drops and builds them again, the same. */
async function indexesAndKeys(pool: pg.Pool): Promise<string[]> {
  const indexes = await pool.query<{ def: string }>("SELECT indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname");
  const keys = await pool.query<{ def: string }>(
    "SELECT conname || ' ' || pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace ORDER BY conname",
  );
  return [...indexes.rows, ...keys.rows].map((row) => row.def);
}

async function takeDump(name: string): Promise<{ file: string; facts: DumpFacts }> {
  const file = path.join(folder, name);
  const facts = await writeSnapshotToFile(await openPostgresSnapshot(db.pool), file);
  return { file, facts };
}

/** Writes pairs (one run, one audit row) in one transaction each, until stopped: a snapshot must hold whole pairs. */
function startWriter(pool: pg.Pool) {
  let stop = false;
  let written = 0;
  const done = (async () => {
    while (!stop) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const id = `writer-${written}`;
        await client.query(
          `INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by) VALUES ($1, 'job-1', 'pipe-1', now(), 'success', 'manual')`,
          [id],
        );
        await client.query(`INSERT INTO audit_log (at, actor, actor_type, action, result, details) VALUES (now(), 'writer', 'system', 'pair', 'ok', $1)`, [id]);
        await client.query("COMMIT");
        written += 1;
      } finally {
        client.release();
      }
    }
  })();
  return {
    get written() {
      return written;
    },
    stop: async () => {
      stop = true;
      await done;
    },
  };
}

describe("PostgreSQL logical dump", () => {
  test("a dump taken while a writer inserts loads with stock psql into an empty database, with the counts of its facts and whole pairs", async () => {
    const writerPool = new pg.Pool({ connectionString: db.url, max: 1 });
    const writer = startWriter(writerPool);
    try {
      await expect.poll(() => writer.written, { timeout: 10_000 }).toBeGreaterThan(20);
      const { file, facts } = await takeDump("during-writes.sql");
      const afterDump = writer.written;
      await expect.poll(() => writer.written, { timeout: 10_000 }).toBeGreaterThan(afterDump + 5);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);

      const target = `${db.name}_load`;
      await adminQuery(`CREATE DATABASE ${target}`);
      try {
        const psql = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", file, urlForDatabase(target)], { encoding: "utf8" });
        expect(psql.stderr).toBe("");
        expect(psql.status).toBe(0);
        const loaded = new pg.Pool({ connectionString: urlForDatabase(target), max: 1 });
        try {
          expect(await rowCounts(loaded, ALL_TABLES)).toEqual(facts.row_counts);
          // The snapshot has only whole transactions: every writer run has its audit row and no more.
          const pairs = await loaded.query(
            `SELECT (SELECT count(*) FROM job_executions WHERE id LIKE 'writer-%') AS runs, (SELECT count(*) FROM audit_log WHERE actor = 'writer') AS audits`,
          );
          expect(Number(pairs.rows[0].runs)).toBeGreaterThan(0);
          expect(Number(pairs.rows[0].runs)).toBe(Number(pairs.rows[0].audits));
          // Text with tabs, newlines and backslashes comes back byte for byte.
          const error = await loaded.query("SELECT error FROM job_executions WHERE id = 'run-1-5'");
          expect(error.rows[0].error).toBe("line1\nline2\t\\end");
          // Identities continue after the loaded ids; keys, indexes and foreign keys exist.
          const next = await loaded.query("INSERT INTO audit_log (at, actor, actor_type, action, result) VALUES (now(), 'x', 'user', 'y', 'ok') RETURNING id");
          const max = await loaded.query("SELECT max(id) AS id FROM audit_log WHERE actor <> 'x'");
          expect(Number(next.rows[0].id)).toBeGreaterThan(Number(max.rows[0].id));
          const indexes = await loaded.query("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname");
          expect(indexes.rows.map((row) => row.indexname)).toEqual(
            expect.arrayContaining(["idx_executions_job_start", "idx_users_username", "job_executions_pkey"]),
          );
          await expect(
            loaded.query(
              "INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by) VALUES ('orphan', 'no-such-job', 'p', now(), 's', 'manual')",
            ),
          ).rejects.toThrow(/foreign key/);
          // The migrations journal came along, so the app would not migrate this database again.
          const journal = await loaded.query("SELECT count(*) AS n FROM __drizzle_migrations");
          expect(Number(journal.rows[0].n)).toBeGreaterThanOrEqual(6);
        } finally {
          await loaded.end();
        }
      } finally {
        await adminQuery(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
      }
    } finally {
      await writer.stop();
      // Closed here, not left idle: dropping the database at the end would terminate its connection
      // with no one listening, an uncaught error in whichever test runs then.
      await writerPool.end();
    }
  });

  test("the verify drill loads the dump into a scratch schema, rolls it back, and reports counts that differ from the manifest's", async () => {
    const { file, facts } = await takeDump("verify.sql");
    const ok = await verifyPostgresDump(db.pool, file, facts.row_counts);
    expect(ok).toMatchObject({ loaded: true, mismatches: [], note: null });
    expect(ok.row_counts).toEqual(facts.row_counts);
    const jobs = facts.row_counts.scheduled_jobs ?? 0;
    expect(jobs).toBeGreaterThan(0);
    const wrong = await verifyPostgresDump(db.pool, file, { ...facts.row_counts, scheduled_jobs: jobs + 1 });
    expect(wrong.mismatches).toEqual([{ table: "scheduled_jobs", expected: jobs + 1, found: jobs }]);
    const leftovers = await db.pool.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mimir_verify_%'");
    expect(leftovers.rows).toEqual([]);

    const truncated = path.join(folder, "truncated.sql");
    const text = fs.readFileSync(file);
    fs.writeFileSync(truncated, text.subarray(0, Math.floor(text.length * 0.6)));
    await expect(verifyPostgresDump(db.pool, truncated, facts.row_counts)).rejects.toBeInstanceOf(DumpFormatError);
  });

  test("a restore brings a deleted job and its runs back in one transaction and keeps the live access and audit rows of the same deployment", async () => {
    const { file, facts } = await takeDump("before-delete.sql");
    await db.pool.query("DELETE FROM scheduled_jobs WHERE id = 'job-2'");
    await db.pool.query("UPDATE users SET password_hash = 'scrypt$changed-since' WHERE id = 'u1'");
    await db.pool.query("INSERT INTO audit_log (at, actor, actor_type, action, result) VALUES (now(), 'alice', 'user', 'delete-job', 'ok')");
    const liveAudit = Number((await db.pool.query("SELECT count(*) AS n FROM audit_log")).rows[0].n);
    const schema = await indexesAndKeys(db.pool);
    expect(schema.some((def) => def.includes("idx_executions_start_time"))).toBe(true);

    const result = await restorePostgresDump(db.pool, file, { carry: CARRY });
    expect(await indexesAndKeys(db.pool)).toEqual(schema);
    expect(result.same_instance).toBe(true);
    expect(result.kept).toEqual(CARRY.tables);
    expect(result.row_counts).toEqual(restored(facts.row_counts));
    const job = await db.pool.query("SELECT id, enabled FROM scheduled_jobs WHERE id = 'job-2'");
    expect(job.rows).toEqual([{ id: "job-2", enabled: true }]);
    const runs = await db.pool.query("SELECT count(*) AS n FROM job_executions WHERE job_id = 'job-2'");
    expect(Number(runs.rows[0].n)).toBe(50);
    // Access and audit are the live ones, not the set's.
    expect((await db.pool.query("SELECT password_hash FROM users")).rows[0].password_hash).toBe("scrypt$changed-since");
    expect(Number((await db.pool.query("SELECT count(*) AS n FROM audit_log")).rows[0].n)).toBe(liveAudit);
    const next = await db.pool.query(
      "INSERT INTO audit_log (at, actor, actor_type, action, result) VALUES (now(), 'x', 'user', 'after-restore', 'ok') RETURNING id",
    );
    expect(Number(next.rows[0].id)).toBeGreaterThan(
      Number((await db.pool.query("SELECT max(id) AS id FROM audit_log WHERE action <> 'after-restore'")).rows[0].id),
    );
  });

  test("a dump of another deployment brings its own access rows, and the live audit rows are appended after its own", async () => {
    const { file, facts } = await takeDump("other-instance.sql");
    const other = path.join(folder, "other.sql");
    const instance = (await db.pool.query("SELECT value FROM system_metadata WHERE key = 'instance_id'")).rows[0].value as string;
    const text = fs.readFileSync(file, "utf8");
    expect(text).toContain(`instance_id\t${instance}`);
    fs.writeFileSync(other, text.replace(`instance_id\t${instance}`, "instance_id\tinst-other"));
    await db.pool.query("UPDATE users SET username = 'renamed-live' WHERE id = 'u1'");
    const liveAudit = Number((await db.pool.query("SELECT count(*) AS n FROM audit_log")).rows[0].n);
    const result = await restorePostgresDump(db.pool, other, { carry: CARRY });
    expect(result).toMatchObject({ same_instance: false, kept: [], appended_rows: liveAudit });
    expect((await db.pool.query("SELECT username FROM users")).rows[0].username).toBe("admin");
    expect(Number((await db.pool.query("SELECT count(*) AS n FROM audit_log")).rows[0].n)).toBe((facts.row_counts.audit_log ?? 0) + liveAudit);
    // Put the fixture's instance back for the tests after this one.
    await db.pool.query("UPDATE system_metadata SET value = $1 WHERE key = 'instance_id'", [instance]);
  });

  test("a truncated dump restores nothing: the transaction rolls back and the database is as it was", async () => {
    const { file } = await takeDump("good.sql");
    await db.pool.query("DELETE FROM scheduled_jobs WHERE id = 'job-3'");
    const before = await rowCounts(db.pool, ALL_TABLES);
    const schema = await indexesAndKeys(db.pool);
    const truncated = path.join(folder, "truncated-restore.sql");
    const text = fs.readFileSync(file);
    fs.writeFileSync(truncated, text.subarray(0, Math.floor(text.length * 0.8)));
    await expect(restorePostgresDump(db.pool, truncated, { carry: CARRY })).rejects.toBeInstanceOf(DumpFormatError);
    expect(await rowCounts(db.pool, ALL_TABLES)).toEqual(before);
    // The indexes and keys the load dropped come back with the rollback.
    expect(await indexesAndKeys(db.pool)).toEqual(schema);
    await expect(restorePostgresDump(db.pool, path.join(folder, "missing.sql"))).rejects.toThrow(/ENOENT/);
    expect(await rowCounts(db.pool, ALL_TABLES)).toEqual(before);
  });

  test("a dump of another schema version is refused, and nothing changes", async () => {
    const { file } = await takeDump("version.sql");
    const version = (await db.pool.query("SELECT value FROM system_metadata WHERE key = 'schema_version'")).rows[0].value as string;
    const older = path.join(folder, "older.sql");
    const text = fs.readFileSync(file, "utf8");
    expect(text).toContain(`schema_version\t${version}\t`);
    fs.writeFileSync(older, text.replace(`schema_version\t${version}\t`, "schema_version\t1\t"));
    await db.pool.query("INSERT INTO pipelines (name, config, created_at, updated_at) VALUES ('pipe-after-dump', 'x', now(), now())");
    const before = await rowCounts(db.pool, ALL_TABLES);
    await expect(restorePostgresDump(db.pool, older, { carry: CARRY })).rejects.toBeInstanceOf(DumpVersionError);
    expect(await rowCounts(db.pool, ALL_TABLES)).toEqual(before);
  });

  test("kill -9 of the restoring process at any moment leaves the database wholly old or wholly new", async () => {
    // A dump big enough that the restore takes a while, then the live data changed so old and new differ.
    await db.pool.query(
      `INSERT INTO job_executions (id, job_id, pipeline, start_time, end_time, duration, status, error, context, steps, triggered_by)
       SELECT 'bulk-' || g, 'job-1', 'pipe-1', now(), now(), 1, 'success', repeat('e', 200), repeat('c', 200), repeat('s', 400), 'scheduler'
         FROM generate_series(1, 60000) g`,
    );
    const { file, facts } = await takeDump("big.sql");
    await db.pool.query("DELETE FROM job_executions WHERE id LIKE 'bulk-%' AND id > 'bulk-5'");
    await db.pool.query("DELETE FROM scheduled_jobs WHERE id = 'job-4'");
    const old = await rowCounts(db.pool, ALL_TABLES);
    const fresh = facts.row_counts;
    expect(old).not.toEqual(fresh);
    const child = path.join(import.meta.dirname, "../../../../test/helpers/pg-restore-child.ts");
    const run = (delayMs: number | null) =>
      new Promise<{ killed: boolean; output: string }>((resolve, reject) => {
        const proc = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", child, db.url, file], {
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, NODE_OPTIONS: "" },
        });
        let output = "";
        proc.stdout.on("data", (chunk) => {
          output += chunk;
          if (delayMs !== null && output.includes("loading")) setTimeout(() => proc.kill("SIGKILL"), delayMs);
        });
        proc.stderr.on("data", (chunk) => (output += chunk));
        proc.on("error", reject);
        proc.on("exit", (_code, signal) => resolve({ killed: signal === "SIGKILL", output }));
      });
    // Killed at several moments of the load (first rows, early, middle), then once left to finish.
    const noBackend = () =>
      expect
        .poll(async () => Number((await adminQuery("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'mimir-restore-child'")).rows[0]?.n), {
          timeout: 15_000,
        })
        .toBe(0);
    let kills = 0;
    let before = old;
    for (const delay of [0, 30, 120, 300]) {
      const { killed, output } = await run(delay);
      // The server ends the dead client's backend and rolls its transaction back.
      await noBackend();
      if (!killed) {
        // Finished before the kill landed: then it must be wholly new, and the next runs restore the same.
        expect(output).toContain("restored");
        expect(await rowCounts(db.pool, ALL_TABLES)).toEqual(fresh);
        before = fresh;
        continue;
      }
      kills += 1;
      expect(output).not.toContain("restored");
      expect(await rowCounts(db.pool, ALL_TABLES)).toEqual(before);
    }
    expect(kills).toBeGreaterThanOrEqual(2);
    const { output } = await run(null);
    expect(output).toContain("restored");
    await noBackend();
    expect(await rowCounts(db.pool, ALL_TABLES)).toEqual(fresh);
  }, 120_000);

  // The reader reads the file into two buffers in turn and COPY is handed each piece as read: a dump
  // of many pieces (a few MB, pieces of 512 KB) must load byte for byte, whatever line straddles two.
  test("a dump many times the reader's piece loads every byte of every row as it was", async () => {
    const digest = async () =>
      (
        await db.pool.query<{ md5: string; n: string }>(
          "SELECT md5(string_agg(id || context || coalesce(error, ''), '|' ORDER BY id)) AS md5, count(*) AS n FROM job_executions",
        )
      ).rows[0]!;
    await db.pool.query(
      `INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by, context, error)
       SELECT 'piece-' || g, 'job-1', 'pipe-1', now(), 'success', 'manual',
              repeat(md5(g::text), 1 + g % 40) || E'\ttab\\back\nnewline', CASE WHEN g % 7 = 0 THEN E'\\.' END
         FROM generate_series(1, 8000) g`,
    );
    try {
      const before = await digest();
      const { file } = await takeDump("many-pieces.sql");
      expect(fs.statSync(file).size).toBeGreaterThan(6 * 512 * 1024);
      await db.pool.query("DELETE FROM job_executions WHERE id LIKE 'piece-%'");
      await restorePostgresDump(db.pool, file, { carry: CARRY });
      expect(await digest()).toEqual(before);
    } finally {
      await db.pool.query("DELETE FROM job_executions WHERE id LIKE 'piece-%'");
    }
  });
});
