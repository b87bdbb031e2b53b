import "server-only";
import fs from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Pool, PoolClient } from "pg";
import { to as copyTo } from "pg-copy-streams";
import { fsyncFile } from "@/lib/files";
import { copyColumns, createTableStatement, currentSchema, escapeIdentifier, onlyRow, readCatalog, type CatalogTable } from "./catalog";

/**
 * A logical dump of the app's PostgreSQL schema in pg_dump's plain layout, taken in ONE snapshot:
 * every statement runs inside one REPEATABLE READ READ ONLY transaction on one connection, so the
 * tables agree with each other however much the app writes meanwhile, and nobody is blocked (MVCC).
 * The text is what stock `psql -f` loads into an empty database: CREATE TABLE, then one
 * `COPY … FROM stdin;` block per table ended by `\.`, then the identities' next values, then keys, indexes
 * and foreign keys (after the data, as pg_dump does, so the load needs no table order). The same
 * file is what a restore and a verify drill read (./restore.ts).
 */

/** First line of every dump; restore refuses a file without it. */
export const DUMP_HEADER = "-- Mimir AIP persistence console: PostgreSQL logical dump";
/** Last line of a complete dump: a truncated file lacks it. */
export const DUMP_TRAILER = "-- mimir-dump: complete";
/** Marks the start of the migrations-journal section (restore and verify leave it alone). */
export const MIGRATIONS_SECTION = "-- mimir-dump: section migrations";
export const APP_SECTION = "-- mimir-dump: section app";

export interface DumpFacts {
  schema: string;
  database: string;
  server_version: string;
  /** when the snapshot was taken (the database's clock) */
  taken_at: string;
  /** rows per app table, as dumped (the migrations journal is not counted) */
  row_counts: Record<string, number>;
  tables: string[];
}

export interface SnapshotOptions {
  /** the schema to dump; default: the connection's current schema */
  schema?: string;
  /**
   * A migrations journal kept in another schema, to carry so the app booted on a loaded dump does not
   * migrate again. The app keeps its journal beside its tables (public.__drizzle_migrations, see
   * lib/db/postgres.ts), where it is dumped as one of them; this is for a journal elsewhere.
   */
  migrationsTable?: { schema: string; table: string } | null;
  /**
   * The schema the dump says it is of, when that is not where its tables are now: a restore's replaced
   * tables are dumped from the schema they were set aside in, and were the live schema's.
   */
  of?: string;
}

/**
 * An open snapshot: the transaction has started and its snapshot is fixed (the catalog was read in it),
 * so a caller can open it inside a short write pause and dump outside it. Always close() it.
 */
export interface PostgresSnapshot {
  readonly facts: DumpFacts;
  /** the dump text in pieces; row_counts in `facts` are complete once it has ended */
  dump(signal?: AbortSignal): AsyncGenerator<Buffer>;
  /** ends the transaction and returns the connection; with an error (a dump given up half-way) the connection is discarded */
  close(error?: Error): Promise<void>;
}

/** Checks out a connection and starts the snapshot transaction; reads the catalog inside it. */
export async function openPostgresSnapshot(pool: Pool, options: SnapshotOptions = {}): Promise<PostgresSnapshot> {
  const client = await pool.connect();
  let released = false;
  const release = async (error?: Error) => {
    if (released) return;
    released = true;
    try {
      if (!error) await client.query("COMMIT");
    } finally {
      client.release(error);
    }
  };
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const schema = options.schema ?? (await currentSchema(client));
    // Unqualified names in what pg_get_constraintdef writes, so the dump loads into any schema.
    await client.query(`SELECT set_config('search_path', $1, true)`, [escapeIdentifier(schema)]);
    const info = await client.query<{ database: string; version: string; now: Date }>(
      "SELECT current_database() AS database, current_setting('server_version') AS version, now() AS now",
    );
    const tables = await readCatalog(client, schema);
    const journal = options.migrationsTable ?? null;
    const journalTables = journal ? await readCatalog(client, journal.schema, [journal.table]) : [];
    const facts: DumpFacts = {
      schema: options.of ?? schema,
      database: onlyRow(info).database,
      server_version: onlyRow(info).version,
      taken_at: onlyRow(info).now.toISOString(),
      row_counts: {},
      tables: tables.map((table) => table.name),
    };
    return {
      facts,
      dump: (signal) => dumpText(client, facts, tables, journalTables, signal),
      close: (error) => release(error),
    };
  } catch (error) {
    await release(error as Error);
    throw error;
  }
}

async function* dumpText(client: PoolClient, facts: DumpFacts, tables: CatalogTable[], journal: CatalogTable[], signal?: AbortSignal): AsyncGenerator<Buffer> {
  const text = (value: string) => Buffer.from(value, "utf8");
  yield text(
    [
      DUMP_HEADER,
      `-- database ${facts.database}, schema ${facts.schema}, PostgreSQL ${facts.server_version}, snapshot taken ${facts.taken_at}`,
      "-- Load it into an EMPTY database with stock psql (names are unqualified: it loads into the first schema of search_path):",
      "--   psql -v ON_ERROR_STOP=1 --single-transaction -f <this file> <database>",
      "SET client_encoding = 'UTF8';",
      "SET standard_conforming_strings = on;",
      "SET check_function_bodies = false;",
      "",
      "",
    ].join("\n"),
  );
  for (const table of journal) {
    yield text(`${MIGRATIONS_SECTION}\nCREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(table.schema)};\n`);
    yield text(`${createTableStatement(table).replace(/^CREATE TABLE \S+/, `CREATE TABLE ${table.qualified}`)}\n`);
    yield* copyOut(client, table, table.qualified, null, signal);
    yield text(sequenceStatements(await sequenceValues(client, table), table, true));
    for (const constraint of table.constraints)
      yield text(`ALTER TABLE ONLY ${table.qualified} ADD CONSTRAINT ${escapeIdentifier(constraint.name)} ${constraint.def};\n`);
    yield text("\n");
  }
  yield text(`${APP_SECTION}\n`);
  for (const table of tables) yield text(`${createTableStatement(table)}\n\n`);
  for (const table of tables) {
    signal?.throwIfAborted();
    facts.row_counts[table.name] = 0;
    yield* copyOut(client, table, escapeIdentifier(table.name), facts.row_counts, signal);
    yield text(sequenceStatements(await sequenceValues(client, table), table, false));
    yield text("\n");
  }
  for (const table of tables) {
    const name = escapeIdentifier(table.name);
    for (const constraint of table.constraints) yield text(`ALTER TABLE ONLY ${name} ADD CONSTRAINT ${escapeIdentifier(constraint.name)} ${constraint.def};\n`);
  }
  for (const table of tables) for (const index of table.indexes) yield text(`${index};\n`);
  for (const table of tables) {
    const name = escapeIdentifier(table.name);
    for (const fk of table.foreignKeys) yield text(`ALTER TABLE ONLY ${name} ADD CONSTRAINT ${escapeIdentifier(fk.name)} ${fk.def};\n`);
  }
  yield text(`\n${DUMP_TRAILER}\n`);
}

/** One table's rows in COPY text format (one row per line: newlines inside values are escaped as \n). */
async function* copyOut(
  client: PoolClient,
  table: CatalogTable,
  target: string,
  counts: Record<string, number> | null,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const columns = copyColumns(table);
  yield Buffer.from(`COPY ${target} (${columns}) FROM stdin;\n`, "utf8");
  const stream = client.query(copyTo(`COPY ${table.qualified} (${columns}) TO STDOUT`));
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    signal?.throwIfAborted();
    if (counts) counts[table.name] = (counts[table.name] ?? 0) + countRows(chunk);
    yield chunk;
  }
  yield Buffer.from("\\.\n", "utf8");
}

/** The newlines in `chunk`: the rows in a piece of COPY data. */
export function countRows(chunk: Buffer): number {
  let n = 0;
  for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) n += 1;
  return n;
}

/** Sequences are not transactional: their value is read as it is now, which is at or past the snapshot's (gaps, never reuse). */
async function sequenceValues(client: PoolClient, table: CatalogTable): Promise<{ column: string; sequence: string; next: bigint }[]> {
  const values = [];
  for (const { column, sequence } of table.sequences) {
    const row = onlyRow(
      await client.query<{ last_value: string; is_called: boolean; name: string }>(
        `SELECT last_value, is_called, (SELECT relname FROM pg_class WHERE oid = to_regclass($1)) AS name FROM ${sequence}`,
        [sequence],
      ),
    );
    values.push({ column, sequence: row.name, next: BigInt(row.last_value) + (row.is_called ? 1n : 0n) });
  }
  return values;
}

/**
 * Where each identity or serial column continues after the load. ALTER … RESTART rather than pg_dump's
 * `SELECT setval(…)`: same effect, and psql prints nothing for it, so a quiet load stays quiet.
 */
function sequenceStatements(values: { column: string; sequence: string; next: bigint }[], table: CatalogTable, qualified: boolean): string {
  return values
    .map(({ column, sequence, next }) => {
      const identity = table.columns.find((candidate) => candidate.name === column)?.identity;
      if (identity)
        return `ALTER TABLE ONLY ${qualified ? table.qualified : escapeIdentifier(table.name)} ALTER COLUMN ${escapeIdentifier(column)} RESTART WITH ${next};\n`;
      const name = qualified ? `${escapeIdentifier(table.schema)}.${escapeIdentifier(sequence)}` : escapeIdentifier(sequence);
      return `ALTER SEQUENCE ${name} RESTART WITH ${next};\n`;
    })
    .join("");
}

/**
 * Writes a whole dump to `file` (mode 0600, as it holds password hashes) through an open snapshot,
 * with backpressure; closes the snapshot. Returns the facts with complete row counts.
 */
export async function writeSnapshotToFile(snapshot: PostgresSnapshot, file: string, signal?: AbortSignal): Promise<DumpFacts> {
  try {
    await pipeline(Readable.from(snapshot.dump(signal)), fs.createWriteStream(file, { mode: 0o600 }));
    // On the thread pool: flushing the dump of 1M runs (~1 GB) took 0.2-0.25 s, which on the event
    // loop every request beside the backup waited for (bench:beside-maintenance on PostgreSQL).
    await fsyncFile(file);
  } catch (error) {
    // A COPY cut off half-way leaves the connection mid-protocol: it is discarded, not reused.
    await snapshot.close(error as Error);
    throw error;
  }
  await snapshot.close();
  return snapshot.facts;
}

/**
 * The dump as text for a download (the Database page's "Export SQL"): the same one-snapshot dump a
 * backup holds. A download closed early ends the transaction and discards its connection.
 */
export async function* exportPostgresSql(pool: Pool, options: SnapshotOptions = {}): AsyncGenerator<string> {
  const snapshot = await openPostgresSnapshot(pool, options);
  let completed = false;
  try {
    const decoder = new TextDecoder();
    for await (const chunk of snapshot.dump()) yield decoder.decode(chunk, { stream: true });
    const rest = decoder.decode();
    if (rest) yield rest;
    completed = true;
  } finally {
    await snapshot.close(completed ? undefined : new Error("SQL export did not complete"));
  }
}
