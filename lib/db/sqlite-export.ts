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
    // The sqlite3 shell's order: tables by creation, sqlite_sequence last, then everything else.
    const entries = db.$client
      .prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type <> 'table', name = 'sqlite_sequence', rowid")
      .all() as SchemaEntry[];
    let buffer = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n";
    const flush = function* () {
      if (buffer.length >= DUMP_CHUNK_CHARS) {
        yield buffer;
        buffer = "";
      }
    };
    for (const entry of entries) {
      if (entry.type !== "table") {
        buffer += `${entry.sql};\n`;
        continue;
      }
      if (entry.name === "sqlite_stat1") buffer += "ANALYZE sqlite_schema;\n";
      else if (entry.name === "sqlite_sequence") buffer += "DELETE FROM sqlite_sequence;\n";
      // sqlite_stat4 holds planner samples, not data, and SQLite builds without STAT4 (Debian's
      // sqlite3 shell among them) cannot load it: left out, as ANALYZE rebuilds it.
      else if (entry.name.startsWith("sqlite_")) continue;
      else buffer += `${entry.sql};\n`;
      if (/^CREATE\s+VIRTUAL\s+TABLE/i.test(entry.sql)) continue;
      for (const line of insertLines(db, entry.name)) {
        buffer += line;
        yield* flush();
      }
    }
    yield `${buffer}COMMIT;\n`;
  } finally {
    db.$client.close();
  }
}

function* insertLines(db: Db, table: string): Generator<string> {
  const columns = (db.$client.pragma(`table_info(${quoteIdentifier(table)})`) as { name: string }[]).map((c) => c.name);
  if (columns.length === 0) return;
  const prefix = `INSERT INTO ${quoteIdentifier(table)} VALUES(`;
  const statement = db.$client.prepare(`SELECT ${columns.map((c) => `quote(${quoteIdentifier(c)})`).join(", ")} FROM ${quoteIdentifier(table)}`).raw(true);
  for (const literals of statement.iterate() as IterableIterator<string[]>) yield `${prefix}${literals.map(escapeLineBreaks).join(",")});\n`;
}

/**
 * A text literal holding CR or LF is written as the sqlite3 shell does, `replace('a\nb','\n',char(10))`,
 * since a raw CR does not survive a shell reading the dump line by line. The escape is one the text
 * does not already contain.
 */
function escapeLineBreaks(literal: string): string {
  let out = literal;
  for (const [char, code, candidates] of [
    ["\r", 13, ["\\r", "\\015", "\\x0d"]],
    ["\n", 10, ["\\n", "\\012", "\\x0a"]],
  ] as const) {
    if (!out.includes(char)) continue;
    const token = candidates.find((t) => !out.includes(t)) ?? `\\${code}-${out.length}`;
    out = `replace(${out.replaceAll(char, token)},'${token}',char(${code}))`;
  }
  return out;
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
    const statement = db.$client
      .prepare(`SELECT * FROM ${quoteIdentifier(table)}`)
      .raw(true)
      .safeIntegers(true);
    yield statement.columns().map((c) => c.name);
    for (const row of statement.iterate() as IterableIterator<CellValue[]>) yield row;
  } finally {
    db.$client.close();
  }
}
