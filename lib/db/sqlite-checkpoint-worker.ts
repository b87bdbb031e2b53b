import "server-only";
import { Worker } from "node:worker_threads";
import { BUSY_TIMEOUT_MS } from "@/lib/db/client";
import type { CheckpointResult } from "@/lib/db/sqlite-maintenance";
import { createSerialQueue } from "@/lib/serial-queue";

/**
 * WAL checkpoints on a worker thread with its own connection. A checkpoint copies pages and fsyncs
 * the database file, which on a busy disk takes tens of milliseconds; run on the app connection it
 * would stall every request for that long. A worker thread (not a child process: forking a server
 * with a large heap stalls the event loop too) keeps the app's event loop free.
 */

/** Evaluated as the worker's script, so the bundler leaves its require() alone and node resolves the driver from cwd. */
const WORKER_SCRIPT = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const Database = require("better-sqlite3");
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma("busy_timeout = " + workerData.busyTimeoutMs);
parentPort.on("message", (message) => {
  if (message.close) {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [row] = db.pragma("wal_checkpoint(" + message.mode + ")");
    parentPort.postMessage({ ok: true, value: { busy: row.busy, logFrames: row.log, checkpointedFrames: row.checkpointed } });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: error.message });
  }
});
`;

export class WalCheckpointWorker {
  private readonly worker: Worker;
  private readonly inTurn = createSerialQueue();

  constructor(file: string) {
    this.worker = new Worker(WORKER_SCRIPT, { eval: true, workerData: { file, busyTimeoutMs: BUSY_TIMEOUT_MS } });
    // An idle worker must not keep a CLI process alive.
    this.worker.unref();
  }

  /** Runs `PRAGMA wal_checkpoint(mode)` on the worker's connection; calls run one after another. */
  checkpoint(mode: "PASSIVE" | "TRUNCATE"): Promise<CheckpointResult> {
    return this.inTurn(
      () =>
        new Promise<CheckpointResult>((resolve, reject) => {
          const onMessage = (reply: { ok: true; value: CheckpointResult } | { ok: false; message: string }) => {
            this.worker.off("error", onError);
            if (reply.ok) resolve(reply.value);
            else reject(new Error(`checkpoint failed: ${reply.message}`));
          };
          const onError = (error: Error) => {
            this.worker.off("message", onMessage);
            reject(error);
          };
          this.worker.once("message", onMessage);
          this.worker.once("error", onError);
          this.worker.postMessage({ mode });
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
