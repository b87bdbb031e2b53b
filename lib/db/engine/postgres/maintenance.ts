import "server-only";
import type { Pool } from "pg";
import { currentSchema, escapeIdentifier, onlyRow } from "./catalog";

/**
 * The Database page's maintenance on PostgreSQL: sizes and dead tuples per table, VACUUM (ANALYZE),
 * ANALYZE, integrity with amcheck, and the "database is locked" analogue (long transactions and lock
 * waits). None of these blocks the app's readers or writers: VACUUM without FULL and amcheck's
 * bt_index_check take locks that only conflict with DDL.
 */

export interface PgTableStats {
  name: string;
  /** estimates from the statistics (pg_stat_user_tables), not count(*): exact counts of big tables are slow */
  live_rows: number;
  dead_rows: number;
  total_bytes: number;
  table_bytes: number;
  index_bytes: number;
  /** about how much of the table's pages dead rows hold: dead / (live + dead) × table bytes */
  bloat_bytes: number;
  last_vacuum_at: string | null;
  last_analyze_at: string | null;
}

export interface AmcheckStatus {
  installed: boolean;
  /** the extension's files are on the server (postgresql-contrib), so CREATE EXTENSION would work */
  available: boolean;
  /** verify_heapam exists (amcheck 1.3, PostgreSQL 14+) */
  heap_check: boolean;
  /** what to do when it is not installed (empty when it is) */
  how_to_install: string[];
}

export interface PgOverview {
  backend: "postgres";
  database: string;
  schema: string;
  server_version: string;
  database_bytes: number;
  tables: PgTableStats[];
  dead_rows: number;
  bloat_bytes: number;
  connections: { used: number; max: number };
  data_checksums: boolean;
  checksum_failures: number;
  amcheck: AmcheckStatus;
}

const iso = (value: Date | null) => (value ? value.toISOString() : null);
const later = (a: Date | null, b: Date | null) => (a && b ? (a > b ? a : b) : (a ?? b));

/** Per table of the schema: row estimates, dead rows, bytes, bloat estimate, last (auto)vacuum and analyze. */
export async function pgTableStats(pool: Pool, schema?: string): Promise<PgTableStats[]> {
  const client = await pool.connect();
  try {
    const name = schema ?? (await currentSchema(client));
    const rows = await client.query<{
      name: string;
      live: string;
      dead: string;
      total: string;
      heap: string;
      indexes: string;
      last_vacuum: Date | null;
      last_autovacuum: Date | null;
      last_analyze: Date | null;
      last_autoanalyze: Date | null;
    }>(
      `SELECT c.relname AS name, coalesce(s.n_live_tup, 0) AS live, coalesce(s.n_dead_tup, 0) AS dead,
              pg_total_relation_size(c.oid) AS total, pg_table_size(c.oid) AS heap, pg_indexes_size(c.oid) AS indexes,
              s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY pg_total_relation_size(c.oid) DESC, c.relname`,
      [name],
    );
    return rows.rows.map((row) => {
      const live = Number(row.live);
      const dead = Number(row.dead);
      const heap = Number(row.heap);
      return {
        name: row.name,
        live_rows: live,
        dead_rows: dead,
        total_bytes: Number(row.total),
        table_bytes: heap,
        index_bytes: Number(row.indexes),
        bloat_bytes: live + dead > 0 ? Math.round((dead / (live + dead)) * heap) : 0,
        last_vacuum_at: iso(later(row.last_vacuum, row.last_autovacuum)),
        last_analyze_at: iso(later(row.last_analyze, row.last_autoanalyze)),
      };
    });
  } finally {
    client.release();
  }
}

/** Whether amcheck is installed or installable here, and how to get it when it is not. */
export async function amcheckStatus(pool: Pool): Promise<AmcheckStatus> {
  const row = await pool.query<{ installed: boolean; available: boolean; heap: boolean; role: string; database: string }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'amcheck') AS installed,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck') AS available,
            to_regproc('verify_heapam') IS NOT NULL AS heap, current_user AS role, current_database() AS database`,
  );
  const { installed, available, heap, role, database } = onlyRow(row);
  const how: string[] = [];
  if (!installed) {
    if (!available) {
      how.push(
        "Install the server's contrib modules on the PostgreSQL host: Debian/Ubuntu `apt-get install postgresql-contrib` (the official postgres Docker image already has them).",
      );
    }
    how.push(
      `As a superuser, in database ${database}: CREATE EXTENSION amcheck;`,
      `Then let the app's role run the checks: GRANT EXECUTE ON FUNCTION bt_index_check(regclass, boolean), verify_heapam(regclass, boolean, boolean, text, bigint, bigint) TO ${escapeIdentifier(role)}; (verify_heapam exists from PostgreSQL 14)`,
    );
  }
  return { installed, available, heap_check: heap, how_to_install: how };
}

/** Database size, per-table figures, connections, checksums and amcheck's status: the Database page's figures on PostgreSQL. */
export async function pgOverview(pool: Pool, schema?: string): Promise<PgOverview> {
  const client = await pool.connect();
  let name: string;
  let info: { database: string; version: string; bytes: string; used: string; max: string; checksums: string; failures: string | null };
  try {
    name = schema ?? (await currentSchema(client));
    const result = await client.query(
      `SELECT current_database() AS database, current_setting('server_version') AS version, pg_database_size(current_database()) AS bytes,
              (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS used, current_setting('max_connections') AS max,
              current_setting('data_checksums') AS checksums,
              (SELECT checksum_failures FROM pg_stat_database WHERE datname = current_database()) AS failures`,
    );
    info = result.rows[0];
  } finally {
    client.release();
  }
  const tables = await pgTableStats(pool, name);
  return {
    backend: "postgres",
    database: info.database,
    schema: name,
    server_version: info.version,
    database_bytes: Number(info.bytes),
    tables,
    dead_rows: tables.reduce((sum, table) => sum + table.dead_rows, 0),
    bloat_bytes: tables.reduce((sum, table) => sum + table.bloat_bytes, 0),
    connections: { used: Number(info.used), max: Number(info.max) },
    data_checksums: info.checksums === "on",
    checksum_failures: Number(info.failures ?? 0),
    amcheck: await amcheckStatus(pool),
  };
}

async function appTables(pool: Pool, schema?: string): Promise<{ schema: string; tables: string[] }> {
  const client = await pool.connect();
  try {
    const name = schema ?? (await currentSchema(client));
    const rows = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY c.relname`,
      [name],
    );
    return { schema: name, tables: rows.rows.map((row) => row.name) };
  } finally {
    client.release();
  }
}

const qualify = (schema: string, table: string) => `${escapeIdentifier(schema)}.${escapeIdentifier(table)}`;

export interface PgVacuumResult {
  tables: number;
  dead_rows_before: number;
  database_bytes_before: number;
  database_bytes_after: number;
  duration_ms: number;
}

/**
 * `VACUUM (ANALYZE)` of every app table: marks dead rows' space reusable and refreshes the planner's
 * statistics without blocking reads or writes. It gives no space back to the operating system (only
 * VACUUM FULL does, under an exclusive lock): the file sizes stay, the bloat is reused.
 */
export async function pgVacuumAnalyze(pool: Pool, schema?: string): Promise<PgVacuumResult> {
  const started = performance.now();
  const { schema: name, tables } = await appTables(pool, schema);
  const before = await pgTableStats(pool, name);
  const size = async () => Number(onlyRow(await pool.query<{ bytes: string }>("SELECT pg_database_size(current_database()) AS bytes")).bytes);
  const bytesBefore = await size();
  if (tables.length > 0) await pool.query(`VACUUM (ANALYZE) ${tables.map((table) => qualify(name, table)).join(", ")}`);
  return {
    tables: tables.length,
    dead_rows_before: before.reduce((sum, table) => sum + table.dead_rows, 0),
    database_bytes_before: bytesBefore,
    database_bytes_after: await size(),
    duration_ms: Math.round(performance.now() - started),
  };
}

/** `ANALYZE` of every app table: fresh planner statistics. Returns when it ran and how long it took. */
export async function pgAnalyze(pool: Pool, schema?: string): Promise<{ analyzed_at: string; duration_ms: number; tables: number }> {
  const started = performance.now();
  const { schema: name, tables } = await appTables(pool, schema);
  if (tables.length > 0) await pool.query(`ANALYZE ${tables.map((table) => qualify(name, table)).join(", ")}`);
  return { analyzed_at: new Date().toISOString(), duration_ms: Math.round(performance.now() - started), tables: tables.length };
}

export interface PgIntegrityResult {
  /** quick: every btree index's structure; full: also every heap row found in its indexes (heapallindexed) and the heap itself (verify_heapam) */
  mode: "quick" | "full";
  /** null when amcheck is not installed: nothing could be checked */
  ok: boolean | null;
  problems: string[];
  indexes_checked: number;
  tables_checked: number;
  checksum_failures: number;
  amcheck: AmcheckStatus;
  checked_at: string;
  duration_ms: number;
}

/**
 * Integrity with amcheck: `bt_index_check` on every btree index of the app tables (with
 * heapallindexed in full mode) and, in full mode, `verify_heapam` on every table. Both take only an
 * AccessShareLock, like a SELECT. Each index or table that fails is listed; the check goes on with
 * the rest. Without amcheck it checks nothing and says how to install it.
 */
export async function pgCheckIntegrity(
  pool: Pool,
  mode: "quick" | "full",
  options: { schema?: string; signal?: AbortSignal } = {},
): Promise<PgIntegrityResult> {
  const started = performance.now();
  const amcheck = await amcheckStatus(pool);
  const failures = Number(
    (await pool.query<{ n: string | null }>("SELECT checksum_failures AS n FROM pg_stat_database WHERE datname = current_database()")).rows[0]?.n ?? 0,
  );
  const base = { mode, checksum_failures: failures, amcheck, checked_at: new Date().toISOString() };
  if (!amcheck.installed) {
    return { ...base, ok: null, problems: [], indexes_checked: 0, tables_checked: 0, duration_ms: Math.round(performance.now() - started) };
  }
  const { schema, tables } = await appTables(pool, options.schema);
  const problems: string[] = [];
  if (failures > 0) problems.push(`${failures} data page checksum failure(s) recorded for this database (pg_stat_database.checksum_failures)`);
  const indexes = await pool.query<{ index: string; table: string; oid: number }>(
    `SELECT ic.relname AS index, tc.relname AS table, ic.oid
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = tc.relnamespace JOIN pg_am am ON am.oid = ic.relam
      WHERE n.nspname = $1 AND am.amname = 'btree' AND i.indisvalid AND i.indisready ORDER BY tc.relname, ic.relname`,
    [schema],
  );
  for (const index of indexes.rows) {
    options.signal?.throwIfAborted();
    try {
      await pool.query("SELECT bt_index_check($1::regclass, $2)", [index.oid, mode === "full"]);
    } catch (error) {
      problems.push(`index ${index.index} on ${index.table}: ${(error as Error).message}`);
    }
  }
  let tablesChecked = 0;
  if (mode === "full" && amcheck.heap_check) {
    for (const table of tables) {
      options.signal?.throwIfAborted();
      try {
        const found = await pool.query<{ blkno: string; offnum: number | null; attnum: number | null; msg: string }>(
          "SELECT blkno, offnum, attnum, msg FROM verify_heapam(to_regclass($1), on_error_stop => false)",
          [qualify(schema, table)],
        );
        for (const row of found.rows) problems.push(`table ${table}, block ${row.blkno}${row.offnum === null ? "" : `, item ${row.offnum}`}: ${row.msg}`);
      } catch (error) {
        problems.push(`table ${table}: ${(error as Error).message}`);
      }
      tablesChecked += 1;
    }
  }
  return {
    ...base,
    ok: problems.length === 0,
    problems,
    indexes_checked: indexes.rows.length,
    tables_checked: tablesChecked,
    duration_ms: Math.round(performance.now() - started),
  };
}

export interface PgSession {
  pid: number;
  user: string;
  application: string;
  state: string;
  /** seconds since the session's transaction began (null: none open) */
  transaction_seconds: number | null;
  wait: string | null;
  /** sessions whose locks this one waits for */
  blocked_by: number[];
  query: string;
}

export interface PgLockReport {
  /** transactions open longer than the threshold: they hold back VACUUM and may hold locks */
  long_transactions: PgSession[];
  /** sessions waiting for a lock another session holds, with who holds it */
  lock_waits: PgSession[];
  /** what to do about them, in plain words (empty when nothing was found) */
  fix: string[];
}

/**
 * PostgreSQL's "database is locked": other sessions of this database with a transaction open longer
 * than `longSeconds`, and sessions waiting on a lock (pg_blocking_pids names the holder). Query
 * text is visible for the app's own role's sessions (or with pg_read_all_stats).
 */
export async function pgLockReport(pool: Pool, longSeconds = 60): Promise<PgLockReport> {
  const rows = await pool.query<{
    pid: number;
    user: string | null;
    application: string;
    state: string | null;
    seconds: number | null;
    wait_type: string | null;
    wait: string | null;
    blocked_by: number[];
    query: string | null;
  }>(
    `SELECT pid, usename AS user, application_name AS application, state, extract(epoch FROM now() - xact_start)::float8 AS seconds,
            wait_event_type AS wait_type, wait_event AS wait, pg_blocking_pids(pid) AS blocked_by, left(query, 300) AS query
       FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
      ORDER BY xact_start NULLS LAST`,
  );
  const sessions: PgSession[] = rows.rows.map((row) => ({
    pid: row.pid,
    user: row.user ?? "",
    application: row.application,
    state: row.state ?? "",
    transaction_seconds: row.seconds === null ? null : Math.round(row.seconds),
    wait: row.wait_type ? `${row.wait_type}: ${row.wait}` : null,
    blocked_by: row.blocked_by,
    query: row.query ?? "",
  }));
  const long = sessions.filter((session) => session.transaction_seconds !== null && session.transaction_seconds >= longSeconds);
  const waits = sessions.filter((session) => session.blocked_by.length > 0);
  const fix: string[] = [];
  if (waits.length > 0) {
    const holders = [...new Set(waits.flatMap((session) => session.blocked_by))];
    fix.push(
      `Session(s) ${holders.join(", ")} hold the locks others wait for. Let them finish, or end one from psql as the app's role or a superuser: ` +
        `SELECT pg_cancel_backend(<pid>); (cancels its statement) or SELECT pg_terminate_backend(<pid>); (ends the session and rolls its transaction back).`,
    );
  }
  if (long.length > 0) {
    fix.push(
      "A transaction left open holds its locks and keeps VACUUM from reusing dead rows. Close the client that opened it; " +
        "to have the server end such sessions by itself: ALTER DATABASE <db> SET idle_in_transaction_session_timeout = '10min';",
    );
  }
  return { long_transactions: long, lock_waits: waits, fix };
}
