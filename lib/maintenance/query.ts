import "server-only";
import { getConfig } from "@/lib/config/service";
import { AppError } from "@/lib/errors";
import { recordAudit } from "@/lib/audit/service";
import type { Principal } from "@/lib/auth/scopes";
import { runSqliteChild, SqliteChildError, SqliteChildTimeout } from "@/lib/db/sqlite-child";
import type { QueryInput } from "@/lib/maintenance/inputs";
import { CREDENTIAL_CONTENTS, CREDENTIAL_TABLES, INDEX_SAMPLE_TABLES, isCredentialTable } from "@/lib/maintenance/credentials";
import type { QueryResult } from "@/lib/maintenance/types";
import { appPostgresPool } from "@/lib/db/engine/postgres/app-pool";
import { runPostgresConsoleQuery } from "@/lib/maintenance/postgres-console";

/** A console query is stopped after this long: it must never become a long read transaction. */
export const QUERY_TIME_LIMIT_MS = 5_000;
/** Rows returned at most; the console pages through them, and says when there were more. */
export const QUERY_ROW_CAP = 1_000;

/**
 * Runs one read-only statement (the guide's "Direct SQLite Access") on a read-only connection with
 * `query_only`, in a child process killed at the time limit, returning at most QUERY_ROW_CAP rows.
 * A write, several statements or a syntax error is refused with a clear 4xx, and so is, before it
 * runs, a statement that reads a credential table or SQLite's index samples in any way (directly,
 * through a view, join, subquery or CTE): the child checks the b-trees its compiled program opens.
 * Writes an audit row.
 */
export async function runReadOnlyQuery(input: QueryInput, principal: Principal | null): Promise<QueryResult> {
  const started = performance.now();
  let result: Omit<QueryResult, "row_cap" | "duration_ms">;
  try {
    result = appPostgresPool()
      ? await runPostgresConsoleQuery(input.sql, QUERY_ROW_CAP, QUERY_TIME_LIMIT_MS)
      : await runSqliteChild(
          { kind: "query", file: getConfig().paths.database, sql: input.sql, maxRows: QUERY_ROW_CAP, refuseTables: REFUSED_TABLES },
          { timeoutMs: QUERY_TIME_LIMIT_MS },
        );
  } catch (error) {
    throw explainQueryError(error);
  }
  await recordAudit({
    principal,
    action: "database.query",
    target: "console",
    result: "ok",
    details: { sql: input.sql.slice(0, 500), rows: result.rows.length },
  });
  return { ...result, row_cap: QUERY_ROW_CAP, duration_ms: Math.round(performance.now() - started) };
}

/** What the console never reads: the credential tables, and the planner samples that copy their index keys. */
const REFUSED_TABLES = [...CREDENTIAL_TABLES, ...INDEX_SAMPLE_TABLES];

/** `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'` */
function nameList(names: string[]): string {
  const quoted = names.map((name) => `'${name}'`);
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(", ")} and ${quoted.at(-1)}` : (quoted[0] ?? "");
}

/** Why the statement was refused, naming each table it reads that the console does not read. */
function refusedTablesMessage(tables: string[]): string {
  const credentials = tables.filter(isCredentialTable);
  const samples = tables.filter((table) => !isCredentialTable(table));
  const reasons: string[] = [];
  if (credentials.length) {
    const one = credentials.length === 1;
    reasons.push(
      `${nameList(credentials)} ${one ? "holds" : "hold"} credentials (${CREDENTIAL_CONTENTS}) and the console does not read ${one ? "it" : "them"}, ` +
        `not through a view, join or subquery either; pragma_table_info('${credentials[0]}') shows the columns`,
    );
  }
  if (samples.length) {
    const one = samples.length === 1;
    reasons.push(
      `${nameList(samples)} ${one ? "holds" : "hold"} ANALYZE's sampled index keys, copies of credentials among them, and the console does not read ${one ? "it" : "them"}`,
    );
  }
  return reasons.join("; ");
}

function explainQueryError(error: unknown): AppError {
  if (error instanceof SqliteChildTimeout) {
    return new AppError(
      "query_timeout",
      `The query ran longer than ${QUERY_TIME_LIMIT_MS / 1000} s and was stopped; add a WHERE on an indexed column or a LIMIT`,
    );
  }
  if (error instanceof SqliteChildError) {
    if (error.code === "NOT_READ_ONLY" || error.code.startsWith("SQLITE_READONLY")) {
      return new AppError(
        "read_only",
        "The console only reads: INSERT, UPDATE, DELETE, CREATE, DROP, ATTACH, VACUUM and writing PRAGMAs are refused. Use the maintenance buttons for changes.",
      );
    }
    if (error.code === "REFUSED_TABLES") return new AppError("forbidden", refusedTablesMessage(error.tables));
    if (error.code === "RAW_PAGES")
      return new AppError("forbidden", `The console does not open virtual tables here: ${error.message}, which would hand out credentials`);
    if (error.code === "UNCHECKED")
      return new AppError("forbidden", `The console could not check which tables the statement reads, so it did not run it (${error.message})`);
    if (error.code === "NOT_A_QUERY") return new AppError("invalid_input", "That statement returns no rows; the console runs SELECT (or a PRAGMA that reads)");
    if (error.code === "TOO_LARGE") return new AppError("query_too_large", `${error.message}; select fewer or narrower columns`);
    if (/more than one statement/i.test(error.message))
      return new AppError("invalid_input", "Run one statement at a time (remove everything after the first ';')");
    return new AppError("invalid_sql", `SQLite refused the statement: ${error.message}`);
  }
  return error instanceof AppError ? error : new AppError("internal", "The query could not be run", { cause: error });
}
