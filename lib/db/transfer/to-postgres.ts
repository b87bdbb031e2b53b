import "server-only";
import fs from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import pg from "pg";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { AppError } from "@/lib/errors";
import { nowIso } from "@/lib/db/timestamps";
import {
  canonical,
  describeInvalid,
  checksumForm,
  copyField,
  INVALID,
  parseCopyLine,
  PRINTED_CANONICALLY,
  TableChecksum,
  type ColumnKind,
} from "@/lib/db/transfer/canonical";
import { DEFER_INDEXES_FROM_ROWS, describeBuilt, dropIndexesForCopy, recreateIndexes } from "@/lib/db/engine/postgres/deferred-indexes";
import { ProgressMeter, type ProgressListener } from "@/lib/db/transfer/progress";
import { ident, NOT_COPIED, readPgShapes, type TableShape } from "@/lib/db/transfer/shape";

/** PostgreSQL 13 is the oldest the product supports (issue 13); older servers are refused before anything is written. */
export const MIN_PG_VERSION_NUM = 130000;
/** Keys of system_metadata each database keeps for itself: its own schema version, not the source's. */
const OWN_METADATA = ["schema_version", "migrated_from"];
/** Rows to list per problem: enough to find them, not a wall of ids. */
const EXAMPLES = 5;
/** COPY data is sent in chunks of about this many characters. */
const CHUNK_CHARS = 1 << 20;

export interface TableReport {
  table: string;
  sourceRows: number;
  targetRows: number;
  sourceChecksum: string;
  targetChecksum: string;
  ok: boolean;
}

export interface TransferReport {
  tables: TableReport[];
  rows: number;
  copySeconds: number;
  verifySeconds: number;
  seconds: number;
}

export interface PreflightResult {
  problems: string[];
  /** facts worth printing either way: server version, collation, rows per table */
  notes: string[];
  sourceRows: Record<string, number>;
}

/** "host:port/database" of a connection string, for messages: never its user or password. */
export function describePgTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname || parsed.searchParams.get("host") || "localhost";
    return `${host}${parsed.port ? `:${parsed.port}` : ""}/${decodeURIComponent(parsed.pathname.slice(1)) || "(default database)"}`;
  } catch {
    return "(a connection string that is not a URL)";
  }
}

export async function connectPg(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: "mimir-migrate", connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

function openSource(file: string): Database.Database {
  // Read-only, so the file is left exactly as it was: the way back is to switch the config back to it.
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.defaultSafeIntegers(true);
  return db;
}

function sqliteTables(db: Database.Database): Map<string, string[]> {
  const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  return new Map(
    names.filter((n) => !NOT_COPIED.has(n)).map((n) => [n, (db.prepare(`PRAGMA table_info(${ident(n)})`).all() as { name: string }[]).map((c) => c.name)]),
  );
}

/** How a problem row is named: its primary key, or its rowid when it has none. */
function rowKeyExpression(db: Database.Database, table: string, alias = ""): string {
  const pk = (db.prepare(`PRAGMA table_info(${ident(table)})`).all() as { name: string; pk: number | bigint }[])
    .filter((c) => Number(c.pk) > 0)
    .sort((a, b) => Number(a.pk) - Number(b.pk));
  const prefix = alias ? `${alias}.` : "";
  return pk.length === 0 ? `${prefix}rowid` : pk.map((c) => prefix + ident(c.name)).join(" || ',' || ");
}

/**
 * Everything that would make the copy fail or lose data, listed before anything is touched: values
 * PostgreSQL's types would refuse (Go-written timestamps that do not parse, booleans that are not
 * 0/1, NUL characters), rows whose parent is missing (Mimir's Go driver ran with foreign keys off), a
 * source that fails quick_check, and a target that is unreachable, older than PostgreSQL 13, or not empty.
 */
export async function preflightToPostgres(sourceFile: string, targetUrl: string, expected: TableShape[]): Promise<PreflightResult> {
  const problems: string[] = [];
  const notes: string[] = [];
  const sourceRows: Record<string, number> = {};

  if (!fs.existsSync(sourceFile)) {
    problems.push(`The SQLite database ${sourceFile} does not exist.`);
  } else {
    // quick_check reads every page of the file: on a thread of its own it runs beside the value and orphan scans.
    const integrity = quickCheckOnWorker(sourceFile);
    const found: string[] = [];
    let scanError: unknown = null;
    const db = openSource(sourceFile);
    try {
      scanSource(db, expected, found, sourceRows);
    } catch (error) {
      scanError = error;
    } finally {
      db.close();
    }
    const check = await integrity;
    if (check.length !== 1 || check[0] !== "ok") {
      // A damaged file is the one problem worth naming: what the scans found in it (or how they failed) means little.
      problems.push(`The SQLite database fails quick_check (${check.slice(0, 3).join("; ")}): repair it first (Database page → Recover), then migrate.`);
    } else if (scanError) {
      throw scanError;
    } else {
      problems.push(...found);
    }
  }

  let client: pg.Client | null = null;
  try {
    client = await connectPg(targetUrl);
  } catch (error) {
    problems.push(`Cannot connect to PostgreSQL at ${describePgTarget(targetUrl)}: ${(error as Error).message}`);
  }
  if (client) {
    try {
      await checkTarget(client, expected, problems, notes);
    } finally {
      await client.end();
    }
  }
  return { problems, notes, sourceRows };
}

/** Evaluated as the worker's script, so the bundler leaves its require() alone and node resolves the driver from cwd. */
const QUICK_CHECK_SCRIPT = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const Database = require("better-sqlite3");
let lines;
try {
  const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
  try {
    lines = db.prepare("PRAGMA quick_check").pluck().all().map(String);
  } finally {
    db.close();
  }
} catch (error) {
  lines = [error.message];
}
parentPort.postMessage(lines);
`;

/** `PRAGMA quick_check` of the file on a worker thread with its own read-only connection: its lines ("ok" alone when sound). */
function quickCheckOnWorker(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(QUICK_CHECK_SCRIPT, { eval: true, workerData: { file } });
    worker.once("message", (lines: string[]) => {
      resolve(lines);
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the quick_check worker exited (${code}) without an answer`)));
  });
}

function scanSource(db: Database.Database, expected: TableShape[], problems: string[], sourceRows: Record<string, number>) {
  const source = sqliteTables(db);
  const known = new Set(expected.map((t) => t.name));
  for (const [name] of source) {
    const rows = Number(
      db
        .prepare(`SELECT count(*) FROM ${ident(name)}`)
        .pluck()
        .get(),
    );
    if (!known.has(name) && rows > 0) problems.push(`Table ${name} (${rows} rows) has no counterpart in the PostgreSQL schema: its rows would be lost.`);
  }
  for (const table of expected) {
    const columns = source.get(table.name);
    if (!columns) continue;
    sourceRows[table.name] = Number(
      db
        .prepare(`SELECT count(*) FROM ${ident(table.name)}`)
        .pluck()
        .get(),
    );
    const targetColumns = new Map(table.columns.map((c) => [c.name, c]));
    for (const name of columns) {
      if (targetColumns.has(name)) continue;
      const used = Number(
        db
          .prepare(`SELECT count(*) FROM ${ident(table.name)} WHERE ${ident(name)} IS NOT NULL`)
          .pluck()
          .get(),
      );
      if (used > 0) problems.push(`Column ${table.name}.${name} (${used} values) has no counterpart in the PostgreSQL schema: its values would be lost.`);
    }
    for (const column of table.columns) {
      if (!columns.includes(column.name) && column.notNull && !column.hasDefault && sourceRows[table.name]! > 0) {
        problems.push(`Column ${table.name}.${column.name} is required in PostgreSQL but missing from the SQLite file.`);
      }
    }
    scanValues(db, table, columns, problems);
    scanOrphans(db, table, source, problems);
  }
}

/** One pass per table: SQL finds the candidates cheaply (GLOB, typeof, json_valid), the canonicaliser judges them. */
function scanValues(db: Database.Database, table: TableShape, present: string[], problems: string[]) {
  const columns = table.columns.filter((c) => present.includes(c.name));
  const predicates = columns.flatMap((c) => {
    const col = ident(c.name);
    const checks = suspicious(c.kind, col);
    if (c.notNull) checks.push(`${col} IS NULL`);
    return checks.map((p) => `(${p})`);
  });
  if (predicates.length === 0) return;
  const key = rowKeyExpression(db, table.name);
  const found = new Map<string, { count: number; examples: string[]; what: string }>();
  const note = (column: string, what: string, rowKey: unknown) => {
    const entry = found.get(column) ?? { count: 0, examples: [], what };
    entry.count += 1;
    if (entry.examples.length < EXAMPLES) entry.examples.push(String(rowKey));
    found.set(column, entry);
  };
  const stmt = db.prepare(
    `SELECT ${key} AS "__key", ${columns.map((c) => ident(c.name)).join(", ")} FROM ${ident(table.name)} WHERE ${predicates.join(" OR ")}`,
  );
  for (const row of stmt.iterate() as Iterable<Record<string, unknown>>) {
    for (const column of columns) {
      const value = row[column.name];
      if (value === null) {
        if (column.notNull) note(column.name, "empty (NULL) where PostgreSQL requires a value", row.__key);
      } else if (canonical(column.kind, value) === INVALID) {
        note(column.name, `${describeInvalid(column.kind)}, e.g. ${JSON.stringify(String(value).slice(0, 60))}`, row.__key);
      }
    }
  }
  for (const [column, entry] of found) {
    problems.push(`${table.name}.${column}: ${entry.count} row(s) ${entry.what} (rows ${entry.examples.join(", ")}${entry.count > EXAMPLES ? ", …" : ""}).`);
  }
}

function suspicious(kind: ColumnKind, col: string): string[] {
  switch (kind) {
    case "timestamp":
      // Values already in the app's format are fine; anything else (Go's format, epochs, garbage) is judged in JS.
      return [`${col} IS NOT NULL AND NOT (${col} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z')`];
    case "boolean":
      return [`${col} IS NOT NULL AND ${col} NOT IN (0, 1)`];
    case "integer":
      return [`typeof(${col}) NOT IN ('integer', 'null')`];
    case "real":
      return [`typeof(${col}) NOT IN ('integer', 'real', 'null')`];
    case "json":
      return [`${col} IS NOT NULL AND NOT json_valid(${col})`];
    case "text":
      return [`typeof(${col}) = 'blob' OR instr(${col}, char(0)) > 0`];
  }
}

/** Rows PostgreSQL's foreign keys would refuse: the child's key names a parent row that is not there. */
function scanOrphans(db: Database.Database, table: TableShape, source: Map<string, string[]>, problems: string[]) {
  for (const fk of table.foreignKeys) {
    const parentColumns = source.get(fk.parent);
    const childColumns = source.get(table.name)!;
    if (!fk.columns.every((c) => childColumns.includes(c))) continue;
    const notNull = fk.columns.map((c) => `c.${ident(c)} IS NOT NULL`).join(" AND ");
    const where = parentColumns
      ? `${notNull} AND NOT EXISTS (SELECT 1 FROM ${ident(fk.parent)} p WHERE ${fk.columns.map((c, i) => `p.${ident(fk.parentColumns[i]!)} = c.${ident(c)}`).join(" AND ")})`
      : notNull;
    const key = rowKeyExpression(db, table.name, "c");
    const rows = db
      .prepare(`SELECT ${key} FROM ${ident(table.name)} c WHERE ${where} LIMIT ${EXAMPLES + 1}`)
      .pluck()
      .all();
    if (rows.length === 0) continue;
    const count = Number(
      db
        .prepare(`SELECT count(*) FROM ${ident(table.name)} c WHERE ${where}`)
        .pluck()
        .get(),
    );
    const fix = `DELETE FROM ${table.name} WHERE ${fk.columns.join(", ")} NOT IN (SELECT ${fk.parentColumns.join(", ")} FROM ${fk.parent})`;
    problems.push(
      `${table.name}: ${count} orphan row(s) whose ${fk.columns.join(", ")} names no ${fk.parent} row (rows ${rows.slice(0, EXAMPLES).map(String).join(", ")}${count > EXAMPLES ? ", …" : ""}); PostgreSQL's foreign key would refuse them. With the server stopped, remove them with: ${fix}`,
    );
  }
}

/** The refusal for a server older than PostgreSQL 13, or null. */
export function versionProblem(versionNum: number, version: string): string | null {
  return versionNum < MIN_PG_VERSION_NUM ? `PostgreSQL ${version} is too old: Mimir AIP needs PostgreSQL 13 or later.` : null;
}

async function checkTarget(client: pg.Client, expected: TableShape[], problems: string[], notes: string[]) {
  const facts = await client.query<{ version: number; server: string; collate: string; schema: string | null }>(
    "SELECT current_setting('server_version_num')::int AS version, current_setting('server_version') AS server, " +
      "(SELECT datcollate FROM pg_database WHERE datname = current_database()) AS collate, current_schema() AS schema",
  );
  const { version, server, collate, schema } = facts.rows[0]!;
  notes.push(
    `PostgreSQL ${server}, collation ${collate}${collate === "C" || collate === "C.UTF-8" || collate === "POSIX" ? "" : " (lists sort by that collation, which may differ from SQLite's byte order)"}`,
  );
  const old = versionProblem(version, server);
  if (old) problems.push(old);
  if (schema === null) {
    problems.push("The connection has no schema to create tables in (current_schema() is null): set search_path or create the schema first.");
    return;
  }
  const known = new Set(expected.map((t) => t.name));
  const tables = await client.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
  );
  const foreign = tables.rows.map((r) => r.name).filter((n) => !known.has(n) && !NOT_COPIED.has(n));
  if (foreign.length > 0)
    problems.push(`The target schema ${schema} holds tables that are not Mimir AIP's (${foreign.slice(0, 10).join(", ")}): migrate into an empty database.`);
  // system_metadata is written by the migrations themselves; a run killed after them leaves it, and that is still an empty target.
  for (const { name } of tables.rows.filter((r) => known.has(r.name) && r.name !== "system_metadata")) {
    const { rows } = await client.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${ident(name)}) AS any`);
    if (rows[0]!.any) problems.push(`The target is not empty: table ${name} has rows. Migrate into an empty database (or drop its tables first).`);
  }
}

/**
 * The copy's transaction on the target, as drizzle over the PostgreSQL schema (lib/db/schema/pg): for
 * rows that must be committed with the copy or not at all (the migration's own outcome and audit row).
 */
export type TargetTransaction = NodePgDatabase;

export interface MigrateToPostgresOptions {
  source: string;
  target: string;
  /** the app's tables as the PostgreSQL schema declares them, for the preflight */
  expected: TableShape[];
  /** brings the target to the app's PostgreSQL schema (the migrations, under their lock) */
  createSchema: (url: string) => Promise<void>;
  onProgress?: ProgressListener;
  /** every line worth telling the operator (preflight notes, phases) */
  onMessage?: (text: string) => void;
  /**
   * Called once verified, right before the commit, with the copy's transaction and the report so far:
   * the last moment a cancel can still stop it (throw to roll back), and the place to write what must
   * be in the target exactly when the copy is.
   */
  beforeCommit?: (target: TargetTransaction, report: TransferReport) => Promise<void> | void;
  /** called when the SQLite file has been read for the last time and closed (before the verification of PostgreSQL) */
  onSourceClosed?: () => void;
}

/**
 * SQLite → PostgreSQL: preflight, schema, then every table copied with COPY FROM STDIN in one
 * transaction, sequences reset, and row counts plus checksums compared inside that transaction
 * before it commits. Any failure, a mismatch, or the process dying leaves the target's tables
 * empty: PostgreSQL rolls back an uncommitted transaction whatever ends it.
 */
export async function migrateToPostgres(options: MigrateToPostgresOptions): Promise<TransferReport> {
  const say = options.onMessage ?? (() => undefined);
  const started = performance.now();
  const preflight = await preflightToPostgres(options.source, options.target, options.expected);
  for (const note of preflight.notes) say(note);
  if (preflight.problems.length > 0) {
    throw new AppError("preflight_failed", `Nothing was changed: ${preflight.problems.length} problem(s) to fix first`, { details: preflight.problems });
  }
  say(`Creating the schema in ${describePgTarget(options.target)} …`);
  await options.createSchema(options.target);

  const client = await connectPg(options.target);
  const source = openSource(options.source);
  try {
    const shapes = await readPgShapes(client);
    const present = sqliteTables(source);
    const total = shapes.reduce((n, t) => n + (preflight.sourceRows[t.name] ?? 0), 0);
    const tables: TableReport[] = [];
    const checksums = new Map<string, TableChecksum>();
    // One read transaction on the source: every table from the same snapshot.
    source.exec("BEGIN");
    await client.query("BEGIN");
    try {
      const metadata = await client.query<{ key: string; value: string }>(`SELECT key, value FROM system_metadata WHERE key = ANY($1)`, [OWN_METADATA]);
      await client.query("DELETE FROM system_metadata");
      const deferred = await dropIndexesForCopy(
        client,
        shapes.filter((t) => (preflight.sourceRows[t.name] ?? 0) >= DEFER_INDEXES_FROM_ROWS).map((t) => t.name),
      );
      const copying = new ProgressMeter("copy", total, options.onProgress);
      for (const table of shapes) {
        const columns = table.columns.filter((c) => present.get(table.name)?.includes(c.name));
        const checksum = new TableChecksum();
        checksums.set(table.name, checksum);
        if (columns.length > 0) await copyTable(client, source, table.name, columns, checksum, copying);
        copying.add(table.name, 0, true);
      }
      for (const table of shapes) {
        for (const column of table.columns.filter((c) => c.sequence)) {
          await client.query(`SELECT setval($1, COALESCE((SELECT max(${ident(column.name)}) FROM ${ident(table.name)}), 0) + 1, false)`, [column.sequence]);
        }
      }
      // Everything is read: let go of the file before the (PostgreSQL-only) verification.
      source.exec("ROLLBACK");
      source.close();
      options.onSourceClosed?.();
      if (deferred.indexes.length > 0)
        say(`Building ${deferred.indexes.length} index(es) and ${deferred.foreignKeys.length} foreign key(s) over the copied rows …`);
      const building = new ProgressMeter("index", deferred.indexes.length + deferred.foreignKeys.length, options.onProgress, 0);
      await recreateIndexes(client, deferred, (statement) => building.add(describeBuilt(statement), 1));
      // Fresh tables have no planner statistics until autovacuum gets to them: the console's first
      // queries on a million-row history would be planned blind. Inside the transaction, so they land with the rows.
      say("Collecting planner statistics (ANALYZE) …");
      await client.query("ANALYZE");
      const copySeconds = (performance.now() - started) / 1000;
      const verifyStarted = performance.now();
      const verifying = new ProgressMeter("verify", total, options.onProgress);
      for (const table of shapes) {
        const source = checksums.get(table.name)!;
        const columns = table.columns.filter((c) => present.get(table.name)?.includes(c.name));
        const target = await pgChecksum(client, table.name, columns, verifying);
        verifying.add(table.name, 0, true);
        tables.push({
          table: table.name,
          sourceRows: source.rows,
          targetRows: target.rows,
          sourceChecksum: source.hex,
          targetChecksum: target.hex,
          ok: source.rows === target.rows && source.hex === target.hex,
        });
      }
      const verifySeconds = (performance.now() - verifyStarted) / 1000;
      const bad = tables.filter((t) => !t.ok);
      if (bad.length > 0) {
        throw new AppError(
          "verification_failed",
          `The copy does not match the source in ${bad.map((t) => t.table).join(", ")}; nothing was kept in PostgreSQL`,
          {
            details: tables,
          },
        );
      }
      // After the check: these two are the target's own, not copies.
      const now = nowIso();
      for (const row of metadata.rows.filter((r) => r.key === "schema_version")) {
        await client.query(
          "INSERT INTO system_metadata (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
          [row.key, row.value, now],
        );
      }
      await client.query(
        "INSERT INTO system_metadata (key, value, updated_at) VALUES ('migrated_from', $1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
        [`sqlite:${options.source} at ${now}`, now],
      );
      const rows = tables.reduce((n, t) => n + t.targetRows, 0);
      await options.beforeCommit?.(drizzle({ client }), { tables, rows, copySeconds, verifySeconds, seconds: (performance.now() - started) / 1000 });
      await client.query("COMMIT");
      // Every copied row is visible to everyone, but PostgreSQL learns that only from a VACUUM, which
      // sets the visibility map: until autovacuum got to it, every count and index-only scan of the
      // console read the heap page of each row (bench:pages on PostgreSQL with 1M runs: Overview p95
      // 391 ms, the Database page 1,028 ms; after this VACUUM 126 and 298 ms). After the commit, since
      // VACUUM cannot run in a transaction; the data is kept whatever happens here, so a failure only says so.
      say("Marking the copied rows visible to the planner (VACUUM) …");
      await client.query(`VACUUM ${shapes.map((table) => `"${table.name}"`).join(", ")}`).catch((error: Error) => {
        say(`VACUUM did not run (${error.message}); autovacuum will do it later, and queries are slower until then`);
      });
      return { tables, rows, copySeconds, verifySeconds, seconds: (performance.now() - started) / 1000 };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      if (source.open && source.inTransaction) source.exec("ROLLBACK");
    }
  } finally {
    if (source.open) source.close();
    await client.end().catch(() => undefined);
  }
}

/** The status of operation `id` in the target (null when it has no such row or no table; undefined when the target did not answer): whether a copy that carried it committed. */
export async function targetOperationStatus(url: string, id: string): Promise<string | null | undefined> {
  let client: pg.Client | undefined;
  try {
    client = await connectPg(url);
    const { rows } = await client.query<{ status: string }>("SELECT status FROM operations WHERE id = $1", [id]);
    return rows[0]?.status ?? null;
  } catch {
    return undefined;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

async function copyTable(
  client: pg.Client,
  source: Database.Database,
  table: string,
  columns: TableShape["columns"],
  checksum: TableChecksum,
  meter: ProgressMeter,
) {
  const kinds = columns.map((c) => c.kind);
  const stmt = source.prepare(`SELECT ${columns.map((c) => ident(c.name)).join(", ")} FROM ${ident(table)}`).raw(true);
  function* chunks(): Generator<string> {
    let chunk = "";
    let rows = 0;
    for (const row of stmt.iterate() as Iterable<unknown[]>) {
      // The COPY line and the checksum line (encodeRow of the checksum forms), built field by field in one pass:
      // they differ only in JSON (sent as written, hashed parsed) and timestamps (sent ISO, hashed as PostgreSQL prints them).
      let line = "";
      let hashed = "";
      for (let i = 0; i < kinds.length; i += 1) {
        const kind = kinds[i]!;
        const value = canonical(kind, row[i]);
        if (value === INVALID)
          throw new AppError("preflight_failed", `${table}.${columns[i]!.name} holds a value the preflight did not catch: ${String(row[i]).slice(0, 60)}`);
        const separator = i === 0 ? "" : "\t";
        if (value !== null && kind === "json") {
          line += separator + copyField(String(row[i]));
          hashed += separator + copyField(value);
        } else {
          const field = copyField(value);
          line += separator + field;
          // Neither form of a timestamp holds a character COPY escapes.
          hashed += separator + (value !== null && kind === "timestamp" ? checksumForm(kind, value) : field);
        }
      }
      checksum.addLine(hashed);
      chunk += `${line}\n`;
      rows += 1;
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        meter.add(table, rows);
        chunk = "";
        rows = 0;
      }
    }
    if (chunk) yield chunk;
    meter.add(table, rows);
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(`COPY ${ident(table)} (${columns.map((c) => ident(c.name)).join(", ")}) FROM STDIN`)));
}

/**
 * The table as PostgreSQL holds it, read back through COPY TO: each row's line in the checksum form
 * (checksumForm), timestamps printed by PostgreSQL's own output function in UTC under DateStyle ISO
 * (to_char would cost the server more than the rest of the row's output together).
 */
export async function pgChecksum(client: pg.Client, table: string, columns: TableShape["columns"], meter?: ProgressMeter): Promise<TableChecksum> {
  const checksum = new TableChecksum();
  if (columns.length === 0) return checksum;
  const select = `SELECT ${columns.map((c) => (c.kind === "timestamp" ? `${ident(c.name)} AT TIME ZONE 'UTC'` : ident(c.name))).join(", ")} FROM ${ident(table)}`;
  const style = await client.query<{ style: string }>("SELECT current_setting('DateStyle') AS style");
  // For this session until the finally below (inside a transaction that rolls back, the rollback restores it too).
  await client.query("SELECT set_config('DateStyle', 'ISO', false)");
  try {
    if (columns.every((c) => PRINTED_CANONICALLY.has(c.kind))) {
      // Every field is printed in its checksum form already: hash the line as PostgreSQL printed it.
      await forEachCopyLine(client, select, (line) => {
        checksum.addLine(line);
        meter?.add(table, 1);
      });
    } else {
      await forEachCopyRow(client, select, (fields) => {
        checksum.add(fields.map((field, i) => (columns[i]!.kind === "timestamp" ? field : canonicalOrThrow(columns[i]!.kind, field))));
        meter?.add(table, 1);
      });
    }
  } finally {
    await client.query("SELECT set_config('DateStyle', $1, false)", [style.rows[0]!.style]).catch(() => undefined);
  }
  return checksum;
}

function canonicalOrThrow(kind: ColumnKind, value: unknown): string | null {
  const result = canonical(kind, value);
  if (result === INVALID) throw new AppError("verification_failed", `PostgreSQL returned a value with no canonical form: ${String(value).slice(0, 60)}`);
  return result;
}

/** Streams `COPY (select) TO STDOUT` and hands each row's fields to `each`, in constant memory. */
export async function forEachCopyRow(client: pg.Client, select: string, each: (fields: (string | null)[]) => void): Promise<void> {
  await forEachCopyLine(client, select, (line) => each(parseCopyLine(line)));
}

/** Streams `COPY (select) TO STDOUT` and hands each row's line of COPY text (without its newline) to `each`. */
export async function forEachCopyLine(client: pg.Client, select: string, each: (line: string) => void): Promise<void> {
  const stream = client.query(copyTo(`COPY (${select}) TO STDOUT`));
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    const end = data.lastIndexOf(0x0a);
    if (end < 0) {
      rest = data;
      continue;
    }
    // A newline byte only ever ends a row (newlines in values are escaped), and never sits inside a multi-byte character.
    const lines = data.toString("utf8", 0, end).split("\n");
    rest = data.subarray(end + 1);
    for (const line of lines) each(line);
  }
  if (rest.length > 0) each(rest.toString("utf8"));
}
