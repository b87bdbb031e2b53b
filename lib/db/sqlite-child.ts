import "server-only";
import { spawn } from "node:child_process";
import { BUSY_TIMEOUT_MS } from "@/lib/db/client";

/**
 * Runs one slow SQLite statement (VACUUM, integrity_check, a console query) on its own connection
 * in a child Node process. better-sqlite3 is synchronous and has no sqlite3_interrupt binding, so
 * in-process such a statement would freeze every request for its whole duration, and a time limit
 * could not stop it; a child process keeps the server answering and can be killed at the limit.
 */

/** Passed to `node -e`: a string, so the bundler leaves its require() alone and node resolves the driver from cwd. */
const CHILD_SCRIPT = String.raw`
const Database = require("better-sqlite3");
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  let reply;
  try {
    reply = { ok: true, value: run(JSON.parse(Buffer.concat(chunks).toString("utf8"))) };
  } catch (error) {
    reply = { ok: false, code: error.code || "SQLITE_ERROR", message: error.message };
  }
  process.stdout.write(JSON.stringify(reply));
});
function cell(value) {
  if (typeof value === "bigint") return value.toString();
  if (Buffer.isBuffer(value)) return { blob_bytes: value.length, hex: value.subarray(0, 64).toString("hex") };
  return value;
}
function run(task) {
  if (task.kind === "query") {
    const db = new Database(task.file, { readonly: true, fileMustExist: true });
    db.pragma("query_only = 1");
    db.pragma("busy_timeout = " + task.busyTimeoutMs);
    const statement = db.prepare(task.sql);
    if (!statement.readonly) throw Object.assign(new Error("not read-only"), { code: "NOT_READ_ONLY" });
    if (!statement.reader) throw Object.assign(new Error("returns no rows"), { code: "NOT_A_QUERY" });
    statement.raw(true).safeIntegers(true);
    const columns = statement.columns().map((c) => c.name);
    const rows = [];
    let truncated = false;
    for (const row of statement.iterate()) {
      if (rows.length === task.maxRows) { truncated = true; break; }
      rows.push(row.map(cell));
    }
    return { columns, rows, truncated };
  }
  if (task.kind === "integrity") {
    const db = new Database(task.file, { readonly: true, fileMustExist: true });
    db.pragma("busy_timeout = " + task.busyTimeoutMs);
    return db.prepare("PRAGMA " + (task.quick ? "quick_check" : "integrity_check") + "(" + task.maxErrors + ")").pluck().all();
  }
  if (task.kind === "vacuum") {
    const db = new Database(task.file, { fileMustExist: true });
    db.pragma("busy_timeout = " + task.busyTimeoutMs);
    if (task.autoVacuum) db.pragma("auto_vacuum = " + task.autoVacuum);
    db.exec("VACUUM");
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    return null;
  }
  throw new Error("unknown task " + task.kind);
}
`;

export type ChildTask =
  | { kind: "query"; file: string; sql: string; maxRows: number }
  | { kind: "integrity"; file: string; quick: boolean; maxErrors: number }
  | { kind: "vacuum"; file: string; autoVacuum?: "incremental" | "full" | "none" };

/** An error raised by SQLite (or the read-only guard) inside the child, with its code. */
export class SqliteChildError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "SqliteChildError";
  }
}

export class SqliteChildTimeout extends Error {
  constructor(readonly limitMs: number) {
    super(`stopped after ${limitMs} ms`);
    this.name = "SqliteChildTimeout";
  }
}

/** Output above this is refused: a query console result is capped in rows, this also caps their width. */
const MAX_REPLY_BYTES = 32 * 1024 * 1024;

/**
 * Runs `task` in a child process and returns its value; kills the child after `timeoutMs` (or when
 * `signal` aborts) and throws SqliteChildTimeout. Only the child touches the file.
 */
export function runSqliteChild<T>(task: ChildTask, options: { timeoutMs: number; signal?: AbortSignal }): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", CHILD_SCRIPT], { cwd: process.cwd(), stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = "";
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      finish(() => reject(new SqliteChildTimeout(options.timeoutMs)));
    }, options.timeoutMs);
    const onAbort = () => {
      child.kill("SIGKILL");
      finish(() => reject(options.signal?.reason ?? new Error("aborted")));
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_REPLY_BYTES) {
        child.kill("SIGKILL");
        finish(() => reject(new SqliteChildError("TOO_LARGE", `the result is larger than ${MAX_REPLY_BYTES} bytes`)));
        return;
      }
      out.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString("utf8");
    });
    child.on("error", (error) => finish(() => reject(error)));
    child.on("close", (code) => {
      finish(() => {
        const text = Buffer.concat(out).toString("utf8");
        if (!text) return reject(new Error(`the SQLite child process exited with ${code}: ${stderr.trim() || "no output"}`));
        const reply = JSON.parse(text) as { ok: true; value: T } | { ok: false; code: string; message: string };
        if (reply.ok) resolve(reply.value);
        else reject(new SqliteChildError(reply.code, reply.message));
      });
    });
    child.stdin.end(JSON.stringify({ ...task, busyTimeoutMs: BUSY_TIMEOUT_MS }));
  });
}
