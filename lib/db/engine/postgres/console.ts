import "server-only";
import pg, { type Pool } from "pg";
import { currentSchema, escapeIdentifier, escapeLiteral } from "./catalog";

/**
 * The read-only SQL console on PostgreSQL connects as a LOGIN role of its own. A role switch inside
 * the app's session (`SET LOCAL ROLE console`) is not a boundary: a single
 * `SELECT set_config('role', '<app role>', true), query_to_xml('select … from users', …)` switches
 * back to the session user and reads anything (research/postgres-design.md §5.4, measured). With its
 * own login the session user IS the console role, which has SELECT on the non-credential tables
 * only, read-only transactions by default and a statement timeout, so there is nothing to switch
 * back to. Each query gets a short-lived connection of its own.
 */

export interface ConsoleRoleSpec {
  role: string;
  password: string;
  /** tables of the app schema the console may read; every other table of the schema is revoked */
  readable: readonly string[];
  schema?: string;
  timeoutMs: number;
}

/**
 * Creates the console's login role, or brings an existing one back to exactly the spec (password,
 * read-only default, timeout, grants): needs CREATEROLE, or a superuser. Grants only SELECT on
 * `readable` and USAGE on the schema; revokes everything on the schema's other tables.
 */
export async function ensureConsoleRole(pool: Pool, spec: ConsoleRoleSpec): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const schema = spec.schema ?? (await currentSchema(client));
    const role = escapeIdentifier(spec.role);
    const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [spec.role]);
    const attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5";
    await client.query(`${exists.rowCount ? "ALTER" : "CREATE"} ROLE ${role} ${attributes} PASSWORD ${escapeLiteral(spec.password)}`);
    await client.query(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
    await client.query(`ALTER ROLE ${role} SET statement_timeout = ${Math.max(1, Math.round(spec.timeoutMs))}`);
    await client.query(`ALTER ROLE ${role} SET search_path = ${escapeIdentifier(schema)}`);
    await client.query(`ALTER ROLE ${role} SET idle_in_transaction_session_timeout = ${Math.max(1, Math.round(spec.timeoutMs))}`);
    // Start from nothing on this schema's tables, then grant exactly the readable ones.
    await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${escapeIdentifier(schema)} FROM ${role}`);
    await client.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${escapeIdentifier(schema)} FROM ${role}`);
    await client.query(`GRANT USAGE ON SCHEMA ${escapeIdentifier(schema)} TO ${role}`);
    const present = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') AND c.relname = ANY($2)`,
      [schema, spec.readable],
    );
    for (const { name } of present.rows) await client.query(`GRANT SELECT ON ${escapeIdentifier(schema)}.${escapeIdentifier(name)} TO ${role}`);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Removes the console role (its grants in this database first). For tests and for turning the console off. */
export async function dropConsoleRole(pool: Pool, role: string): Promise<void> {
  const exists = await pool.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
  if (!exists.rowCount) return;
  await pool.query(`DROP OWNED BY ${escapeIdentifier(role)}`);
  await pool.query(`DROP ROLE ${escapeIdentifier(role)}`);
}

export type ConsoleErrorKind = "not_a_query" | "read_only" | "forbidden" | "timeout" | "invalid_sql" | "too_many_statements" | "connection";

export class ConsoleQueryError extends Error {
  constructor(
    readonly kind: ConsoleErrorKind,
    message: string,
    readonly sqlstate: string | null = null,
  ) {
    super(message);
  }
}

export interface ConsoleRows {
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
}

/**
 * Runs one SELECT (or VALUES, or WITH … SELECT) as the console role: a fresh connection, a READ ONLY
 * transaction with a statement timeout, the statement through a cursor so at most `rowCap` rows are
 * fetched (one more tells whether there were more), then rollback and disconnect. The extended
 * protocol carries one statement only, so `…; DROP …` cannot ride along.
 */
export async function runConsoleQuery(connectionString: string, sql: string, limits: { rowCap: number; timeoutMs: number }): Promise<ConsoleRows> {
  const statement = sql.trim().replace(/;\s*$/, "");
  if (!/^(select|with|values|table)\b/i.test(statement) && !/^\(/.test(statement)) {
    throw new ConsoleQueryError("not_a_query", "The console runs one SELECT (or VALUES, TABLE or WITH … SELECT)");
  }
  const client = new pg.Client({ connectionString, application_name: "mimir-console-query", connectionTimeoutMillis: limits.timeoutMs });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new ConsoleQueryError("connection", `The console role could not connect: ${(error as Error).message}`);
  }
  try {
    await client.query("BEGIN READ ONLY");
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(limits.timeoutMs))}`);
    await client.query({ text: `DECLARE mimir_console NO SCROLL CURSOR FOR ${statement}`, values: [], queryMode: "extended" } as pg.QueryConfig);
    const fetched = await client.query({ text: `FETCH ${limits.rowCap + 1} FROM mimir_console`, rowMode: "array" });
    const rows = fetched.rows as unknown[][];
    return {
      columns: fetched.fields.map((field) => field.name),
      rows: rows.slice(0, limits.rowCap).map((row) => row.map(jsonSafe)),
      truncated: rows.length > limits.rowCap,
    };
  } catch (error) {
    throw explain(error);
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

function jsonSafe(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString("hex")}`;
  if (typeof value === "bigint") return value.toString();
  return value;
}

function explain(error: unknown): ConsoleQueryError {
  if (error instanceof ConsoleQueryError) return error;
  const code = (error as { code?: string }).code ?? null;
  const message = (error as Error).message;
  if (code === "42501") return new ConsoleQueryError("forbidden", message, code);
  if (code === "25006") return new ConsoleQueryError("read_only", message, code);
  if (code === "57014") return new ConsoleQueryError("timeout", message, code);
  if (code === "42601" && /cannot insert multiple commands/i.test(message)) return new ConsoleQueryError("too_many_statements", message, code);
  if (code === "0A000" && /data-modifying|non-volatile function/i.test(message)) return new ConsoleQueryError("read_only", message, code);
  return new ConsoleQueryError("invalid_sql", message, code);
}
