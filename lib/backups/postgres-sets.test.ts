import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createBackupSet, POSTGRES_DUMP_FILE } from "@/lib/backups/create-set";
import { restoreBackup } from "@/lib/backups/service";
import { verifyBackupSet } from "@/lib/backups/verify";
import { replacedDataRemoved } from "@/lib/backups/restore-set";
import { readManifest } from "@/lib/backups/store";
import type { TestDataRoot } from "@/test/helpers/data-root";
import { createPostgresDataRoot, createSeededDatabase, listTables, rowCounts, type SeededDatabase } from "@/test/helpers/pg-ops-seed";
import { adminQuery, urlForDatabase } from "@/test/helpers/postgres";

/**
 * Backup sets of a deployment on PostgreSQL, through the app's own create / verify / restore: the
 * mimir_data archive carries the dump, stock tar and psql open it, and a restore brings a deleted job back.
 */

let root: TestDataRoot;
let db: SeededDatabase;

beforeAll(async () => {
  db = await createSeededDatabase("pg_ops_sets", 3, 30);
  root = await createPostgresDataRoot(db);
  // Other files of mimir_data (the vector DB, …) are archived beside the dump as before.
  fs.writeFileSync(path.join(root.config.paths.data, "notes.txt"), "kept in mimir_data\n");
});

afterAll(async () => {
  root?.cleanup();
  await db?.dropAll();
});

describe("backup sets on PostgreSQL", () => {
  test("a set's mimir_data archive holds a dump that stock tar and psql load, with the manifest's row counts", async () => {
    const manifest = await createBackupSet({ trigger: "manual", passphrase: null });
    expect(manifest.postgres).toMatchObject({ file: POSTGRES_DUMP_FILE, database: db.name, schema: "public" });
    const counts = manifest.postgres?.row_counts ?? {};
    expect(counts).toEqual(await rowCounts(db.pool));
    expect(manifest.row_counts).toMatchObject({ scheduled_jobs: 3, pipelines: 3, job_executions: 90 });
    expect(manifest.databases).toEqual({});

    const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-pg-ops-tar-"));
    const target = `${db.name}_psql`;
    try {
      const archive = path.join(root.config.paths.backups, manifest.id, manifest.archives.mimir_data.file);
      const tar = spawnSync("tar", ["xzf", archive, "-C", unpacked], { encoding: "utf8" });
      expect(tar.status, tar.stderr).toBe(0);
      expect(fs.readdirSync(unpacked)).toEqual(expect.arrayContaining([POSTGRES_DUMP_FILE, "notes.txt"]));
      await adminQuery(`CREATE DATABASE ${target}`);
      const psql = spawnSync(
        "psql",
        ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", path.join(unpacked, POSTGRES_DUMP_FILE), urlForDatabase(target)],
        { encoding: "utf8" },
      );
      expect(psql.stderr).toBe("");
      expect(psql.status).toBe(0);
      const loaded = new pg.Pool({ connectionString: urlForDatabase(target), max: 1 });
      try {
        expect(await rowCounts(loaded, await listTables(db.pool))).toEqual(counts);
      } finally {
        await loaded.end();
      }
    } finally {
      fs.rmSync(unpacked, { recursive: true, force: true });
      await adminQuery(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
    }
  });

  test("docs/recovery.md step 5 loads a set's dump with createdb and psql, verbatim", async () => {
    const manifest = await createBackupSet({ trigger: "manual", passphrase: null });
    const markdown = fs.readFileSync("docs/recovery.md", "utf8");
    const section = markdown.split(/^## /m).find((part) => part.startsWith("5."));
    const commands = [...(section ?? "").matchAll(/```sh\n([\s\S]*?)```/g)]
      .map((match) => match[1] ?? "")
      .join("\n")
      .split("\n")
      .filter((line) => !line.startsWith("TARGET="))
      .join("\n");
    expect(commands).toContain("psql");
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-pg-ops-doc-"));
    const target = `${db.name}_doc`;
    const server = new URL(urlForDatabase("postgres"));
    try {
      fs.mkdirSync(path.join(work, "mimir_data"));
      const archive = path.join(root.config.paths.backups, manifest.id, manifest.archives.mimir_data.file);
      expect(spawnSync("tar", ["xzf", archive, "-C", path.join(work, "mimir_data")]).status).toBe(0);
      const run = spawnSync("bash", ["-c", `set -euo pipefail\n${commands}`], {
        encoding: "utf8",
        env: {
          ...process.env,
          RESTORE: work,
          TARGET: target,
          PGHOST: server.hostname,
          PGPORT: server.port || "5432",
          PGUSER: decodeURIComponent(server.username),
        },
      });
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      expect(run.stdout.trim().split("\n")).toEqual([String(manifest.row_counts.scheduled_jobs), String(manifest.row_counts.job_executions)]);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
      await adminQuery(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
    }
  });

  test("the verify drill loads the set's dump into a scratch schema and passes; a manifest whose counts disagree fails it", async () => {
    const manifest = await createBackupSet({ trigger: "manual", passphrase: null });
    expect(manifest.postgres).toBeDefined();
    const verification = await verifyBackupSet(manifest.id);
    expect(verification.status).toBe("ok");
    // The drill really loads and counts: a manifest that says one job more fails it.
    const file = path.join(root.config.paths.backups, manifest.id, "manifest.json");
    const edited = JSON.parse(fs.readFileSync(file, "utf8")) as typeof manifest;
    edited.postgres = { ...edited.postgres!, row_counts: { ...edited.postgres!.row_counts, scheduled_jobs: 4 } };
    fs.writeFileSync(file, JSON.stringify(edited));
    await expect(verifyBackupSet(manifest.id)).rejects.toThrow(/scheduled_jobs has 3 rows, the manifest says 4/);
    const leftovers = await db.pool.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mimir_verify_%'");
    expect(leftovers.rows).toEqual([]);
  });

  test("a restore through the app brings a deleted job and its runs back, keeps the live audit trail, and leaves no dump in the volume", async () => {
    const manifest = await createBackupSet({ trigger: "manual", passphrase: null });
    await db.pool.query("DELETE FROM scheduled_jobs WHERE id = 'job-2'");
    await db.pool.query("INSERT INTO audit_log (at, actor, actor_type, action, result) VALUES (now(), 'alice', 'user', 'job.delete', 'ok')");
    expect((await db.pool.query("SELECT count(*) AS n FROM job_executions WHERE job_id = 'job-2'")).rows[0].n).toBe("0");

    const result = await restoreBackup(manifest.id, ["mimir_data"]);
    expect(result.safety_backup_id).not.toBeNull();
    expect(result.access_and_audit).toMatchObject({ same_instance: true });
    expect((await db.pool.query("SELECT name FROM scheduled_jobs WHERE id = 'job-2'")).rows).toEqual([{ name: "Job 2" }]);
    expect((await db.pool.query("SELECT count(*) AS n FROM job_executions WHERE job_id = 'job-2'")).rows[0].n).toBe("30");
    expect((await db.pool.query("SELECT count(*) AS n FROM audit_log WHERE actor = 'alice'")).rows[0].n).toBe("1");
    const dataDir = root.config.paths.data;
    expect(fs.readdirSync(dataDir)).not.toContain(POSTGRES_DUMP_FILE);
    expect(fs.readFileSync(path.join(dataDir, "notes.txt"), "utf8")).toBe("kept in mimir_data\n");
    // The safety set, written after the restore from the live database dumped aside before it, holds the replaced rows.
    await replacedDataRemoved();
    const safety = readManifest(path.join(root.config.paths.backups, result.safety_backup_id!));
    expect(safety.trigger).toBe("pre-restore");
    expect(safety.postgres?.row_counts.scheduled_jobs).toBe(manifest.postgres!.row_counts.scheduled_jobs! - 1);
    expect(fs.readdirSync(dataDir).filter((name) => name.startsWith(".mimir-restore"))).toEqual([]);
    expect(fs.readdirSync(root.config.paths.backups).filter((name) => name.startsWith("."))).toEqual([]);
    expect((await verifyBackupSet(safety.id)).status).toBe("ok");
  });

  test("the restore swaps in tables loaded beside the live ones: same keys, indexes, foreign keys and grants, and no schema of its own left", async () => {
    const reader = `mimir_test_reader_${process.pid}`;
    await adminQuery(`DROP ROLE IF EXISTS ${reader}`);
    await adminQuery(`CREATE ROLE ${reader}`);
    try {
      await db.pool.query(`GRANT SELECT ON job_executions TO ${reader}`);
      await db.pool.query("ALTER TABLE job_executions SET (autovacuum_vacuum_scale_factor = 0.05)");
      const shape = async () => ({
        indexes: (await db.pool.query("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname")).rows,
        constraints: (
          await db.pool.query(
            `SELECT conrelid::regclass::text AS owner, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
              WHERE connamespace = 'public'::regnamespace ORDER BY conrelid::regclass::text, conname`,
          )
        ).rows,
        reader: (await db.pool.query(`SELECT has_table_privilege('${reader}', 'job_executions', 'SELECT') AS ok`)).rows[0].ok,
        options: (await db.pool.query("SELECT reloptions FROM pg_class WHERE oid = 'job_executions'::regclass")).rows[0].reloptions,
      });
      const before = await shape();
      const manifest = await createBackupSet({ trigger: "manual", passphrase: null });
      const oid = async () => (await db.pool.query("SELECT 'job_executions'::regclass::oid AS oid")).rows[0].oid as number;
      const liveTable = await oid();
      await db.pool.query("DELETE FROM job_executions WHERE id IN (SELECT id FROM job_executions LIMIT 5)");
      const nextAudit = Number((await db.pool.query("SELECT nextval(pg_get_serial_sequence('audit_log', 'id')) AS n")).rows[0].n);

      await restoreBackup(manifest.id, ["mimir_data"]);
      // Other tables now, not the old ones refilled: the load happened beside them, the swap moved them in.
      expect(await oid()).not.toBe(liveTable);
      expect((await db.pool.query("SELECT count(*) AS n FROM job_executions")).rows[0].n).toBe(String(manifest.postgres!.row_counts.job_executions));
      expect(await shape()).toEqual(before);
      // An identity never hands out a value the live table had already handed out.
      expect(Number((await db.pool.query("SELECT nextval(pg_get_serial_sequence('audit_log', 'id')) AS n")).rows[0].n)).toBeGreaterThan(nextAudit);
      await replacedDataRemoved();
      const schemas = await db.pool.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mimir\\_%'");
      expect(schemas.rows).toEqual([]);
    } finally {
      await db.pool.query(`REVOKE ALL ON job_executions FROM ${reader}`).catch(() => undefined);
      await adminQuery(`DROP ROLE IF EXISTS ${reader}`);
    }
  });

  test("readers are held only for the swap's renames: the kept rows are copied while they read on", async () => {
    const manifest = await createBackupSet({ trigger: "manual", passphrase: null });
    // A reader in the middle of a read transaction on a live table.
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    try {
      await reader.query("BEGIN");
      await reader.query("SELECT count(*) FROM job_executions");
      const restored = restoreBackup(manifest.id, ["mimir_data"]);
      restored.catch(() => undefined);
      // The swap gets as far as its renames beside the reader: it holds the lock that keeps writers out
      // (the kept rows are copied under it) and waits for the readers only there.
      const locks = async () =>
        (
          await db.pool.query<{ mode: string; granted: boolean }>(
            `SELECT l.mode, l.granted FROM pg_locks l WHERE l.relation = 'job_executions'::regclass AND l.pid <> $1 AND l.pid <> pg_backend_pid()`,
            [(reader as unknown as { processID: number }).processID],
          )
        ).rows;
      let seen = await locks();
      for (const deadline = Date.now() + 60_000; !seen.some((lock) => lock.mode === "AccessExclusiveLock" && !lock.granted); seen = await locks()) {
        if (Date.now() > deadline) throw new Error(`the swap never waited for the reader: ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(seen).toContainEqual({ mode: "ShareRowExclusiveLock", granted: true });
      await reader.query("COMMIT");
      await restored;
    } finally {
      await reader.end();
    }
    expect((await db.pool.query("SELECT count(*) AS n FROM job_executions")).rows[0].n).toBe(String(manifest.postgres!.row_counts.job_executions));
  });

  test("a set whose dump does not hold the manifest's rows fails the restore before the swap: nothing live changes, and its loaded schema is dropped", async () => {
    const manifest = await createBackupSet({ trigger: "manual", passphrase: null });
    const file = path.join(root.config.paths.backups, manifest.id, "manifest.json");
    const edited = JSON.parse(fs.readFileSync(file, "utf8")) as typeof manifest;
    edited.postgres = { ...edited.postgres!, row_counts: { ...edited.postgres!.row_counts, job_executions: edited.postgres!.row_counts.job_executions! + 1 } };
    fs.writeFileSync(file, JSON.stringify(edited));
    await db.pool.query("UPDATE scheduled_jobs SET name = 'changed since the set' WHERE id = 'job-1'");
    const liveTable = (await db.pool.query("SELECT 'scheduled_jobs'::regclass::oid AS oid")).rows[0].oid;

    await expect(restoreBackup(manifest.id, ["mimir_data"])).rejects.toThrow(/job_executions has \d+ rows, the manifest says \d+; nothing was replaced/);
    expect((await db.pool.query("SELECT 'scheduled_jobs'::regclass::oid AS oid")).rows[0].oid).toBe(liveTable);
    expect((await db.pool.query("SELECT name FROM scheduled_jobs WHERE id = 'job-1'")).rows).toEqual([{ name: "changed since the set" }]);
    expect((await db.pool.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mimir\\_%'")).rows).toEqual([]);
    expect(fs.readdirSync(root.config.paths.data).filter((name) => name.startsWith(".mimir-restore"))).toEqual([]);
    await db.pool.query("UPDATE scheduled_jobs SET name = 'Job 1' WHERE id = 'job-1'");
  });

  test("a set whose mimir_data archive is damaged inside the dump fails the restore on its checksum: the load begun on its bytes is dropped, nothing live changes", async () => {
    // A run with 6 MB of incompressible text: the load is well under way when the damage is reached.
    await db.pool.query(
      `INSERT INTO job_executions (id, job_id, pipeline, start_time, duration, status, error, context, steps, triggered_by)
       VALUES ('run-large', 'job-1', 'pipe-1', now(), 0, 'failed', $1, '{}', '[]', 'scheduler')`,
      [crypto.randomBytes(3 * 1024 * 1024).toString("hex")],
    );
    const manifest = await createBackupSet({ trigger: "manual", passphrase: null });
    await db.pool.query("DELETE FROM job_executions WHERE id = 'run-large'");
    const archive = path.join(root.config.paths.backups, manifest.id, manifest.archives.mimir_data.file);
    // The dump is the archive's last file: a byte at 80% is inside its compressed rows.
    const bytes = fs.readFileSync(archive);
    bytes[Math.floor(bytes.length * 0.8)]! ^= 0xff;
    fs.writeFileSync(archive, bytes);
    const liveTable = (await db.pool.query("SELECT 'scheduled_jobs'::regclass::oid AS oid")).rows[0].oid;

    await expect(restoreBackup(manifest.id, ["mimir_data"])).rejects.toMatchObject({
      code: "verification_failed",
      message: expect.stringContaining("does not match its manifest"),
    });
    expect((await db.pool.query("SELECT 'scheduled_jobs'::regclass::oid AS oid")).rows[0].oid).toBe(liveTable);
    expect((await db.pool.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mimir\\_%'")).rows).toEqual([]);
    expect(fs.readdirSync(root.config.paths.data).filter((name) => name.startsWith(".mimir-restore"))).toEqual([]);
    expect(fs.readdirSync(root.config.paths.backups).filter((name) => name.startsWith(".restore"))).toEqual([]);
  });

  test("a view of the operator's on an app table keeps the restore in place: the view still reads the restored rows", async () => {
    await db.pool.query("CREATE VIEW operator_job_names AS SELECT id, name FROM scheduled_jobs");
    try {
      const manifest = await createBackupSet({ trigger: "manual", passphrase: null });
      const liveTable = (await db.pool.query("SELECT 'scheduled_jobs'::regclass::oid AS oid")).rows[0].oid;
      await db.pool.query("UPDATE scheduled_jobs SET name = 'renamed' WHERE id = 'job-1'");
      await restoreBackup(manifest.id, ["mimir_data"]);
      expect((await db.pool.query("SELECT 'scheduled_jobs'::regclass::oid AS oid")).rows[0].oid).toBe(liveTable);
      expect((await db.pool.query("SELECT name FROM operator_job_names WHERE id = 'job-1'")).rows).toEqual([{ name: "Job 1" }]);
      await replacedDataRemoved();
    } finally {
      await db.pool.query("DROP VIEW IF EXISTS operator_job_names");
    }
  });
});
