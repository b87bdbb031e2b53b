import { isCsvExportable } from "@/lib/maintenance/export";

/**
 * The pieces the Database page shows the same on SQLite (page.tsx) and PostgreSQL
 * (postgres-database.tsx): a figure of the Maintenance card, the Tables card's dump link and each
 * table's CSV export cell.
 */

export function Figure({ label, value, hint }: { label: string; value: React.ReactNode; hint?: string }) {
  return (
    <div>
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</dt>
      <dd className="mt-1 text-lg font-semibold tabular-nums text-slate-900">{value}</dd>
      {hint && <dd className="text-xs text-slate-500">{hint}</dd>}
    </div>
  );
}

/** The Tables card's action for admins: the whole database as SQL. */
export function SqlDumpLink() {
  return (
    <a href="/api/v1/export/sql" download className="text-sm font-semibold text-sky-700 hover:underline">
      Download SQL dump
    </a>
  );
}

/** A table row's Export cell (admins only): its CSV, or a dash for the credential tables, which are not exported one by one. */
export function TableExportCell({ table, isAdmin }: { table: string; isAdmin: boolean }) {
  if (!isAdmin) return null;
  return (
    <td className="py-2">
      {isCsvExportable(table) ? (
        <a href={`/api/v1/export/csv/${encodeURIComponent(table)}`} download className="text-sky-700 hover:underline" aria-label={`Download ${table} as CSV`}>
          CSV
        </a>
      ) : (
        <span className="text-xs text-slate-500" title="Credentials are not exported table by table">
          —
        </span>
      )}
    </td>
  );
}
