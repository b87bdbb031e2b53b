import "server-only";
import { AppError } from "@/lib/errors";
import { getEngine } from "@/lib/db/engine";
import { csvLine } from "@/lib/maintenance/csv";
import { CREDENTIAL_CONTENTS, isCredentialTable } from "@/lib/maintenance/credentials";

// Exports streamed as text: the SQL dump of the whole database and CSV of one table. Both read one
// consistent snapshot through their own read-only connection and never hold a table in memory.

/** Rows encoded per chunk handed to the HTTP stream. */
const CSV_ROWS_PER_CHUNK = 500;
/**
 * The credential tables (lib/maintenance/credentials.ts) are never handed out one by one as CSV.
 * They travel only inside whole-database copies (backups, the SQL dump) that a restore needs.
 */
export function isCsvExportable(table: string): boolean {
  return !isCredentialTable(table);
}

/** A table name from a URL, checked against the database's real tables (404 otherwise); returns it. */
export async function resolveExportTable(name: string): Promise<string> {
  const tables = await getEngine().tableNames();
  if (!tables.includes(name)) {
    throw new AppError("not_found", `There is no table named '${name.slice(0, 128)}'`, { details: { tables } });
  }
  if (!isCsvExportable(name)) {
    throw new AppError("forbidden", `'${name}' holds credentials (${CREDENTIAL_CONTENTS}) and is not exported as CSV`);
  }
  return name;
}

/** The CSV of one table (header row first) as text chunks; the name must come from resolveExportTable. */
export async function* exportTableCsv(table: string): AsyncGenerator<string> {
  let chunk = "";
  let rows = 0;
  for await (const row of getEngine().iterateTableRows(table)) {
    chunk += csvLine(row);
    rows += 1;
    if (rows % CSV_ROWS_PER_CHUNK === 0) {
      yield chunk;
      chunk = "";
    }
  }
  if (chunk) yield chunk;
}

/**
 * The whole database as SQL text chunks: `sqlite3 new.db < dump.sql` loads it on SQLite,
 * `psql -f dump.sql` into an empty database on PostgreSQL (docs/recovery.md step 5).
 */
export function exportDatabaseSql(): AsyncGenerator<string> {
  return getEngine().dumpSql();
}

/** `mimir-20250115-020000.sql`: the export's name in the download, with the time it was taken. */
export function exportFileName(base: string, extension: "sql" | "csv", now = new Date()): string {
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  return `${base.replace(/[^A-Za-z0-9_-]/g, "_")}-${stamp}.${extension}`;
}

/**
 * A streamed download: pulls the next chunk only when the client has read the last one
 * (backpressure), and closes the generator (and its connection) if the client goes away.
 */
export function streamDownload(chunks: AsyncGenerator<string>, fileName: string, contentType: string): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  return new Response(body, {
    headers: {
      "Content-Type": `${contentType}; charset=utf-8`,
      "Content-Disposition": `attachment; filename="${fileName}"`,
      "Cache-Control": "no-store",
    },
  });
}
