import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { closeAppDatabase, getDb, openDatabase, setAppDatabase } from "@/lib/db/client";
import { seedDemoData } from "@/lib/demo/seed";
import { recoverDatabaseFile, sqliteCliCanRecover } from "@/lib/db/sqlite-recover";
import { getHealth } from "@/lib/health/service";
import { startOperation, waitForOperation } from "@/lib/operations/service";
import { runIntegrityCheck, startMaintenance, swapInRecoveredDatabase } from "@/lib/maintenance/service";
import type { RecoveryResult } from "@/lib/maintenance/types";

let root: TestDataRoot;
let readable: Map<string, string>;

/** Every execution row that can still be read from `file`, probed one rowid at a time: the "readable" baseline. */
function readableRows(file: string, maxRowid: number): Map<string, string> {
  const db = new Database(file, { readonly: true });
  const rows = new Map<string, string>();
  const read = db.prepare("SELECT * FROM job_executions WHERE rowid = ?");
  for (let rowid = 1; rowid <= maxRowid; rowid += 1) {
    try {
      const row = read.get(rowid) as { id: string } | undefined;
      if (row) rows.set(row.id, JSON.stringify(row));
    } catch {
      // this row sits on a damaged page
    }
  }
  db.close();
  return rows;
}

function rowsIn(file: string): Map<string, string> {
  const db = new Database(file, { readonly: true });
  const rows = new Map((db.prepare("SELECT * FROM job_executions").all() as { id: string }[]).map((row) => [row.id, JSON.stringify(row)]));
  db.close();
  return rows;
}

let total: number;

beforeAll(async () => {
  root = createTestDataRoot();
  await seedDemoData(root.config, { executions: 4000, days: 30, logFiles: 0, seed: 11 });
  total = getDb().$client.prepare("SELECT max(rowid) FROM job_executions").pluck().get() as number;
  // Write everything into the main file, close, and overwrite bytes in the middle of it.
  getDb().$client.pragma("wal_checkpoint(TRUNCATE)");
  // The middle leaf pages of the history table itself (dbstat): where the middle of the file falls
  // depends on which tables and indexes the migrations made.
  const pageSize = getDb().$client.pragma("page_size", { simple: true }) as number;
  const leaves = getDb()
    .$client.prepare("SELECT pageno FROM dbstat WHERE name = 'job_executions' AND pagetype = 'leaf' ORDER BY pageno")
    .pluck()
    .all() as number[];
  const target = leaves[Math.floor(leaves.length / 2)]!;
  closeAppDatabase();
  const file = root.config.paths.database;
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, Buffer.alloc(2 * pageSize - 200, 0xa5), 0, 2 * pageSize - 200, (target - 1) * pageSize + 100);
  fs.closeSync(fd);
  setAppDatabase(openDatabase(file), file);
  readable = readableRows(file, total);
});
afterAll(() => root.cleanup());

describe("a database damaged on purpose", () => {
  test("the damage is real: some rows are unreadable, most are not", () => {
    expect(readable.size).toBeLessThan(total);
    expect(readable.size).toBeGreaterThan(total / 2);
  });

  test("integrity_check lists the problems and /health reports unhealthy with the reason", async () => {
    const result = await runIntegrityCheck(false);
    expect(result.ok).toBe(false);
    expect(result.problems.length).toBeGreaterThan(0);
    const health = await getHealth();
    expect(health.status).toBe("unhealthy");
    expect(health.reasons.join(" ")).toMatch(/integrity check failed/);
  });

  test("the table-by-table salvage (no sqlite3 shell) saves every readable row", async () => {
    const target = path.join(root.home, "salvaged.db");
    const report = await recoverDatabaseFile(root.config.paths.database, target, { preferCli: false });
    expect(report.method).toBe("table-by-table salvage");
    const saved = rowsIn(target);
    for (const [id, row] of readable) expect(saved.get(id)).toBe(row);
  });

  test("Recover writes a new file keeping every readable row; the swap keeps the damaged file and heals /health", async () => {
    const operation = await waitForOperation((await startMaintenance("recover", null)).id);
    expect(operation.error).toBeNull();
    const result = operation.result as RecoveryResult;
    expect(result.method).toBe(sqliteCliCanRecover() ? "sqlite3 .recover" : "table-by-table salvage");
    expect(result.recovered_integrity_ok).toBe(true);
    const saved = rowsIn(result.recovered_file);
    for (const [id, row] of readable) expect(saved.get(id)).toBe(row);
    const executions = result.tables.find((t) => t.name === "job_executions");
    expect(executions?.recovered).toBeGreaterThanOrEqual(readable.size);

    // Not while other work runs on the connection the swap closes.
    let release!: () => void;
    const held = await startOperation({ kind: "vacuum", principal: null }, () => new Promise<void>((resolve) => (release = resolve)));
    await expect(swapInRecoveredDatabase({ operation_id: operation.id, confirm: "swap" }, null)).rejects.toMatchObject({ code: "operation_running" });
    release();
    await waitForOperation(held.id);
    await expect(swapInRecoveredDatabase({ operation_id: operation.id, confirm: "swap" }, null)).resolves.toMatchObject({ live: root.config.paths.database });
    const copies = fs.readdirSync(path.dirname(root.config.paths.database)).filter((n) => n.includes(".damaged-") && !n.endsWith("-wal"));
    expect(copies).toHaveLength(1);
    // The kept copy is the damaged database itself: same damage, same readable rows.
    expect(readableRows(path.join(path.dirname(root.config.paths.database), copies[0]!), total)).toEqual(readable);
    expect(getDb().$client.prepare("SELECT count(*) FROM job_executions").pluck().get()).toBe(saved.size);
    expect((await getHealth()).status).not.toBe("unhealthy");
    // A recovery cannot be swapped in twice.
    await expect(swapInRecoveredDatabase({ operation_id: operation.id, confirm: "swap" }, null)).rejects.toMatchObject({ code: "not_found" });
  });
});
