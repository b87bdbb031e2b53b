import "server-only";
import { escapeIdentifier, escapeLiteral, type ClientBase } from "pg";

/**
 * What the PostgreSQL operations need to know about the app's tables, read from the catalog of the
 * live database rather than from the drizzle schema: a dump or a restore then carries exactly the
 * tables, columns and constraints the database has (whatever migration it is at), and the same code
 * reads a scratch schema in a verify drill.
 */

export interface CatalogColumn {
  name: string;
  /** format_type() of the column, e.g. "timestamp(3) with time zone" */
  type: string;
  notNull: boolean;
  /** the column's DEFAULT expression, or null (none, or it is an identity or serial column) */
  defaultExpr: string | null;
  /** "a" GENERATED ALWAYS, "d" BY DEFAULT, "" not an identity */
  identity: "" | "a" | "d";
  /** a serial column: integer with a DEFAULT nextval() of a sequence the column owns */
  serial: boolean;
}

export interface CatalogTable {
  schema: string;
  name: string;
  /** schema-qualified and quoted, for statements on the live database */
  qualified: string;
  columns: CatalogColumn[];
  /** PRIMARY KEY, UNIQUE, CHECK and EXCLUDE constraints: `ADD CONSTRAINT name def` */
  constraints: { name: string; def: string }[];
  foreignKeys: { name: string; def: string; references: string }[];
  /** CREATE INDEX statements of the indexes that back no constraint, with the table name unqualified */
  indexes: string[];
  /** the primary key's columns */
  primaryKey: string[];
  /** the sequence behind an identity or serial column, as pg_get_serial_sequence names it */
  sequences: { column: string; sequence: string }[];
}

/** The tables of one schema (ordinary and partitioned), parents before children by their foreign keys. */
export async function readCatalog(client: ClientBase, schema: string, only?: readonly string[]): Promise<CatalogTable[]> {
  const tables = await client.query<{ oid: number; name: string }>(
    `SELECT c.oid, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
    [schema],
  );
  const result: CatalogTable[] = [];
  for (const table of tables.rows) {
    if (only && !only.includes(table.name)) continue;
    result.push(await readTable(client, schema, table.oid, table.name));
  }
  return orderByForeignKeys(result);
}

async function readTable(client: ClientBase, schema: string, oid: number, name: string): Promise<CatalogTable> {
  const qualified = `${escapeIdentifier(schema)}.${escapeIdentifier(name)}`;
  const columns = await client.query<{
    name: string;
    type: string;
    not_null: boolean;
    default_expr: string | null;
    identity: "" | "a" | "d";
    sequence: string | null;
  }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS default_expr, a.attidentity::text AS identity,
            pg_get_serial_sequence($2, a.attname) AS sequence
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [oid, qualified],
  );
  const constraints = await client.query<{ name: string; type: string; def: string; references: string | null }>(
    `SELECT conname AS name, contype::text AS type, pg_get_constraintdef(oid) AS def,
            (SELECT relname FROM pg_class WHERE oid = confrelid) AS references
       FROM pg_constraint WHERE conrelid = $1 AND contype IN ('p', 'u', 'c', 'x', 'f')
      ORDER BY contype <> 'p', conname`,
    [oid],
  );
  const indexes = await client.query<{ def: string; prefix: string }>(
    `SELECT pg_get_indexdef(i.indexrelid) AS def, format(' ON %I.%I USING ', $2::text, $3::text) AS prefix
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
      WHERE i.indrelid = $1
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
      ORDER BY ic.relname`,
    [oid, schema, name],
  );
  const primaryKey = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = $1 AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
    [oid],
  );
  const cols: CatalogColumn[] = columns.rows.map((row) => {
    const serial = row.identity === "" && row.sequence !== null && /^nextval\(/.test(row.default_expr ?? "");
    return {
      name: row.name,
      type: row.type,
      notNull: row.not_null,
      defaultExpr: serial ? null : row.default_expr,
      identity: row.identity,
      serial,
    };
  });
  return {
    schema,
    name,
    qualified,
    columns: cols,
    constraints: constraints.rows.filter((row) => row.type !== "f").map((row) => ({ name: row.name, def: row.def })),
    foreignKeys: constraints.rows.filter((row) => row.type === "f").map((row) => ({ name: row.name, def: row.def, references: row.references ?? "" })),
    // pg_get_indexdef always qualifies the table; the dump names it unqualified so it loads into any schema.
    indexes: indexes.rows.map((row) => row.def.replace(row.prefix, ` ON ${escapeIdentifier(name)} USING `)),
    primaryKey: primaryKey.rows.map((row) => row.name),
    sequences: columns.rows.filter((row) => row.sequence !== null).map((row) => ({ column: row.name, sequence: row.sequence as string })),
  };
}

/** Parents before children, so COPY into tables with live foreign keys never meets a missing parent. */
export function orderByForeignKeys(tables: CatalogTable[]): CatalogTable[] {
  const byName = new Map(tables.map((table) => [table.name, table]));
  const ordered: CatalogTable[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (table: CatalogTable) => {
    if (state.get(table.name)) return; // done, or a cycle (a self-reference): already placed or being placed
    state.set(table.name, "visiting");
    for (const fk of table.foreignKeys) {
      const parent = byName.get(fk.references);
      if (parent && parent !== table) visit(parent);
    }
    state.set(table.name, "done");
    ordered.push(table);
  };
  for (const table of tables) visit(table);
  return ordered;
}

/** `CREATE TABLE` with columns, types, identities, defaults and NOT NULL; keys and indexes come after the data. */
export function createTableStatement(table: CatalogTable): string {
  const columns = table.columns.map((column) => {
    let type = column.type;
    if (column.serial) type = { integer: "serial", bigint: "bigserial", smallint: "smallserial" }[column.type] ?? column.type;
    let line = `${escapeIdentifier(column.name)} ${type}`;
    if (column.identity) line += ` GENERATED ${column.identity === "a" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY`;
    if (column.defaultExpr !== null) line += ` DEFAULT ${column.defaultExpr}`;
    if (column.notNull) line += " NOT NULL";
    return `    ${line}`;
  });
  return `CREATE TABLE ${escapeIdentifier(table.name)} (\n${columns.join(",\n")}\n);`;
}

/** The column list of a COPY, quoted. */
export function copyColumns(table: CatalogTable): string {
  return table.columns.map((column) => escapeIdentifier(column.name)).join(", ");
}

/** The schema the connection works in (the first of its search_path that exists). */
export async function currentSchema(client: ClientBase): Promise<string> {
  const row = await client.query<{ schema: string | null }>("SELECT current_schema() AS schema");
  const schema = row.rows[0]?.schema;
  if (!schema) throw new Error("The connection has no current schema (search_path names no existing schema)");
  return schema;
}

/** The one row a query returns (an aggregate, a setting): a missing row is a bug, not a case. */
export function onlyRow<T>(result: { rows: T[] }): T {
  const row = result.rows[0];
  if (row === undefined) throw new Error("The query returned no row");
  return row;
}

export { escapeIdentifier, escapeLiteral };
