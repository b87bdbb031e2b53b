import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import Database from "better-sqlite3";
import { checkSqliteDatabase } from "@/lib/db/sqlite-snapshot";

// The check runs its page check and its foreign keys in two workers at once: each half must still
// report what it finds, whichever finishes first.
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-sqlite-check-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function database(name: string, build: (db: Database.Database) => void): string {
  const file = path.join(dir, name);
  const db = new Database(file);
  db.exec(`
    CREATE TABLE scheduled_jobs (id TEXT PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE job_executions (id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES scheduled_jobs(id), status TEXT NOT NULL);
    CREATE INDEX idx_executions_status ON job_executions (status);
    CREATE TABLE system_metadata (key TEXT PRIMARY KEY, value TEXT);
    INSERT INTO system_metadata VALUES ('schema_version', '42');
    INSERT INTO scheduled_jobs VALUES ('job-1', 'one');
  `);
  const insert = db.prepare("INSERT INTO job_executions VALUES (?, ?, ?)");
  for (let i = 0; i < 500; i += 1) insert.run(`exec-${i}`, "job-1", i % 2 ? "success" : "failed");
  build(db);
  db.close();
  return file;
}

test("a sound database passes both halves, with its row counts and schema version", async () => {
  const file = database("sound.db", () => undefined);
  const check = await checkSqliteDatabase(file, "integrity_check");
  expect(check).toMatchObject({ depth: "integrity_check", integrity: ["ok"], foreignKeyViolations: 0, schemaVersion: "42" });
  expect(check.rowCounts).toMatchObject({ scheduled_jobs: 1, job_executions: 500 });
});

test("rows whose parent is missing are counted, while the page check still passes", async () => {
  const file = database("orphans.db", (db) => {
    db.pragma("foreign_keys = OFF");
    db.prepare("INSERT INTO job_executions VALUES ('exec-orphan-1', 'job-gone', 'success'), ('exec-orphan-2', 'job-gone', 'failed')").run();
  });
  const check = await checkSqliteDatabase(file, "integrity_check");
  expect(check.integrity).toEqual(["ok"]);
  expect(check.foreignKeyViolations).toBe(2);
});

test("an index that no longer matches its rows fails integrity_check (quick_check does not look) and the keys are still checked", async () => {
  // The index is built on `status`, then its definition is rewritten to `job_id` (with the sqlite3
  // shell: better-sqlite3 runs in defensive mode): every row now misses its index entry, which only
  // integrity_check's index comparison sees.
  const file = database("stale-index.db", (db) => {
    db.pragma("foreign_keys = OFF");
    db.prepare("INSERT INTO job_executions VALUES ('exec-orphan', 'job-gone', 'success')").run();
  });
  execFileSync("sqlite3", [
    file,
    "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'CREATE INDEX idx_executions_status ON job_executions (job_id)' WHERE name = 'idx_executions_status';",
  ]);
  const full = await checkSqliteDatabase(file, "integrity_check");
  expect(full.integrity).not.toEqual(["ok"]);
  expect(full.integrity.join("\n")).toMatch(/idx_executions_status/);
  expect(full.foreignKeyViolations).toBe(1);
  expect((await checkSqliteDatabase(file, "quick_check")).integrity).toEqual(["ok"]);
});

test("a file that is not a database fails the check instead of hanging either worker", async () => {
  const file = path.join(dir, "not-a-database.db");
  fs.writeFileSync(file, Buffer.alloc(8192, 7));
  await expect(checkSqliteDatabase(file, "integrity_check")).rejects.toThrow(/not-a-database\.db/);
});

// Beside serving, the halves run one after the other (one worker's memory at a time): each must still report.
test("a check in the background finds what one in the foreground finds, a failing first half included", async () => {
  const file = database("background.db", (db) => {
    db.pragma("foreign_keys = OFF");
    db.prepare("INSERT INTO job_executions VALUES ('exec-orphan', 'job-gone', 'success')").run();
  });
  execFileSync("sqlite3", [
    file,
    "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'CREATE INDEX idx_executions_status ON job_executions (job_id)' WHERE name = 'idx_executions_status';",
  ]);
  const background = await checkSqliteDatabase(file, "integrity_check", { background: true });
  expect(background).toEqual(await checkSqliteDatabase(file, "integrity_check"));
  expect(background.integrity).not.toEqual(["ok"]);
  expect(background.foreignKeyViolations).toBe(1);
  const broken = path.join(dir, "not-a-database.db");
  fs.writeFileSync(broken, Buffer.alloc(8192, 7));
  await expect(checkSqliteDatabase(broken, "integrity_check", { background: true })).rejects.toThrow(/not-a-database\.db/);
});

test("the keys half starts once keysAfter settles, and still runs when it rejects", async () => {
  const file = database("later.db", (db) => db.pragma("journal_mode = WAL"));
  let release!: () => void;
  const keysAfter = new Promise<void>((resolve) => (release = resolve));
  const check = checkSqliteDatabase(file, "integrity_check", { keysAfter });
  // A row written while the keys wait (WAL: beside the page check's reader) is in the counts the keys
  // half reads once released. (Whether it waited is measured, not asserted: a worker that did not
  // might still open the file after the write; bench/RESULTS-restore-memory.md.)
  const writer = new Database(file);
  writer.prepare("INSERT INTO job_executions VALUES ('exec-late', 'job-1', 'success')").run();
  writer.close();
  release();
  expect((await check).rowCounts).toMatchObject({ job_executions: 501 });

  const failed = Promise.reject(new Error("the extraction failed"));
  failed.catch(() => undefined);
  const afterFailure = await checkSqliteDatabase(file, "integrity_check", { keysAfter: failed });
  expect(afterFailure).toMatchObject({ integrity: ["ok"], foreignKeyViolations: 0 });
  expect(afterFailure.rowCounts).toMatchObject({ job_executions: 501 });
});
