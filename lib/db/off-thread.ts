import "server-only";
import { Worker } from "node:worker_threads";
import { appDatabaseLocation, BUSY_TIMEOUT_MS } from "@/lib/db/client";

/**
 * Reads that walk a whole table (row counts, the run tallies of /metrics) run on SQLite on a worker
 * thread with its own read-only connection. better-sqlite3 runs a statement on the calling thread, so
 * on the app connection a 120 ms pass over 1,000,000 runs holds every request for 120 ms; on its own
 * thread it holds nobody. WAL mode lets that connection read while the app writes. On PostgreSQL the
 * driver is asynchronous already: the statements run on the pool as usual.
 *
 * A worker per call (about 30 ms to start): its connection never outlives the file it opened, so a
 * restore that swaps the file in cannot leave it reading the old one. Meant for work that is reused
 * for a while (lib/metrics), not for a request path.
 */

/** A built statement: drizzle's `.toSQL()`. */
export interface BuiltQuery {
  toSQL(): { sql: string; params: unknown[] };
}

/** Passed as the worker's script, so the bundler leaves its require() alone and node resolves the driver from cwd. */
const WORKER_SCRIPT = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const Database = require("better-sqlite3");
let db;
try {
  db = new Database(workerData.file, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = " + workerData.busyTimeoutMs);
  // One read transaction: every statement reads the same snapshot.
  const read = db.transaction(() => workerData.statements.map((s) => db.prepare(s.sql).raw().all(...s.params)));
  parentPort.postMessage({ ok: true, value: read.deferred() });
} catch (error) {
  parentPort.postMessage({ ok: false, message: error.message, code: error.code });
} finally {
  if (db) db.close();
}
`;

/**
 * Runs `statements` in one read transaction on a worker thread's own connection to the SQLite file and
 * answers each one's rows as arrays of column values, in select order. Reads only.
 */
export function readSqliteOffThread(file: string, statements: { sql: string; params: unknown[] }[]): Promise<unknown[][][]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SCRIPT, { eval: true, workerData: { file, busyTimeoutMs: BUSY_TIMEOUT_MS, statements } });
    let settled = false;
    worker.once("message", (reply: { ok: true; value: unknown[][][] } | { ok: false; message: string; code?: string }) => {
      settled = true;
      if (reply.ok) resolve(reply.value);
      else reject(Object.assign(new Error(reply.message), { code: reply.code }));
    });
    worker.once("error", (error) => {
      settled = true;
      reject(error);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`the read worker exited with ${code} before answering`));
    });
  });
}

/**
 * The rows of a select whose fields are `fields` (the same object passed to `select()`, flat: its keys
 * name the columns in order), read off the event loop on SQLite (see above) and on the pool on
 * PostgreSQL. Values come back as the driver gives them: use it for numbers and text, not for columns
 * that drizzle maps (timestamps on PostgreSQL, JSON). Reads only.
 */
export async function readOffThread<T extends Record<string, unknown>>(fields: Record<keyof T, unknown>, query: BuiltQuery & PromiseLike<T[]>): Promise<T[]> {
  const location = appDatabaseLocation();
  if (location.backend !== "sqlite") return await query;
  const keys = Object.keys(fields);
  const [rows] = await readSqliteOffThread(location.file, [query.toSQL()]);
  return rows!.map((values) => Object.fromEntries(keys.map((key, i) => [key, values[i]])) as T);
}
