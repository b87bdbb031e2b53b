import "server-only";
import type { Pool } from "pg";
import { to as copyTo } from "pg-copy-streams";
import { currentSchema, escapeIdentifier, onlyRow, readCatalog } from "./catalog";
import { inTransaction } from "./transaction";

/**
 * Retention batches, reset and CSV export on PostgreSQL. Retention deletes by small batches on the
 * primary key with RETURNING, each its own short transaction, as on SQLite: readers are never
 * blocked on PostgreSQL (MVCC), and short transactions keep row locks brief and let autovacuum reuse
 * the space as the cleanup goes. A run still marked `running` is never deleted.
 */

export interface RetentionScope {
  /** ISO-8601 UTC: runs that started before it go; null for no age bound */
  cutoff: string | null;
  /** only this job's runs; null for all jobs */
  jobId: string | null;
}

function scopeWhere(scope: RetentionScope, first = 1): { sql: string; params: string[] } {
  const clauses = ["status <> 'running'"];
  const params: string[] = [];
  if (scope.cutoff !== null) {
    params.push(scope.cutoff);
    clauses.push(`start_time < $${first + params.length - 1}`);
  }
  if (scope.jobId !== null) {
    params.push(scope.jobId);
    clauses.push(`job_id = $${first + params.length - 1}`);
  }
  return { sql: clauses.join(" AND "), params };
}

/** How many runs an age-bound cleanup would delete (the start_time index answers it). */
export async function pgCountExpiredExecutions(pool: Pool, scope: RetentionScope): Promise<number> {
  if (scope.cutoff === null) return 0;
  const where = scopeWhere(scope);
  const row = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM job_executions WHERE ${where.sql}`, where.params);
  return Number(onlyRow(row).n);
}

/** Deletes up to `limit` runs older than the cut-off in one short transaction; returns their ids. */
export async function pgDeleteExpiredExecutionsBatch(pool: Pool, scope: RetentionScope, limit: number): Promise<string[]> {
  if (scope.cutoff === null) return [];
  const where = scopeWhere(scope);
  const rows = await pool.query<{ id: string }>(
    `DELETE FROM job_executions WHERE id IN (SELECT id FROM job_executions WHERE ${where.sql} LIMIT $${where.params.length + 1}) RETURNING id`,
    [...where.params, limit],
  );
  return rows.rows.map((row) => row.id);
}

/** Jobs with more than `keep` deletable runs, and how many each has beyond it. */
export async function pgListJobsOverCap(pool: Pool, scope: RetentionScope, keep: number): Promise<{ jobId: string; excess: number }[]> {
  const where = scopeWhere({ ...scope, cutoff: null }, 2);
  const rows = await pool.query<{ job_id: string; excess: string }>(
    `SELECT job_id, count(*) - $1 AS excess FROM job_executions WHERE ${where.sql} GROUP BY job_id HAVING count(*) > $1 ORDER BY job_id`,
    [keep, ...where.params],
  );
  return rows.rows.map((row) => ({ jobId: row.job_id, excess: Number(row.excess) }));
}

/** Deletes up to `limit` of one job's runs beyond its newest `keep`; returns their ids. */
export async function pgDeleteRunsBeyondCapBatch(pool: Pool, jobId: string, keep: number, limit: number): Promise<string[]> {
  const rows = await pool.query<{ id: string }>(
    `DELETE FROM job_executions WHERE id IN (
       SELECT id FROM job_executions WHERE job_id = $1 AND status <> 'running' ORDER BY start_time DESC, id DESC LIMIT $2 OFFSET $3)
     RETURNING id`,
    [jobId, limit, keep],
  );
  return rows.rows.map((row) => row.id);
}

/** Sample this many doomed rows to estimate what a cleanup frees, instead of reading them all. */
const SIZE_SAMPLE_ROWS = 500;

/** About how many bytes the runs in scope take (their stored row size, sampled, plus their share of the indexes). */
export async function pgEstimateExecutionBytes(pool: Pool, scope: RetentionScope, rows: number): Promise<number> {
  if (rows === 0) return 0;
  const where = scopeWhere(scope);
  const sample = await pool.query<{ avg: number | null; index_per_row: number | null }>(
    `SELECT (SELECT avg(pg_column_size(e.*))::float8 FROM (SELECT * FROM job_executions WHERE ${where.sql} LIMIT ${SIZE_SAMPLE_ROWS}) e) AS avg,
            (SELECT pg_indexes_size('job_executions'::regclass)::float8 / greatest(reltuples, 1) FROM pg_class WHERE oid = 'job_executions'::regclass) AS index_per_row`,
    where.params,
  );
  const { avg, index_per_row } = onlyRow(sample);
  return Math.round(rows * ((avg ?? 0) + (index_per_row ?? 0)));
}

/** Row counts of the given tables (a table the database lacks counts 0). */
export async function pgCountTableRows(pool: Pool, tables: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const exists = await pool.query("SELECT 1 FROM pg_class WHERE oid = to_regclass($1)", [escapeIdentifier(table)]);
    counts[table] = exists.rowCount === 0 ? 0 : Number(onlyRow(await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${escapeIdentifier(table)}`)).n);
  }
  return counts;
}

/**
 * Empties `tables` and all but one row of `operations` in one transaction (all or nothing), then
 * ANALYZE. Counted first inside the same transaction, after a lock that keeps writers out, so the
 * counts are what went. TRUNCATE (one statement for all, so their foreign keys among them do not
 * matter) gives the space back at once; no VACUUM is needed. Returns the rows deleted per table.
 */
export async function pgEmptyDataTables(pool: Pool, tables: readonly string[], options: { keepOperationId: string }): Promise<Record<string, number>> {
  const deleted = await inTransaction(pool, async (client) => {
    const list = tables.map(escapeIdentifier).join(", ");
    await client.query(`LOCK TABLE ${list} IN ACCESS EXCLUSIVE MODE`);
    const counts: Record<string, number> = {};
    for (const table of tables) counts[table] = Number(onlyRow(await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${escapeIdentifier(table)}`)).n);
    await client.query(`TRUNCATE ${list}`);
    counts.operations = (await client.query("DELETE FROM operations WHERE id <> $1", [options.keepOperationId])).rowCount ?? 0;
    return counts;
  });
  await pool.query(`ANALYZE ${[...tables, "operations"].map(escapeIdentifier).join(", ")}`);
  return deleted;
}

const TIMESTAMP_TYPES = /^timestamp(\(\d\))? with(out)? time zone$/;

/**
 * One table as CSV with a header row, through `COPY (SELECT …) TO STDOUT (FORMAT csv, HEADER)` in a
 * read-only snapshot, streamed. Values read as the app shows them: timestamps as ISO-8601 UTC with
 * milliseconds and booleans as 1/0, as the SQLite backend's CSV has them. Refusing credential tables
 * is the caller's rule (lib/maintenance/export.ts).
 */
export async function* pgExportTableCsv(pool: Pool, table: string, schema?: string): AsyncGenerator<string> {
  const client = await pool.connect();
  let completed = false;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const name = schema ?? (await currentSchema(client));
    const [catalog] = await readCatalog(client, name, [table]);
    if (!catalog) throw new Error(`No table ${table} in schema ${name}`);
    const select = catalog.columns
      .map((column) => {
        const quoted = escapeIdentifier(column.name);
        if (TIMESTAMP_TYPES.test(column.type)) return `to_char(${quoted} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${quoted}`;
        if (column.type === "boolean") return `${quoted}::int AS ${quoted}`;
        return quoted;
      })
      .join(", ");
    const stream = client.query(copyTo(`COPY (SELECT ${select} FROM ${catalog.qualified}) TO STDOUT WITH (FORMAT csv, HEADER)`));
    const decoder = new TextDecoder();
    for await (const chunk of stream as AsyncIterable<Buffer>) yield decoder.decode(chunk, { stream: true });
    const rest = decoder.decode();
    if (rest) yield rest;
    await client.query("COMMIT");
    completed = true;
  } finally {
    // A download cancelled or failed mid-COPY leaves the connection mid-protocol: discard it.
    client.release(completed ? undefined : new Error("CSV export did not complete"));
  }
}

/** Rows fetched per round trip when a table is read row by row. */
const FETCH_ROWS = 1000;

/**
 * The header and then one table's rows as arrays, from one read-only snapshot, through a server-side cursor (flat memory
 * whatever the table's size). Values read as the SQLite backend gives them to the CSV writer:
 * timestamps as ISO-8601 UTC strings, booleans as 1/0, bigints as numbers when they fit.
 */
export async function* pgIterateTableRows(pool: Pool, table: string, schema?: string): AsyncGenerator<(string | number | null)[]> {
  const client = await pool.connect();
  let completed = false;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const name = schema ?? (await currentSchema(client));
    const [catalog] = await readCatalog(client, name, [table]);
    if (!catalog) throw new Error(`No table ${table} in schema ${name}`);
    const select = catalog.columns
      .map((column) => {
        const quoted = escapeIdentifier(column.name);
        if (TIMESTAMP_TYPES.test(column.type)) return `to_char(${quoted} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
        if (column.type === "boolean") return `${quoted}::int`;
        return quoted;
      })
      .join(", ");
    const bigints = catalog.columns.map((column) => column.type === "bigint");
    // The header first, as the SQLite engine gives it.
    yield catalog.columns.map((column) => column.name);
    await client.query(`DECLARE mimir_rows NO SCROLL CURSOR FOR SELECT ${select} FROM ${catalog.qualified}`);
    for (;;) {
      const batch = await client.query({ text: `FETCH ${FETCH_ROWS} FROM mimir_rows`, rowMode: "array" });
      for (const row of batch.rows as unknown[][]) {
        yield row.map((value, index) => {
          if (value === null || typeof value === "number") return value;
          // int8 arrives as text; a value past 2^53 stays text rather than lose digits.
          if (bigints[index] && Number.isSafeInteger(Number(value))) return Number(value);
          return String(value);
        });
      }
      if (batch.rows.length < FETCH_ROWS) break;
    }
    await client.query("COMMIT");
    completed = true;
  } finally {
    if (!completed) await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}
