import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";

const FIXTURES = path.join(import.meta.dirname, "../../test/fixtures");
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-migrate-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const sqlite = (file: string, ...args: string[]) => execFileSync("sqlite3", [file, ...args], { encoding: "utf8" }).trim();

/** A database exactly as Mimir AIP's Go server leaves it, made by the stock sqlite3 CLI. */
function makeMimirDatabase(file: string) {
  const sql = fs.readFileSync(path.join(FIXTURES, "mimir-schema.sql"), "utf8") + fs.readFileSync(path.join(FIXTURES, "mimir-rows.sql"), "utf8");
  execFileSync("sqlite3", [file], { input: sql });
}

describe("migrateDatabase", () => {
  it("creates Mimir's tables and indexes and the console's own in a fresh file, in WAL mode", () => {
    const file = path.join(dir, "mimir.db");
    const db = openDatabase(file);
    const report = migrateDatabase(db, file);
    db.$client.close();
    expect(report).toMatchObject({ adopted: false, appliedMigrations: expect.any(Number) });
    const tables = sqlite(file, ".tables");
    for (const table of [
      "scheduled_jobs",
      "pipelines",
      "job_executions",
      "system_metadata",
      "operations",
      "backups",
      "storage_samples",
      "audit_log",
      "api_tokens",
      "users",
      "sessions",
    ]) {
      expect(tables).toContain(table);
    }
    const indexes = sqlite(file, "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name");
    for (const index of ["idx_executions_job_id", "idx_executions_start_time", "idx_executions_status", "idx_jobs_enabled", "idx_jobs_next_run"]) {
      expect(indexes).toContain(index);
    }
    expect(sqlite(file, "PRAGMA journal_mode")).toBe("wal");
    expect(sqlite(file, "PRAGMA integrity_check")).toBe("ok");
    expect(sqlite(file, "SELECT value FROM system_metadata WHERE key = 'schema_version'")).toBe(report.schemaVersion);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it("is a no-op the second time, keeping the instance id", () => {
    const file = path.join(dir, "mimir.db");
    const first = openDatabase(file);
    migrateDatabase(first, file);
    first.$client.close();
    const instance = sqlite(file, "SELECT value FROM system_metadata WHERE key = 'instance_id'");
    const again = openDatabase(file);
    expect(migrateDatabase(again, file).appliedMigrations).toBe(0);
    again.$client.close();
    expect(sqlite(file, "SELECT value FROM system_metadata WHERE key = 'instance_id'")).toBe(instance);
  });

  it("adopts a Mimir AIP database in place: every row stays, timestamps become ISO-8601, a snapshot is kept", () => {
    const file = path.join(dir, "mimir.db");
    makeMimirDatabase(file);
    const before = sqlite(file, "SELECT id, name, pipeline, cron_expr, enabled, last_result FROM scheduled_jobs ORDER BY id");

    const db = openDatabase(file);
    const report = migrateDatabase(db, file);
    db.$client.close();

    expect(report.adopted).toBe(true);
    expect(report.normalisedTimestamps).toBeGreaterThan(10);
    expect(sqlite(file, "SELECT count(*) FROM scheduled_jobs")).toBe("2");
    expect(sqlite(file, "SELECT count(*) FROM pipelines")).toBe("2");
    expect(sqlite(file, "SELECT count(*) FROM job_executions")).toBe("3");
    expect(sqlite(file, "SELECT id, name, pipeline, cron_expr, enabled, last_result FROM scheduled_jobs ORDER BY id")).toBe(before);
    expect(sqlite(file, "SELECT start_time FROM job_executions WHERE id = 'exec-2'")).toBe("2025-01-15T02:00:00.123Z");
    expect(sqlite(file, "SELECT start_time FROM job_executions WHERE id = 'exec-3'")).toBe("2025-01-15T11:30:00.000Z");
    expect(sqlite(file, "SELECT created_at FROM pipelines WHERE name = 'nightly-sync'")).toBe("2025-01-10T09:15:00.123Z");
    expect(sqlite(file, "SELECT count(*) FROM job_executions WHERE end_time NOT GLOB '????-??-??T??:??:??.???Z'")).toBe("0");
    expect(sqlite(file, "PRAGMA integrity_check")).toBe("ok");
    expect(sqlite(file, "PRAGMA foreign_key_check")).toBe("");
    expect(sqlite(file, "SELECT value FROM system_metadata WHERE key = 'adopted_from'")).toMatch(/^mimir-aip at /);

    // The untouched original is kept beside it, readable by the stock CLI.
    expect(report.preAdoptionSnapshot).not.toBeNull();
    expect(sqlite(report.preAdoptionSnapshot!, "SELECT start_time FROM job_executions WHERE id = 'exec-2'")).toBe("2025-01-15 02:00:00.123456789+00:00");
  });
});
