import { DataTable } from "@/app/_components/ui/data-table";
import { Badge } from "@/app/_components/ui/badge";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { scopeAllows } from "@/lib/auth/scopes";
import { getConfig } from "@/lib/config/service";
import { formatAge, formatBytes, formatCount } from "@/lib/format";
import { listJobsWithHistory } from "@/lib/maintenance/queries";
import { getMaintenanceOverview, getPostgresMaintenanceOverview, listTableSummaries } from "@/lib/maintenance/service";
import { getEngine } from "@/lib/db/engine";
import { PostgresDatabase } from "./postgres-database";
import { Figure, SqlDumpLink, TableExportCell } from "./database-parts";
import { runTroubleshootingChecks } from "@/lib/maintenance/troubleshooting";
import { getResetPreview } from "@/lib/maintenance/reset";
import { listOperations } from "@/lib/operations/service";
import { requirePagePrincipal } from "@/lib/pages";
import { MaintenanceAction } from "./maintenance-action";
import { QueryConsole } from "./query-console";
import { RecoveryPanel } from "./recovery-panel";
import { ResetPanel } from "./reset-panel";
import { MigratePanel } from "./migrate-panel";
import { migrationFreezeReason } from "@/lib/maintenance/migrate-backend";
import { RetentionPanel } from "./retention-panel";
import { TroubleshootingPanel } from "./troubleshooting-panel";
import { EmptyState } from "@/app/_components/ui/empty-state";

export const dynamic = "force-dynamic";
export const metadata = { title: "Database" };

async function lastOperation(kind: string) {
  return (await listOperations({ limit: 1, kind })).items[0] ?? null;
}

export default async function DatabasePage() {
  const principal = await requirePagePrincipal("read");
  const canWrite = scopeAllows(principal.scope, "write");
  const isAdmin = scopeAllows(principal.scope, "admin");
  const config = getConfig();
  if (getEngine().backend === "postgres") {
    // The reset preview reuses the table list's row counts and walks the volumes beside the other reads:
    // counting the history again after them put this page at the 300 ms edge with 1,000,000 runs.
    const tablesRead = listTableSummaries();
    const [overview, tables, jobs, vacuum, analyze, integrity, cleanup, reset] = await Promise.all([
      getPostgresMaintenanceOverview(),
      tablesRead,
      listJobsWithHistory(),
      lastOperation("vacuum"),
      lastOperation("analyze"),
      lastOperation("integrity_check"),
      lastOperation("retention_cleanup"),
      isAdmin ? Promise.all([getResetPreview(tablesRead), lastOperation("reset")]).then(([preview, lastRun]) => ({ preview, lastRun })) : null,
    ]);
    return (
      <PostgresDatabase
        overview={overview}
        tables={tables}
        jobs={jobs}
        lastRuns={{ vacuum, analyze, integrity_check: integrity, retention_cleanup: cleanup }}
        retention={{ defaultDays: config.values.persistence.retention_days, appLogDays: config.values.logging.retention_days }}
        canWrite={canWrite}
        isAdmin={isAdmin}
        reset={reset}
      />
    );
  }
  const tablesRead = listTableSummaries();
  const [overview, tables, checks, jobs, lastVacuum, lastAnalyze, lastIntegrity, lastCheckpoint, lastCleanup, lastRecover] = await Promise.all([
    getMaintenanceOverview(),
    tablesRead,
    runTroubleshootingChecks(),
    listJobsWithHistory(),
    lastOperation("vacuum"),
    lastOperation("analyze"),
    lastOperation("integrity_check"),
    lastOperation("checkpoint"),
    lastOperation("retention_cleanup"),
    lastOperation("recover"),
  ]);
  // Only admins may reset, so only they pay for walking the volumes to count what a reset would delete.
  const [resetPreview, lastReset] = isAdmin ? await Promise.all([getResetPreview(tablesRead), lastOperation("reset")]) : [null, null];
  // Shown while the data is in SQLite, and after a migration until the restart (config.yaml already says postgres then).
  const frozenReason = migrationFreezeReason();
  const showMigrate = isAdmin && (config.values.persistence.backend === "sqlite" || frozenReason !== null);
  const lastMigration = showMigrate ? await lastOperation("migrate_to_postgres") : null;
  const damaged = overview.last_integrity !== null && !overview.last_integrity.ok;

  return (
    <>
      <PageHeader
        title="Database"
        description={
          <>
            <Badge tone="slate">SQLite</Badge> Maintenance, export, retention and recovery of <code className="text-xs">{overview.database}</code>: the
            operations guide&apos;s sqlite3 recipes as buttons. Scripts use the same actions under <code className="text-xs">/api/v1/maintenance</code>,{" "}
            <code className="text-xs">/api/v1/export</code> and <code className="text-xs">/api/v1/retention/cleanup</code>.
          </>
        }
      />
      <div className="space-y-6">
        <Card title="Maintenance">
          <dl className="mb-4 grid grid-cols-2 gap-4 text-sm sm:grid-cols-4">
            <Figure
              label="Database file"
              value={formatBytes(overview.file_bytes)}
              hint={`${formatCount(overview.page_count)} pages of ${formatBytes(overview.page_size)}`}
            />
            <Figure
              label="Free pages"
              value={<span data-testid="free-pages">{formatCount(overview.free_pages)}</span>}
              hint={formatBytes(overview.free_bytes)}
            />
            <Figure label="WAL" value={formatBytes(overview.wal_bytes)} hint={`journal mode ${overview.journal_mode}`} />
            <Figure
              label="Auto-vacuum"
              value={overview.auto_vacuum}
              hint={overview.auto_vacuum === "incremental" ? "cleanups give pages back" : "VACUUM once to turn on incremental"}
            />
          </dl>
          <div className="grid grid-cols-1 gap-4 md:grid-cols-2 xl:grid-cols-4">
            <MaintenanceAction
              kind="vacuum"
              title="VACUUM"
              gain={
                <>
                  Would give back about <strong>{formatBytes(overview.free_bytes)}</strong> ({formatCount(overview.free_pages)} free pages)
                  {overview.auto_vacuum === "incremental" ? "." : " and turn on incremental auto-vacuum."}
                </>
              }
              warning={`Needs free disk about the database's size (${formatBytes(overview.file_bytes + overview.wal_bytes)}) while it runs; writes wait until it finishes.`}
              blockedReason={overview.vacuum_disk.ok ? undefined : overview.vacuum_disk.message}
              lastRun={lastVacuum}
              canRun={canWrite}
            />
            <MaintenanceAction
              kind="analyze"
              title="ANALYZE"
              gain={
                <>
                  Refreshes query planner statistics. Last run:{" "}
                  <strong>
                    {overview.last_analyze_at ? formatAge(overview.last_analyze_at) : overview.has_statistics ? "unknown (before this console)" : "never"}
                  </strong>
                  .
                </>
              }
              lastRun={lastAnalyze}
              canRun={canWrite}
            />
            <MaintenanceAction
              kind="integrity_check"
              title="Integrity check"
              gain={
                <>
                  Reads every page and lists every problem. Last check:{" "}
                  <strong>
                    {overview.last_integrity ? `${formatAge(overview.last_integrity.checked_at)}, ${overview.last_integrity.ok ? "ok" : "FAILED"}` : "never"}
                  </strong>
                  .
                </>
              }
              lastRun={lastIntegrity}
              canRun={canWrite}
            />
            <MaintenanceAction
              kind="checkpoint"
              title="WAL checkpoint"
              gain={
                <>
                  Copies the WAL into the database and truncates it: <strong>{formatBytes(overview.wal_bytes)}</strong> now.
                </>
              }
              lastRun={lastCheckpoint}
              canRun={canWrite}
            />
          </div>
        </Card>

        <Card title="Retention cleanup">
          <RetentionPanel
            defaultDays={config.values.persistence.retention_days}
            appLogDays={config.values.logging.retention_days}
            jobs={jobs}
            lastRun={lastCleanup}
            canRun={canWrite}
          />
        </Card>

        <Card title="Troubleshooting">
          <TroubleshootingPanel checks={checks} />
        </Card>

        <Card title="Tables" actions={isAdmin ? <SqlDumpLink /> : undefined}>
          {tables.length === 0 ? (
            <EmptyState>The database has no tables yet.</EmptyState>
          ) : (
            <DataTable columns={[{ label: "Table" }, { label: "Rows", align: "right" }, { label: "Columns" }, isAdmin && { label: "Export" }]}>
              {tables.map((table) => (
                <tr key={table.name} data-table={table.name}>
                  <td className="py-2 pr-4 font-mono text-xs text-slate-800">{table.name}</td>
                  <td className="py-2 pr-4 text-right tabular-nums" data-testid={`rows-${table.name}`}>
                    {formatCount(table.rows)}
                  </td>
                  <td className="py-2 pr-4 font-mono text-xs text-slate-600">
                    {table.columns.map((c) => `${c.name}${c.type ? ` ${c.type.toLowerCase()}` : ""}${c.primary_key ? " pk" : ""}`).join(", ")}
                  </td>
                  <TableExportCell table={table.name} isAdmin={isAdmin} />
                </tr>
              ))}
            </DataTable>
          )}
        </Card>

        {isAdmin && (
          <Card title="SQL console (read-only)">
            <QueryConsole initialSql="SELECT * FROM scheduled_jobs;" />
          </Card>
        )}

        {isAdmin && (
          <Card title="Recovery">
            <p className="mb-3 text-sm text-slate-600">
              {damaged ? (
                <>
                  <Badge tone="red">damaged</Badge> The last integrity check failed. Restore a verified backup if you have one; otherwise recover what can still
                  be read.
                </>
              ) : (
                "For a database whose integrity check fails: writes a new database from everything still readable (the live file is only read), reports what was and was not saved, and swaps it in only on your confirmation."
              )}
            </p>
            <RecoveryPanel lastRun={lastRecover} />
          </Card>
        )}

        {showMigrate && (
          <Card title="Migrate to PostgreSQL">
            <MigratePanel database={overview.database} lastRun={lastMigration} frozenReason={frozenReason} />
          </Card>
        )}

        {resetPreview && (
          <Card title="Reset all data">
            <ResetPanel preview={resetPreview} lastRun={lastReset} />
          </Card>
        )}
      </div>
    </>
  );
}
