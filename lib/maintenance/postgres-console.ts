import "server-only";
import crypto from "node:crypto";
import { processState } from "@/lib/process-state";
import { getConfig } from "@/lib/config/service";
import { AppError } from "@/lib/errors";
import { appPostgresPool } from "@/lib/db/engine/postgres/app-pool";
import { ConsoleQueryError, ensureConsoleRole, runConsoleQuery, type ConsoleRows } from "@/lib/db/engine/postgres/console";
import { CREDENTIAL_CONTENTS, CREDENTIAL_TABLES } from "@/lib/maintenance/credentials";

/**
 * The read-only console on PostgreSQL runs as a LOGIN role of its own (lib/db/engine/postgres/console.ts
 * says why a role switch is not enough). The app creates that role on first use (its role needs
 * CREATEROLE, as the database owner of docker-compose.postgres.yml has) with SELECT on every table but
 * the credential ones, and a random password it keeps in memory only: another instance that resets it
 * makes this one's next login fail, and this one then sets a fresh one and retries once.
 */

const memo = processState("pgConsole", (): { password?: string } => ({}));

export function consoleRoleName(database: string): string {
  // One role per database, so deployments sharing a server do not share (or reset) one console.
  return `mimir_console_${crypto.createHash("sha256").update(database).digest("hex").slice(0, 12)}`;
}

async function prepareRole(): Promise<{ url: string }> {
  const pool = appPostgresPool();
  if (!pool) throw new Error("the open database is not PostgreSQL");
  const base = new URL(getConfig().values.persistence.connection_string);
  const database = decodeURIComponent(base.pathname.slice(1)) || "postgres";
  const role = consoleRoleName(database);
  if (!memo.password) {
    const password = crypto.randomBytes(24).toString("base64url");
    const tables = await pool.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()");
    try {
      await ensureConsoleRole(pool, {
        role,
        password,
        readable: tables.rows.map((row) => row.name).filter((name) => !CREDENTIAL_TABLES.has(name)),
        timeoutMs: limits.timeoutMs,
      });
    } catch (error) {
      if ((error as { code?: string }).code === "42501") {
        throw new AppError(
          "unavailable_on_postgres",
          `The SQL console connects as a read-only login role of its own (${role}), and the app's database role may not create it. ` +
            `Give the app's role CREATEROLE (ALTER ROLE <app role> CREATEROLE;) or create ${role} yourself with SELECT on the tables.`,
        );
      }
      throw error;
    }
    memo.password = password;
  }
  const url = new URL(base);
  url.username = role;
  url.password = memo.password;
  return { url: url.toString() };
}

const limits = { rowCap: 1_000, timeoutMs: 5_000 };

/** Runs one read-only SELECT as the console role; maps refusals to the console's error codes. */
export async function runPostgresConsoleQuery(sql: string, rowCap: number, timeoutMs: number): Promise<ConsoleRows> {
  limits.rowCap = rowCap;
  limits.timeoutMs = timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    const { url } = await prepareRole();
    try {
      return await runConsoleQuery(url, sql, { rowCap, timeoutMs });
    } catch (error) {
      if (error instanceof ConsoleQueryError && error.kind === "connection" && attempt === 0) {
        memo.password = undefined;
        continue;
      }
      throw explain(error);
    }
  }
}

function explain(error: unknown): AppError {
  if (!(error instanceof ConsoleQueryError))
    return error instanceof AppError ? error : new AppError("internal", "The query could not be run", { cause: error });
  switch (error.kind) {
    case "not_a_query":
      return new AppError("invalid_input", "That statement returns no rows; the console runs one SELECT (or VALUES, TABLE, WITH … SELECT)");
    case "too_many_statements":
      return new AppError("invalid_input", "Run one statement at a time (remove everything after the first ';')");
    case "read_only":
      return new AppError("read_only", "The console only reads: INSERT, UPDATE, DELETE and DDL are refused. Use the maintenance buttons for changes.");
    case "forbidden":
      return new AppError(
        "forbidden",
        `The console's role may not read that: ${error.message} (${[...CREDENTIAL_TABLES].join(", ")} hold ${CREDENTIAL_CONTENTS})`,
      );
    case "timeout":
      return new AppError(
        "query_timeout",
        `The query ran longer than ${limits.timeoutMs / 1000} s and was stopped; add a WHERE on an indexed column or a LIMIT`,
      );
    case "connection":
      return new AppError("database_unavailable", error.message);
    default:
      return new AppError("invalid_sql", `PostgreSQL refused the statement: ${error.message}`);
  }
}
