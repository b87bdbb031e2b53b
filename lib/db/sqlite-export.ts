import "server-only";
import { openDatabase, type Db } from "@/lib/db/client";
import { listTableNames, quoteIdentifier } from "@/lib/db/sqlite-maintenance";

/**
 * Streamed exports of a SQLite file. Each export reads through its own read-only connection inside
 * one read transaction (a consistent snapshot while the app keeps writing) and yields a row at a
 * time, so no table is ever held in memory. Closing the generator early (a cancelled download)
 * closes the connection and ends the transaction.
 */

/** Dump text is handed out in pieces of about this size: fewer, larger chunks for the HTTP stream. */
const DUMP_CHUNK_CHARS = 64 * 1024;

interface SchemaEntry {
  type: string;
  name: string;
  sql: string;
}

function openSnapshot(file: string): Db {
  const db = openDatabase(file, { readonly: true });
  db.$client.exec("BEGIN");
  // The first read starts the snapshot; everything after sees the database as it was here.
  db.$client.prepare("SELECT count(*) FROM sqlite_master").get();
  return db;
}

/**
 * The whole database as SQL text in the layout of the sqlite3 shell's `.dump` (schema, rows as
 * INSERTs, sqlite_sequence and sqlite_stat1, then indexes, triggers and views), so
 * `sqlite3 new.db < dump.sql` rebuilds the same rows. Values are written by SQLite's own quote().
 */
export async function* dumpDatabaseSql(file: string): AsyncGenerator<string> {
  const db = openSnapshot(file);
  try {
    const entries = db.$client.prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid").all() as SchemaEntry[];
    const tables = entries.filter((e) => e.type === "table" && !e.name.startsWith("sqlite_"));
    let buffer = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n";
    for (const table of tables) {
      buffer += `${table.sql};\n`;
      if (/^CREATE\s+VIRTUAL\s+TABLE/i.test(table.sql)) continue;
      for (const line of insertLines(db, table.name)) {
        buffer += line;
        if (buffer.length >= DUMP_CHUNK_CHARS) {
          yield buffer;
          buffer = "";
        }
      }
    }
    if (entries.some((e) => e.name === "sqlite_stat1")) {
      buffer += "ANALYZE sqlite_schema;\n";
      for (const line of insertLines(db, "sqlite_stat1")) buffer += line;
    }
    if (entries.some((e) => e.name === "sqlite_sequence")) {
      buffer += "DELETE FROM sqlite_sequence;\n";
      for (const line of insertLines(db, "sqlite_sequence")) buffer += line;
    }
    for (const entry of entries) {
      if (entry.type !== "table") buffer += `${entry.sql};\n`;
    }
    yield `${buffer}COMMIT;\n`;
  } finally {
    db.$client.close();
  }
}

function* insertLines(db: Db, table: string): Generator<string> {
  const columns = (db.$client.pragma(`table_info(${quoteIdentifier(table)})`) as { name: string }[]).map((c) => c.name);
  if (columns.length === 0) return;
  const literal = columns.map((c) => `quote(${quoteIdentifier(c)})`).join(" || ',' || ");
  const prefix = `INSERT INTO ${quoteIdentifier(table)} VALUES(`;
  const statement = db.$client.prepare(`SELECT ${literal} FROM ${quoteIdentifier(table)}`).pluck();
  for (const values of statement.iterate() as IterableIterator<string>) yield `${prefix}${values});\n`;
}

export type CellValue = string | number | bigint | Buffer | null;

/**
 * The header and then every row of one table, as arrays of values in column order. `table` must
 * be a name from `listTableNames` (the caller validates it); it becomes a quoted identifier.
 */
export async function* iterateTableRows(file: string, table: string): AsyncGenerator<CellValue[]> {
  const db = openSnapshot(file);
  try {
    if (!listTableNames(db).includes(table)) throw new Error(`no table named ${table}`);
    const statement = db.$client.prepare(`SELECT * FROM ${quoteIdentifier(table)}`).raw(true).safeIntegers(true);
    yield statement.columns().map((c) => c.name);
    for (const row of statement.iterate() as IterableIterator<CellValue[]>) yield row;
  } finally {
    db.$client.close();
  }
}
