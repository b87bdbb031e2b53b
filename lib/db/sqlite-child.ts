import "server-only";
import { spawn } from "node:child_process";
import { lowerChildPriority } from "@/lib/db/background-priority";
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
    reply = { ok: false, code: error.code || "SQLITE_ERROR", message: error.message, tables: error.tables };
  }
  process.stdout.write(JSON.stringify(reply));
});
function cell(value) {
  if (typeof value === "bigint") return value.toString();
  if (Buffer.isBuffer(value)) return { blob_bytes: value.length, hex: value.subarray(0, 64).toString("hex") };
  return value;
}
// Opcodes that open a b-tree of the file: P2 is its root page, P3 the schema (0 main, 1 temp, 2+
// attached). OpenDup is not one: it copies a cursor on an ephemeral table, not a stored b-tree.
const OPENS_BTREE = new Set(["OpenRead", "ReopenIdx", "OpenWrite"]);
// P5 flag: P2 names a register holding the root page, not the page itself (not knowable from here).
const OPFLAG_P2ISREG = 0x10;
// Virtual-table modules that hand out raw file pages (and so every table's rows) if a build has them.
const RAW_PAGE_MODULES = ["sqlite_dbpage"];
const EXPLAIN_COLUMNS = ["addr,opcode,p1,p2,p3,p4,p5,comment", "id,parent,notused,detail"];
function refuse(code, message, extra) {
  return Object.assign(new Error(message), { code }, extra);
}
// Refuses, before it runs, a statement whose compiled program reads any table in task.refuseTables:
// SQLite resolves aliases, quoting, views, CTEs and subqueries into the b-trees the program opens,
// and EXPLAIN lists that program without running it. An index's b-tree counts as its table's.
function checkTablesRead(db, task, statement) {
  let explain;
  try {
    explain = db.prepare("EXPLAIN " + task.sql);
  } catch (error) {
    // "EXPLAIN EXPLAIN …" is the one way a statement that compiled cannot be explained; an EXPLAIN
    // lists a program or a plan and reads no rows. Anything else that cannot be checked is refused.
    if (EXPLAIN_COLUMNS.includes(statement.columns().map((c) => c.name).join(","))) return;
    throw refuse("UNCHECKED", "the statement could not be checked: " + error.message);
  }
  // Unbound parameters fail here as they would when the statement runs (SQLite's own message).
  const program = explain.all();
  const owners = new Map();
  for (const { seq, name } of db.prepare("PRAGMA database_list").all()) {
    owners.set(seq + ":1", seq === 1 ? "sqlite_temp_schema" : "sqlite_schema");
    const schema = '"' + name.replace(/"/g, '""') + '"';
    for (const row of db.prepare("SELECT rootpage, tbl_name FROM " + schema + ".sqlite_schema WHERE rootpage > 0").all()) {
      owners.set(seq + ":" + row.rootpage, row.tbl_name);
    }
  }
  const refused = new Set();
  let virtual = false;
  for (const op of program) {
    if (op.opcode === "VOpen") virtual = true;
    if (!OPENS_BTREE.has(op.opcode)) continue;
    const owner = op.p5 & OPFLAG_P2ISREG ? undefined : owners.get(op.p3 + ":" + op.p2);
    if (owner === undefined) throw refuse("UNCHECKED", "the statement opens a b-tree the check cannot place (" + op.opcode + " " + op.p2 + ")");
    if (task.refuseTables.includes(owner)) refused.add(owner);
  }
  if (refused.size) throw refuse("REFUSED_TABLES", "reads " + [...refused].join(", "), { tables: [...refused].sort() });
  if (virtual) {
    const modules = db.prepare("SELECT name FROM pragma_module_list").pluck().all();
    const raw = RAW_PAGE_MODULES.filter((m) => modules.includes(m));
    // The program does not say which virtual table it opens: with a raw-page module present, none.
    if (raw.length) throw refuse("RAW_PAGES", "this SQLite build reads raw database pages through virtual tables (" + raw.join(", ") + ")");
  }
}
function run(task) {
  if (task.kind === "query") {
    const db = new Database(task.file, { readonly: true, fileMustExist: true });
    db.pragma("query_only = 1");
    db.pragma("busy_timeout = " + task.busyTimeoutMs);
    // One read transaction from here on: the schema checked is the schema the statement runs on.
    db.exec("BEGIN");
    db.prepare("SELECT count(*) FROM sqlite_schema").get();
    const statement = db.prepare(task.sql);
    if (!statement.readonly) throw Object.assign(new Error("not read-only"), { code: "NOT_READ_ONLY" });
    if (!statement.reader) throw Object.assign(new Error("returns no rows"), { code: "NOT_A_QUERY" });
    checkTablesRead(db, task, statement);
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
  /** refuseTables: a statement whose program reads any of these (or their indexes) is refused before it runs */
  | { kind: "query"; file: string; sql: string; maxRows: number; refuseTables: string[] }
  | { kind: "integrity"; file: string; quick: boolean; maxErrors: number }
  | { kind: "vacuum"; file: string; autoVacuum?: "incremental" | "full" | "none" };

/** An error raised by SQLite (or the read-only guard) inside the child, with its code. */
export class SqliteChildError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** REFUSED_TABLES: the refused tables the statement reads, in name order */
    readonly tables: string[] = [],
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
 * `signal` aborts) and throws SqliteChildTimeout. Only the child touches the file. `background`: the
 * child runs at a low CPU priority (lib/db/background-priority.ts).
 */
export function runSqliteChild<T>(task: ChildTask, options: { timeoutMs: number; signal?: AbortSignal; background?: boolean }): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", CHILD_SCRIPT], { cwd: process.cwd(), stdio: ["pipe", "pipe", "pipe"] });
    if (options.background) lowerChildPriority(child.pid);
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
        const reply = JSON.parse(text) as { ok: true; value: T } | { ok: false; code: string; message: string; tables?: string[] };
        if (reply.ok) resolve(reply.value);
        else reject(new SqliteChildError(reply.code, reply.message, reply.tables));
      });
    });
    child.stdin.end(JSON.stringify({ ...task, busyTimeoutMs: BUSY_TIMEOUT_MS }));
  });
}
