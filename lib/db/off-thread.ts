import "server-only";
import { Worker } from "node:worker_threads";
import type pg from "pg";
import { appDatabaseLocation, BUSY_TIMEOUT_MS, getDb } from "@/lib/db/client";
import { LOWER_THIS_THREAD_SOURCE } from "@/lib/db/background-priority";
import { processState } from "@/lib/process-state";
import { createSerialQueue } from "@/lib/serial-queue";
import { inTransaction } from "@/lib/db/engine/postgres/transaction";

/**
 * Reads that walk a whole table (row counts, the run tallies of /metrics) run on SQLite on a worker
 * thread with its own read-only connection. better-sqlite3 runs a statement on the calling thread, so
 * on the app connection a 120 ms pass over 1,000,000 runs holds every request for 120 ms; on its own
 * thread it holds nobody. WAL mode lets that connection read while the app writes. On PostgreSQL the
 * driver is asynchronous already, but the database server's cores are the requests' too: the passes run
 * on a pool connection one at a time, without parallel workers (readPostgresInBackground).
 *
 * One worker thread for the process, started on first use and kept while it is used (unref'd: it never
 * holds the process open; ended once idle for IDLE_THREAD_MS), at the background niceness, reading one
 * call after another: starting a thread costs about 30 ms of a core, and /metrics refreshed two every
 * 30 s, each in the middle of the scrape that found its value stale. Each call opens its own connection and closes it after, so no connection outlives
 * the file it opened: a restore that swaps the file in cannot leave a call reading the old one. Meant
 * for work that is reused for a while (lib/metrics) or rare (a retention preview), not for a request path.
 */

/** A built statement: drizzle's `.toSQL()`. */
export interface BuiltQuery {
  toSQL(): { sql: string; params: unknown[] };
}

/** Passed as the worker's script, so the bundler leaves its require() alone and node resolves the driver from cwd. */
const WORKER_SCRIPT = String.raw`
const { parentPort } = require("node:worker_threads");
// A pass over a million rows beside a serving event loop must not take the loop's core.
${LOWER_THIS_THREAD_SOURCE}
const Database = require("better-sqlite3");
parentPort.on("message", ({ id, file, busyTimeoutMs, statements }) => {
  let db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma("busy_timeout = " + busyTimeoutMs);
    // One read transaction: every statement reads the same snapshot.
    const read = db.transaction(() => statements.map((s) => db.prepare(s.sql).raw().all(...s.params)));
    parentPort.postMessage({ id, ok: true, value: read.deferred() });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, message: error.message, code: error.code });
  } finally {
    if (db) db.close();
  }
});
`;

type Reply = { id: number; ok: true; value: unknown[][][] } | { id: number; ok: false; message: string; code?: string };
interface Reader {
  worker: Worker;
  next: number;
  pending: Map<number, { resolve: (value: unknown[][][]) => void; reject: (error: Error) => void }>;
  /** ends the thread once it has been idle for IDLE_THREAD_MS */
  retire?: NodeJS.Timeout;
}

/**
 * How long the thread outlives its last read. An idle thread holds ~9 MB of the server's memory (its
 * isolate and the driver); /metrics scraped every 15-30 s keeps it, and a server nobody scrapes lets
 * it go a minute after the boot's warm-up instead of holding it for good.
 */
const IDLE_THREAD_MS = 60_000;

/** One per process, not per bundle: /metrics and the boot's warm-up share the thread. */
const memo = processState("sqliteReadWorker", (): { reader: Reader | null } => ({ reader: null }));

/** The process's read worker, started when there is none (a worker that failed or exited is replaced on the next call). */
function readerThread(): Reader {
  if (memo.reader) return memo.reader;
  const worker = new Worker(WORKER_SCRIPT, { eval: true });
  const state: Reader = { worker, next: 0, pending: new Map() };
  worker.unref();
  worker.on("message", (reply: Reply) => {
    const call = state.pending.get(reply.id);
    state.pending.delete(reply.id);
    // Idle, it must not keep the process alive; a read under way does, as the thread per call did.
    if (state.pending.size === 0) {
      worker.unref();
      clearTimeout(state.retire);
      state.retire = setTimeout(() => {
        if (memo.reader !== state || state.pending.size > 0) return;
        memo.reader = null;
        void worker.terminate();
      }, IDLE_THREAD_MS).unref();
    }
    if (!call) return;
    if (reply.ok) call.resolve(reply.value);
    else call.reject(Object.assign(new Error(reply.message), { code: reply.code }));
  });
  const fail = (error: Error) => {
    if (memo.reader === state) memo.reader = null;
    for (const call of state.pending.values()) call.reject(error);
    state.pending.clear();
  };
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`the read worker exited with ${code} before answering`)));
  memo.reader = state;
  return state;
}

/**
 * Runs `statements` in one read transaction on the read worker's own connection to the SQLite file and
 * answers each one's rows as arrays of column values, in select order. Reads only.
 */
export function readSqliteOffThread(file: string, statements: { sql: string; params: unknown[] }[]): Promise<unknown[][][]> {
  const thread = readerThread();
  return new Promise((resolve, reject) => {
    const id = thread.next++;
    thread.pending.set(id, { resolve, reject });
    clearTimeout(thread.retire);
    thread.worker.ref();
    thread.worker.postMessage({ id, file, busyTimeoutMs: BUSY_TIMEOUT_MS, statements });
  });
}

/** One pass at a time on PostgreSQL, as the SQLite worker reads one call after another. */
const postgresPasses = processState("postgresBackgroundPasses", () => ({ inTurn: createSerialQueue() }));

/**
 * Runs `statements` in one read-only snapshot on a pool connection and answers each one's rows as
 * arrays of column values, in select order, as readSqliteOffThread does. One call at a time in this
 * process, and without parallel workers: a pass over a million rows then takes one core of the
 * database server, never all of them. The boot's two passes side by side, each with its parallel
 * workers, took both cores of a small server, and the first requests after boot waited for them
 * (a /metrics scrape 100-200 ms instead of 40). Reads only.
 */
export function readPostgresInBackground(statements: { sql: string; params: unknown[] }[]): Promise<unknown[][][]> {
  const pool = getDb().$client as unknown as pg.Pool;
  return postgresPasses.inTurn(() =>
    inTransaction(
      pool,
      async (client) => {
        await client.query("SET LOCAL max_parallel_workers_per_gather = 0");
        const answers: unknown[][][] = [];
        for (const statement of statements)
          answers.push((await client.query<unknown[]>({ text: statement.sql, values: statement.params, rowMode: "array" })).rows);
        return answers;
      },
      { begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" },
    ),
  );
}

/**
 * The rows of a select whose fields are `fields` (the same object passed to `select()`, flat: its keys
 * name the columns in order), read off the event loop on SQLite and as a background pass on
 * PostgreSQL (see above). Values come back as the driver gives them: use it for numbers and text, not for columns
 * that drizzle maps (timestamps on PostgreSQL, JSON). Reads only.
 */
export async function readOffThread<T extends Record<string, unknown>>(fields: Record<keyof T, unknown>, query: BuiltQuery & PromiseLike<T[]>): Promise<T[]> {
  const location = appDatabaseLocation();
  const keys = Object.keys(fields);
  const [rows] = location.backend === "sqlite" ? await readSqliteOffThread(location.file, [query.toSQL()]) : await readPostgresInBackground([query.toSQL()]);
  return rows!.map((values) => Object.fromEntries(keys.map((key, i) => [key, values[i]])) as T);
}
