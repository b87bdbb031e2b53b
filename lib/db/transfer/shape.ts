import type { Client } from "pg";
import { is } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import { kindOfPgType, type ColumnKind } from "@/lib/db/transfer/canonical";

/** A table as the PostgreSQL side has it: what the copy and its checks are driven by, in both directions. */
export interface TableShape {
  name: string;
  columns: ColumnShape[];
  /** parent tables this one's foreign keys point at, with the columns on each side */
  foreignKeys: { columns: string[]; parent: string; parentColumns: string[] }[];
}

export interface ColumnShape {
  name: string;
  kind: ColumnKind;
  notNull: boolean;
  hasDefault: boolean;
  /** the sequence behind an identity or serial column, reset after the copy */
  sequence: string | null;
}

/** Tables every database carries for its own bookkeeping, never copied: each side has its migrations journal. */
export const NOT_COPIED = new Set(["__drizzle_migrations", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4"]);

/**
 * The app's tables as the connected PostgreSQL database has them (current_schema()), read from the
 * catalog after the migrations ran: the copy trusts the schema it writes into, not a copy of it.
 */
export async function readPgShapes(client: Client): Promise<TableShape[]> {
  const columns = await client.query<{
    table_name: string;
    column_name: string;
    data_type: string;
    not_null: boolean;
    has_default: boolean;
    sequence: string | null;
  }>(
    `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'NO' AS not_null,
            (c.column_default IS NOT NULL OR c.is_identity = 'YES') AS has_default,
            pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) AS sequence
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const keys = await client.query<{ child: string; parent: string; columns: string[]; parent_columns: string[] }>(
    `SELECT child.relname AS child, parent.relname AS parent,
            ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS columns,
            ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS parent_columns
       FROM pg_constraint con
       JOIN pg_class child ON child.oid = con.conrelid
       JOIN pg_class parent ON parent.oid = con.confrelid
      WHERE con.contype = 'f' AND con.connamespace = current_schema()::regnamespace`,
  );
  const tables = new Map<string, TableShape>();
  for (const row of columns.rows) {
    if (NOT_COPIED.has(row.table_name)) continue;
    let table = tables.get(row.table_name);
    if (!table) tables.set(row.table_name, (table = { name: row.table_name, columns: [], foreignKeys: [] }));
    table.columns.push({
      name: row.column_name,
      kind: kindOfPgType(row.data_type),
      notNull: row.not_null,
      hasDefault: row.has_default,
      sequence: row.sequence,
    });
  }
  for (const key of keys.rows) tables.get(key.child)?.foreignKeys.push({ columns: key.columns, parent: key.parent, parentColumns: key.parent_columns });
  return inDependencyOrder([...tables.values()]);
}

/**
 * The app's tables as the PostgreSQL schema module declares them (what the migrations will create):
 * what the preflight checks the SQLite data against before the target is touched.
 */
export function shapesOfPgSchema(schema: Record<string, unknown>): TableShape[] {
  const tables: TableShape[] = [];
  for (const table of Object.values(schema)) {
    if (!is(table, PgTable)) continue;
    const config = getTableConfig(table);
    tables.push({
      name: config.name,
      columns: config.columns.map((c) => ({ name: c.name, kind: kindOfPgType(c.getSQLType()), notNull: c.notNull, hasDefault: c.hasDefault, sequence: null })),
      foreignKeys: config.foreignKeys.map((fk) => {
        const ref = fk.reference();
        return { columns: ref.columns.map((c) => c.name), parent: getTableConfig(ref.foreignTable).name, parentColumns: ref.foreignColumns.map((c) => c.name) };
      }),
    });
  }
  return inDependencyOrder(tables);
}

/** Parents before children, so every foreign key finds its row as the copy goes; ties by name, for a stable order. */
export function inDependencyOrder(tables: TableShape[]): TableShape[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const done = new Set<string>();
  const out: TableShape[] = [];
  const visit = (table: TableShape, path: Set<string>) => {
    if (done.has(table.name) || path.has(table.name)) return;
    path.add(table.name);
    for (const key of table.foreignKeys) {
      const parent = byName.get(key.parent);
      if (parent && parent !== table) visit(parent, path);
    }
    done.add(table.name);
    out.push(table);
  };
  for (const table of [...tables].sort((a, b) => a.name.localeCompare(b.name))) visit(table, new Set());
  return out;
}

/** A double-quoted SQL identifier (both engines quote the same way). */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The PostgreSQL expression whose COPY text output is the column's canonical form (timestamps as the app's ISO-8601 UTC with ms). */
export function pgCanonicalExpression(column: ColumnShape): string {
  if (column.kind === "timestamp") return `to_char(${ident(column.name)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  return ident(column.name);
}
