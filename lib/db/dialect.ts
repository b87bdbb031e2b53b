import "server-only";
import { Column, fillPlaceholders, is, sql, type SQL, type SQLWrapper, type AnyColumn } from "drizzle-orm";
import type Database from "better-sqlite3";
import { getDb, sqliteClient, type Db } from "@/lib/db/client";
import { schemaBackend } from "@/lib/db/schema/select";
import { writesRefusedHere } from "@/lib/db/write-freeze";
import { processState } from "@/lib/process-state";

/**
 * The few places where SQLite and PostgreSQL need different SQL, or where the same drizzle code means
 * different things on each (study §1.3A). Query modules stay single-source and call these; anything
 * bigger than a fragment (VACUUM, backups, console) belongs to the engine (lib/db/engine).
 *
 * Numbers: node-postgres returns count/sum/int8/numeric as strings, so every aggregate the app reads
 * as a number goes through `num()` or drizzle's `count()` (both map with Number on either backend).
 * Timestamps: a raw expression over a timestamp column bypasses the column's mapping; `isoOf(column)`
 * (max/min) maps it back, so PostgreSQL hands over the same ISO text as SQLite.
 */

export function isPostgres(): boolean {
  return schemaBackend() === "postgres";
}

/** An aggregate read as a JS number on both backends (PostgreSQL sends bigint/numeric as text). */
export function num(expression: SQL): SQL<number> {
  return sql<number>`${expression}`.mapWith(Number);
}

/** How many rows of the group satisfy `condition` (SQLite has no boolean type, PostgreSQL no `sum(boolean)`). */
export function countWhere(condition: SQL | SQLWrapper): SQL<number> {
  return sql<number>`coalesce(sum(CASE WHEN ${condition} THEN 1 ELSE 0 END), 0)`.mapWith(Number);
}

/**
 * The first `length` characters of the timestamp's ISO text ("2025-01-15T02" for hours, 10 for days):
 * SQLite stores that text; PostgreSQL formats its timestamptz in UTC to the same text first.
 */
export function timeBucket(column: AnyColumn | SQL, length: number): SQL<string> {
  const n = sql.raw(String(Math.trunc(length)));
  if (isPostgres()) return sql<string>`left(to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), ${n})`;
  return sql<string>`substr(${column}, 1, ${n})`;
}

/** The integer part of an average of 64-bit values (byte counts): PostgreSQL's integer is 32-bit and its cast rounds. */
export function integerAverage(column: AnyColumn | SQL): SQL<number> {
  if (isPostgres()) return sql<number>`CAST(trunc(avg(${column})) AS BIGINT)`.mapWith(Number);
  return sql<number>`CAST(avg(${column}) AS INTEGER)`.mapWith(Number);
}

/**
 * The column as a value SQLite will not read from an index (its unary `+`), for a GROUP BY whose WHERE
 * selects a short range of another index: grouping by the bare status column, SQLite's planner walked
 * the whole (status, …) index in group order (1,000,000 entries, 60 ms) to spare itself a sort of the
 * day's 11,000 rows. PostgreSQL plans by its statistics: the bare column.
 */
export function notFromIndex(column: AnyColumn): SQL {
  return isPostgres() ? sql`${column}` : sql`+${column}`;
}

/** max()/min() of a timestamp column as the app's ISO text (or null), on both backends. */
export function isoOf(fn: "max" | "min", column: AnyColumn): SQL<string | null> {
  return sql<string | null>`${sql.raw(fn)}(${column})`.mapWith(column) as SQL<string | null>;
}

/** `column LIKE 'prefix%'`, case-insensitive for ASCII on both (SQLite's LIKE is; PostgreSQL needs ILIKE). */
export function startsWithIgnoringCase(column: AnyColumn, prefix: string): SQL {
  const pattern = `${prefix.replace(/[\\%_]/g, "\\$&")}%`;
  return isPostgres() ? sql`${column} ILIKE ${pattern} ESCAPE '\\'` : sql`${column} LIKE ${pattern} ESCAPE '\\'`;
}

/** A built statement: awaited on PostgreSQL, run synchronously inside a SQLite transaction. */
export interface Statement extends PromiseLike<unknown> {
  run(): unknown;
}

/**
 * Runs the statements `build` makes, all or nothing. drizzle's better-sqlite3 transactions take
 * synchronous callbacks only (drizzle-team/drizzle-orm#2275), node-postgres ones asynchronous ones:
 * the body only builds statements, and each backend runs them its way. On SQLite the transaction
 * waits for the write lock without stopping the event loop (`whenWriteLockFree`): a failed attempt
 * rolls back whole, and `build` runs again on the next.
 */
export async function atomically(build: (tx: Db) => Statement[]): Promise<void> {
  const db = getDb();
  if (isPostgres()) {
    const pg = db as unknown as { transaction: (fn: (tx: Db) => Promise<void>) => Promise<void> };
    await pg.transaction(async (tx) => {
      for (const statement of build(tx)) await statement;
    });
    return;
  }
  await whenWriteLockFree(() =>
    db.transaction((tx) => {
      for (const statement of build(tx as unknown as Db)) statement.run();
    }),
  );
}

/** A built statement that returns rows (… RETURNING): awaited on PostgreSQL, `.all()` inside a SQLite transaction. */
export interface RowsStatement extends PromiseLike<unknown[]> {
  all(): unknown[];
}

/**
 * The cluster lock an exclusive operation's admission holds (lib/operations/service.ts) and every job
 * run's start takes shared (lib/executions/queries.ts): a start either commits before the operation's
 * row exists, or sees that row and does not start. A read of the pause before the start left a window
 * in which a run could start on one instance while a restore was admitted on another.
 */
export const JOB_STARTS_LOCK = "job-starts";

/** How long a start waits for an exclusive operation's admission (milliseconds: one short transaction) to let go. */
const SHARED_LOCK_PATIENCE_MS = 10_000;

/**
 * Runs the `guards` in order and, only when each returned a row, the statements `then` builds: all in
 * one transaction, so a crash or a kill between them leaves neither (a claimed fire without its run).
 * Returns null when every guard passed and `then` ran, or the name of the first guard that returned no
 * row (nothing is written then). Built like `atomically`: the callbacks only build statements.
 *
 * With `sharedClusterLock`, the transaction holds that cluster lock shared (PostgreSQL; on SQLite the
 * transaction itself is the lock, one writer at a time). The lock is tried, not waited for, and the
 * transaction tried again after a pause: a start never holds a pooled connection while it waits, so
 * starts cannot take every connection from the admission that holds the lock and needs one more.
 */
export async function atomicallyWhen<G extends string>(
  guards: Record<G, (tx: Db) => RowsStatement>,
  then: (tx: Db) => Statement[],
  { sharedClusterLock }: { sharedClusterLock?: string } = {},
): Promise<G | null> {
  const names = Object.keys(guards) as G[];
  const db = getDb();
  if (!isPostgres()) {
    // Waits for SQLite's lock like `atomically`: a failed attempt rolled back whole and runs again.
    return whenWriteLockFree(() =>
      db.transaction((tx) => {
        for (const name of names) if (guards[name](tx as unknown as Db).all().length === 0) return name;
        for (const statement of then(tx as unknown as Db)) statement.run();
        return null;
      }),
    );
  }
  const LOCK_HELD = Symbol("lock held");
  const pg = db as unknown as {
    transaction: <R>(fn: (tx: Db & { execute: (query: SQL) => Promise<{ rows: Record<string, unknown>[] }> }) => Promise<R>) => Promise<R>;
  };
  const giveUpAt = Date.now() + SHARED_LOCK_PATIENCE_MS;
  for (let pause = 5; ; pause = Math.min(pause * 2, 200)) {
    const outcome = await pg.transaction(async (tx): Promise<G | null | typeof LOCK_HELD> => {
      if (sharedClusterLock) {
        const { rows } = await tx.execute(sql`SELECT pg_try_advisory_xact_lock_shared(hashtext(${`mimir:${sharedClusterLock}`})) AS taken`);
        if (rows[0]?.taken !== true) return LOCK_HELD;
      }
      for (const name of names) if ((await guards[name](tx)).length === 0) return name;
      for (const statement of then(tx)) await statement;
      return null;
    });
    if (outcome !== LOCK_HELD) return outcome;
    if (Date.now() > giveUpAt) {
      throw new Error(`the cluster lock ${sharedClusterLock} was held for over ${SHARED_LOCK_PATIENCE_MS / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/**
 * Runs a statement before returning where the driver allows it (SQLite): for a signal handler, which
 * runs just before the process exits and cannot wait. On PostgreSQL it is sent and not awaited; if the
 * process ends first, boot's failInterruptedOperations records the same outcome.
 */
export function runBeforeExit(statement: Statement): void {
  if (isPostgres()) {
    statement.then(undefined, () => {});
    return;
  }
  statement.run();
}

/**
 * The database's clock `offsetMs` from now, as a value for a timestamp column or a comparison. Leases
 * are written and judged by this one clock, so the instances' own clocks may disagree without a live
 * instance looking dead (or a dead one alive).
 */
export function databaseTime(offsetMs = 0): SQL<string> {
  const ms = Math.trunc(offsetMs);
  if (isPostgres()) return sql<string>`(clock_timestamp() + ${sql.raw(String(ms))} * interval '1 millisecond')`;
  return sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`${ms / 1000} seconds`})`;
}

/** Whether `error` (or what it wraps: drizzle wraps the driver's error as `cause`) is a unique-key violation. */
export function isUniqueViolation(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    const code = (current as { code?: unknown }).code;
    // PostgreSQL's unique_violation; better-sqlite3's extended codes for a UNIQUE index and a PRIMARY KEY
    if (code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") return true;
  }
  return false;
}

/**
 * Runs `work` while this process holds the cluster-wide locks `names`: on PostgreSQL transaction-level
 * advisory locks on a connection of its own, held until `work` has settled (its statements run on other
 * pooled connections and commit before the locks are let go, so the next holder sees them). Several
 * locks are taken in the order given, which every caller keeps (operations-admit first). On SQLite one
 * server owns the database file (the data root's lock): the caller's in-process serialisation is the lock.
 */
export async function withClusterLock<T>(names: string | string[], work: () => Promise<T>): Promise<T> {
  if (!isPostgres()) return work();
  const pg = getDb() as unknown as { transaction: <R>(fn: (tx: { execute: (query: SQL) => Promise<unknown> }) => Promise<R>) => Promise<R> };
  return pg.transaction(async (tx) => {
    for (const name of typeof names === "string" ? [names] : names) await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`mimir:${name}`}))`);
    return work();
  });
}

/** The driver's code for "another connection holds the lock", whatever the extended code (SQLITE_BUSY_SNAPSHOT, …). */
function isSqliteBusy(error: unknown): boolean {
  // As isBusyError in sqlite-maintenance.ts reads it (not imported: that module brings the SQLite
  // maintenance commands into every query module's import closure).
  return String((error as { code?: unknown } | null)?.code).startsWith("SQLITE_BUSY");
}

/** What one attempt at a write on the app's SQLite connection came to, without waiting for the lock. */
type Attempt<T> = { busy: true; error: unknown } | { busy: false; value: T | PromiseLike<T> };

/**
 * Runs `write` once on the app's SQLite connection with busy_timeout 0, so that a lock held by another
 * connection answers SQLITE_BUSY at once instead of a wait with the event loop stopped. A built drizzle
 * statement runs when its `then` is called (better-sqlite3 is synchronous: it has run, or failed, by
 * the time `then` returns), so `then` is called here, inside the window; its SQLITE_BUSY comes back as
 * the returned promise's rejection, which the caller reads.
 */
function attemptWithoutWaiting<T>(client: ReturnType<typeof sqliteClient>, write: () => T | PromiseLike<T>): Attempt<T> {
  const wait = client.pragma("busy_timeout", { simple: true }) as number;
  client.pragma("busy_timeout = 0");
  try {
    const value = write();
    const thenable = value !== null && typeof (value as PromiseLike<T> | undefined)?.then === "function";
    return { busy: false, value: thenable ? (value as PromiseLike<T>).then((landed) => landed) : value };
  } catch (error) {
    if (isSqliteBusy(error)) return { busy: true, error };
    throw error;
  } finally {
    client.pragma(`busy_timeout = ${wait}`);
  }
}

/** First pause after SQLITE_BUSY; doubled on each retry up to WRITE_RETRY_MAX_PAUSE_MS. */
const WRITE_RETRY_FIRST_PAUSE_MS = 2;
const WRITE_RETRY_MAX_PAUSE_MS = 50;
/**
 * How long a write keeps trying for SQLite's lock before it fails with the driver's SQLITE_BUSY (a 503
 * `database_busy` through toAppError): longer than busy_timeout's 5 s, because waiting on a timer
 * holds nobody else up, while a VACUUM of a large file holds the lock for tens of seconds.
 */
export const WRITE_LOCK_PATIENCE_MS = 60_000;

/**
 * Runs a write that must land, waiting for SQLite's write lock on timers instead of in busy_timeout:
 * better-sqlite3 waits out busy_timeout (5 s) with the event loop stopped, so a write on the app
 * connection while a VACUUM, a checkpoint or a restore in another connection held the lock froze every
 * request behind it (bench/beside-maintenance.ts). Each attempt runs with busy_timeout 0; on
 * SQLITE_BUSY it is tried again after a pause (2, 4, … 50 ms) until WRITE_LOCK_PATIENCE_MS, then the
 * SQLITE_BUSY error is thrown: loud, never dropped. `write` must run its statements synchronously (a
 * better-sqlite3 transaction, or a built drizzle statement, which runs when awaited) and be safe to run
 * again after a SQLITE_BUSY (one statement, or one transaction, which rolled back whole). Inside this
 * connection's own transaction the lock is ours already: it runs as is. On PostgreSQL it is awaited as
 * usual: a wait there does not stop the event loop.
 */
export async function whenWriteLockFree<T>(write: () => T | PromiseLike<T>, patienceMs = WRITE_LOCK_PATIENCE_MS): Promise<T> {
  if (isPostgres()) return await write();
  const client = sqliteClient(getDb());
  if (client.inTransaction) return await write();
  const deadline = performance.now() + patienceMs;
  let pause = WRITE_RETRY_FIRST_PAUSE_MS;
  let waiting = false;
  try {
    for (;;) {
      const attempt = attemptWithoutWaiting(client, write);
      let busy: unknown = attempt.busy ? attempt.error : null;
      if (!attempt.busy) {
        try {
          return await attempt.value;
        } catch (error) {
          if (!isSqliteBusy(error)) throw error;
          busy = error;
        }
      }
      if (performance.now() + pause > deadline) throw busy;
      if (!waiting) {
        waiting = true;
        lockWaiters.count += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(WRITE_RETRY_MAX_PAUSE_MS, pause * 2);
    }
  } finally {
    if (waiting) lockWaiters.count -= 1;
  }
}

// Process-wide: the cleanup (an operation's bundle) asks about writers from every bundle.
const lockWaiters = processState("writeLockWaiters", () => ({ count: 0 }));

/**
 * Resolves once no write of this process waits for SQLite's lock (whenWriteLockFree). A long run of
 * short write transactions on another connection of this process (the retention cleanup's worker)
 * calls it between them: a waiting write retries on a timer, and would otherwise keep finding the
 * next transaction holding the lock until its patience ran out.
 */
export async function whenNoWriteWaits(): Promise<void> {
  while (lockWaiters.count > 0) await new Promise((resolve) => setTimeout(resolve, WRITE_RETRY_FIRST_PAUSE_MS));
}

/**
 * Runs a bookkeeping write that may be skipped and tried again later (a last-used time), never
 * waiting for the write lock on SQLite (see whenWriteLockFree). Returns false when the lock was held,
 * or when writes are frozen for a switch to PostgreSQL (lib/db/write-freeze.ts). On PostgreSQL the
 * write is awaited as usual.
 */
export async function writeUnlessBusy(statement: Statement): Promise<boolean> {
  // Frozen for a switch to PostgreSQL: a last-seen note is not worth refusing the read that made it.
  if (writesRefusedHere() !== null) return false;
  if (isPostgres()) {
    await statement;
    return true;
  }
  const attempt = attemptWithoutWaiting(sqliteClient(getDb()), () => statement.run());
  return !attempt.busy;
}

/**
 * Whether another connection holds SQLite's write lock right now (a VACUUM or a restore in its child,
 * the CLI), asked without waiting: BEGIN IMMEDIATE with no busy wait, rolled back at once. Periodic
 * bookkeeping (the instance heartbeat) skips a round when it is, instead of waiting out busy_timeout
 * with the event loop stopped: that wait froze every request for 2.2 s during a VACUUM
 * (bench/beside-maintenance.ts). Always false on PostgreSQL, where a wait does not stop the loop, and
 * inside this connection's own transaction.
 */
export function isWriteLockHeldElsewhere(): boolean {
  if (isPostgres()) return false;
  const client = sqliteClient(getDb());
  if (client.inTransaction) return false;
  const wait = client.pragma("busy_timeout", { simple: true }) as number;
  client.pragma("busy_timeout = 0");
  try {
    client.exec("BEGIN IMMEDIATE");
    client.exec("ROLLBACK");
    return false;
  } catch (error) {
    if (String((error as { code?: unknown } | null)?.code).startsWith("SQLITE_BUSY")) return true;
    throw error;
  } finally {
    client.pragma(`busy_timeout = ${wait}`);
  }
}

/**
 * A query that every request runs (the caller's credentials, the history's first page), built by
 * drizzle and compiled by the database once per open connection instead of on each call: on a
 * 1,000,000-run history the building and SQLite's compiling cost more than the rows (bench/http.ts).
 * `build` gets the open database and returns `.prepare()` of a query whose values are
 * `sql.placeholder`s (kept here, not in a file of its own, so query modules' import closure stays small). On PostgreSQL the statement is sent unnamed, so a pool of connections needs no
 * per-connection bookkeeping; what is kept is drizzle's built SQL. A database opened anew (a restore,
 * a switch of backend) gets its own statement: the memo is keyed by the connection.
 */
export function preparedQuery<T>(build: (db: Db) => T): () => T {
  const byConnection = new WeakMap<Db, T>();
  return () => {
    const db = getDb();
    let prepared = byConnection.get(db);
    if (prepared === undefined) {
      prepared = build(db);
      byConnection.set(db, prepared);
    }
    return prepared;
  };
}

/** What runPlainRows reads of drizzle's prepared better-sqlite3 query (drizzle-orm/better-sqlite3/session.js). */
interface SqlitePreparedInternals {
  stmt?: Database.Statement;
  query?: { params: unknown[] };
  fields?: { path: string[]; field: unknown }[];
  customResultMapper?: unknown;
}

// Per prepared query: the driver statement whose own row objects are drizzle's answer, or null.
const plainStatements = new WeakMap<object, { statement: Database.Statement; params: unknown[] } | null>();

/**
 * Runs a prepared select (preparedQuery) and returns what its `execute` would. On SQLite, when every
 * field is a column selected under its own SQL name and read as stored (no Date, boolean or JSON
 * conversion), the rows better-sqlite3 builds natively are that answer already: drizzle would read
 * them as arrays and build each object again field by field in JS, which on a history page cost about
 * as much as the rest of our route code together (bench/route-cost.ts). Anything else, PostgreSQL
 * included (drizzle turns its timestamptz text into ISO), goes through drizzle.
 */
export async function executePlainRows<R>(
  prepared: { execute(values?: Record<string, unknown>): Promise<R[]> },
  values: Record<string, unknown>,
): Promise<R[]> {
  let plain = plainStatements.get(prepared);
  if (plain === undefined) {
    plain = plainStatementOf(prepared as SqlitePreparedInternals);
    plainStatements.set(prepared, plain);
  }
  if (plain === null) return prepared.execute(values);
  // raw(false): drizzle's own calls switch a statement to arrays; this one is ours alone, but say so each time.
  return plain.statement.raw(false).all(...fillPlaceholders(plain.params, values)) as R[];
}

function plainStatementOf(prepared: SqlitePreparedInternals): { statement: Database.Statement; params: unknown[] } | null {
  if (isPostgres() || !prepared.stmt || !prepared.query || !prepared.fields || prepared.customResultMapper) return null;
  const asStored = prepared.fields.every(
    ({ path, field }) =>
      path.length === 1 &&
      is(field, Column) &&
      field.name === path[0] &&
      // the base class's identity: a column type that converts overrides it
      field.mapFromDriverValue === Column.prototype.mapFromDriverValue,
  );
  return asStored ? { statement: prepared.stmt, params: prepared.query.params } : null;
}
