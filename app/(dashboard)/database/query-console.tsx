"use client";

import { useState, useTransition } from "react";
import { Button } from "@/app/_components/ui/button";
import { csvLine, type CsvValue } from "@/lib/maintenance/csv";
import { formatCount, formatDuration, formatCountOf } from "@/lib/format";
import type { QueryResult } from "@/lib/maintenance/types";
import { runQueryAction } from "./actions";
import { EmptyState } from "@/app/_components/ui/empty-state";
import { keepInput } from "@/app/_components/keep-input";

/** Rows shown per page of a console result. */
const PAGE_ROWS = 50;

/** The guide's "Direct SQLite Access", read-only: one statement, results paged, CSV download. */
export function QueryConsole({ initialSql }: { initialSql: string }) {
  const [result, setResult] = useState<QueryResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [page, setPage] = useState(0);
  const [pending, startTransition] = useTransition();

  function run(form: FormData) {
    setError(null);
    startTransition(async () => {
      const response = await runQueryAction({ sql: String(form.get("sql") ?? "") });
      if (response.ok) {
        setResult(response.data);
        setPage(0);
      } else {
        setError(response.error.fields?.sql?.join("; ") ?? response.error.message);
        setResult(null);
      }
    });
  }

  function download() {
    if (!result) return;
    const text = csvLine(result.columns) + result.rows.map((row) => csvLine(row as CsvValue[])).join("");
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = "query-result.csv";
    link.click();
    URL.revokeObjectURL(url);
  }

  const pages = result ? Math.max(1, Math.ceil(result.rows.length / PAGE_ROWS)) : 0;
  const rows = result ? result.rows.slice(page * PAGE_ROWS, (page + 1) * PAGE_ROWS) : [];
  return (
    <div className="space-y-3">
      <form onSubmit={keepInput(run)} className="space-y-2">
        <label htmlFor="sql" className="text-sm font-medium text-slate-700">
          SQL (one read-only statement)
        </label>
        <textarea
          id="sql"
          name="sql"
          rows={3}
          defaultValue={initialSql}
          spellCheck={false}
          className="block w-full rounded-md border-0 px-3 py-2 font-mono text-sm text-slate-900 ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-slate-900"
        />
        <Button type="submit" disabled={pending}>
          {pending ? "Running…" : "Run query"}
        </Button>
      </form>
      {error && (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">
          {error}
        </p>
      )}
      {result && (
        <div className="space-y-2" data-testid="query-result">
          <div className="flex flex-wrap items-center justify-between gap-2 text-xs text-slate-500">
            <span>
              {formatCountOf(result.rows.length, "row")}
              {result.truncated ? ` (stopped at the ${formatCount(result.row_cap)}-row cap; add a LIMIT or WHERE)` : ""} in {formatDuration(result.duration_ms)}
            </span>
            {result.rows.length > 0 && (
              <Button variant="secondary" onClick={download}>
                Download CSV
              </Button>
            )}
          </div>
          {result.rows.length === 0 ? (
            <EmptyState>The query returned no rows.</EmptyState>
          ) : (
            <div className="overflow-x-auto rounded-md border border-slate-200">
              <table className="w-full text-left text-xs">
                <thead className="bg-slate-50 uppercase tracking-wide text-slate-500">
                  <tr>
                    {result.columns.map((column, i) => (
                      <th key={i} className="px-3 py-2 font-medium">
                        {column}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100 font-mono">
                  {rows.map((row, r) => (
                    <tr key={r}>
                      {row.map((cell, c) => (
                        <td key={c} className="max-w-xs truncate px-3 py-1.5 text-slate-800" title={display(cell)}>
                          {cell === null ? <span className="text-slate-500">NULL</span> : display(cell)}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {pages > 1 && (
            <nav aria-label="Result pages" className="flex items-center gap-2 text-xs text-slate-600">
              <Button variant="secondary" disabled={page === 0} onClick={() => setPage(page - 1)}>
                Previous
              </Button>
              <span>
                Page {page + 1} of {pages}
              </span>
              <Button variant="secondary" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
                Next
              </Button>
            </nav>
          )}
        </div>
      )}
    </div>
  );
}

function display(cell: unknown): string {
  if (cell === null || cell === undefined) return "NULL";
  if (typeof cell === "object" && "blob_bytes" in (cell as object)) return `<blob ${(cell as { blob_bytes: number }).blob_bytes} bytes>`;
  return String(cell);
}
