import "server-only";
import { Worker } from "node:worker_threads";
import { BUSY_TIMEOUT_MS } from "@/lib/db/client";
import { LOWER_THIS_THREAD_SOURCE } from "@/lib/db/background-priority";
import type { CheckpointResult } from "@/lib/db/sqlite-maintenance";
import { createSerialQueue } from "@/lib/serial-queue";

/**
 * WAL checkpoints, and the retention cleanup's batched deletes and free-page steps, on a worker thread
 * with its own connection. A checkpoint copies pages and fsyncs the database file, which on a busy
 * disk takes tens of milliseconds; a delete batch or an incremental_vacuum step takes a few to tens
 * (more on a loaded machine, where the thread is descheduled mid-statement); run on the app
 * connection each would stall every request for that long. A worker thread (not a child process:
 * forking a server with a large heap stalls the event loop too) keeps the app's event loop free: the
 * app's own writes meanwhile wait for the lock on timers (whenWriteLockFree in lib/db/dialect.ts).
 */

/** Evaluated as the worker's script, so the bundler leaves its require() alone and node resolves the driver from cwd. */
const WORKER_SCRIPT = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
if (workerData.background) { ${LOWER_THIS_THREAD_SOURCE} }
const Database = require("better-sqlite3");
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma("busy_timeout = " + workerData.busyTimeoutMs);
db.pragma("foreign_keys = ON");
// Its writes never checkpoint inside a commit: the owner checkpoints when the WAL has grown.
db.pragma("wal_autocheckpoint = 0");
function handle(message) {
  if (message.write) {
    // The statement again, each time its own transaction (the lock is let go between), while it fills
    // its LIMIT and the time asked for is not spent: one round trip between threads for several.
    const statement = db.prepare(message.write.sql).pluck();
    const limit = message.limit;
    const started = performance.now();
    let rows = [];
    let runs = 0;
    for (;;) {
      const batch = statement.all(...message.write.params);
      rows = rows.concat(batch);
      runs += 1;
      if (batch.length < limit || performance.now() - started >= message.repeatForMs) break;
    }
    return { rows, ms: (performance.now() - started) / runs };
  }
  if (message.incrementalVacuum) {
    db.pragma("incremental_vacuum(" + message.incrementalVacuum + ")");
    return db.pragma("freelist_count", { simple: true });
  }
  const [row] = db.pragma("wal_checkpoint(" + message.mode + ")");
  return { busy: row.busy, logFrames: row.log, checkpointedFrames: row.checkpointed };
}
parentPort.on("message", (message) => {
  if (message.close) {
    db.close();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ ok: true, value: handle(message) });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: error.message, code: error.code });
  }
});
`;

export class WalCheckpointWorker {
  private readonly worker: Worker;
  private readonly inTurn = createSerialQueue();

  /** `background`: the thread runs at a low CPU priority (lib/db/background-priority.ts). */
  constructor(file: string, options: { background?: boolean } = {}) {
    this.worker = new Worker(WORKER_SCRIPT, { eval: true, workerData: { file, busyTimeoutMs: BUSY_TIMEOUT_MS, background: options.background ?? false } });
    // An idle worker must not keep a CLI process alive.
    this.worker.unref();
  }

  /** Runs `PRAGMA wal_checkpoint(mode)` on the worker's connection; calls run one after another. */
  checkpoint(mode: "PASSIVE" | "TRUNCATE"): Promise<CheckpointResult> {
    return this.ask<CheckpointResult>({ mode }, "checkpoint");
  }

  /**
   * Runs a writing statement that returns one column (`DELETE … RETURNING id … LIMIT limit`) on the
   * worker's connection, each run its own transaction, again while it returned `limit` rows and for up
   * to `repeatForMs`; answers every run's values and how long one run held the lock on average. The
   * caller checks the write freeze: this connection is not the app's.
   */
  writeReturning(statement: { sql: string; params: unknown[] }, limit: number, repeatForMs = 0): Promise<{ rows: unknown[]; ms: number }> {
    return this.ask({ write: statement, limit, repeatForMs }, "write");
  }

  /** `PRAGMA incremental_vacuum(pages)` on the worker's connection; answers the free pages left. */
  incrementalVacuum(pages: number): Promise<number> {
    return this.ask({ incrementalVacuum: Math.max(1, Math.floor(pages)) }, "incremental vacuum");
  }

  private ask<T>(message: object, what: string): Promise<T> {
    return this.inTurn(
      () =>
        new Promise<T>((resolve, reject) => {
          const onMessage = (reply: { ok: true; value: T } | { ok: false; message: string; code?: string }) => {
            this.worker.off("error", onError);
            if (reply.ok) resolve(reply.value);
            else reject(Object.assign(new Error(`${what} failed: ${reply.message}`), { code: reply.code }));
          };
          const onError = (error: Error) => {
            this.worker.off("message", onMessage);
            reject(error);
          };
          this.worker.once("message", onMessage);
          this.worker.once("error", onError);
          this.worker.postMessage(message);
        }),
    );
  }

  /** Lets queued checkpoints finish, then closes the worker's connection and ends the thread. */
  async close(): Promise<void> {
    await this.inTurn(async () => {});
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.postMessage({ close: true });
    await exited;
  }
}
