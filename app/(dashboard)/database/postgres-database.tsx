import { DataTable } from "@/app/_components/ui/data-table";
import { Badge } from "@/app/_components/ui/badge";
import { Card } from "@/app/_components/ui/card";
import { EmptyState } from "@/app/_components/ui/empty-state";
import { PageHeader } from "@/app/_components/ui/page-header";
import type { OperationDto } from "@/lib/operations/types";
import type { PostgresMaintenanceOverview, ResetPreview, TableSummary } from "@/lib/maintenance/types";
import { formatAge, formatBytes, formatCount } from "@/lib/format";
import { Figure, SqlDumpLink, TableExportCell } from "./database-parts";
import { MaintenanceAction } from "./maintenance-action";
import { QueryConsole } from "./query-console";
import { ResetPanel } from "./reset-panel";
import { RetentionPanel } from "./retention-panel";

/**
 * The Database page on PostgreSQL: the same actions as on SQLite where they mean something (VACUUM
 * becomes VACUUM (ANALYZE), the integrity check runs amcheck), PostgreSQL's own figures (dead rows,
 * bloat, lock waits), and no WAL checkpoint or file recovery card: the server owns its WAL and files.
 */
export function PostgresDatabase(props: {
  overview: PostgresMaintenanceOverview;
  tables: TableSummary[];
  jobs: { id: string; name: string | null; runs: number }[];
  lastRuns: Record<"vacuum" | "analyze" | "integrity_check" | "retention_cleanup", OperationDto | null>;
  retention: { defaultDays: number; appLogDays: number };
  canWrite: boolean;
  isAdmin: boolean;
  reset: { preview: ResetPreview; lastRun: OperationDto | null } | null;
}) {
  const { overview, tables, canWrite, isAdmin } = props;
  const bloated = overview.tables.filter((table) => table.dead_rows > 0);
  return (
    <>
      <PageHeader
        title="Database"
        description={
          <>
            <Badge tone="blue">PostgreSQL</Badge> Maintenance, export and retention of database <code className="text-xs">{overview.database}</code> (schema{" "}
            <code className="text-xs">{overview.schema}</code>, PostgreSQL {overview.server_version}). Scripts use the same actions under{" "}
            <code className="text-xs">/api/v1/maintenance</code>, <code className="text-xs">/api/v1/export</code> and{" "}
            <code className="text-xs">/api/v1/retention/cleanup</code>.
          </>
        }
      />
      <div className="space-y-6">
        <Card title="Maintenance">
          <dl className="mb-4 grid grid-cols-2 gap-4 text-sm sm:grid-cols-4">
            <Figure label="Database size" value={<span data-testid="database-bytes">{formatBytes(overview.database_bytes)}</span>} hint="pg_database_size" />
            <Figure
              label="Dead rows"
              value={<span data-testid="dead-rows">{formatCount(overview.dead_rows)}</span>}
              hint={`about ${formatBytes(overview.bloat_bytes)} VACUUM makes reusable`}
            />
            <Figure
              label="Connections"
              value={`${formatCount(overview.connections.used)} / ${formatCount(overview.connections.max)}`}
              hint="all databases of the server"
            />
            <Figure
              label="Data checksums"
              value={overview.data_checksums ? "on" : "off"}
              hint={`${formatCount(overview.checksum_failures)} failures recorded`}
            />
          </dl>
          <div className="grid grid-cols-1 gap-4 md:grid-cols-3">
            <MaintenanceAction
              kind="vacuum"
              title="VACUUM (ANALYZE)"
              gain={
                <>
                  Makes the space of <strong>{formatCount(overview.dead_rows)}</strong> dead rows reusable and refreshes statistics. Last run:{" "}
                  <strong>{overview.last_vacuum_at ? formatAge(overview.last_vacuum_at) : "never from here (autovacuum runs on its own)"}</strong>.
                </>
              }
              warning="Reads and writes go on while it runs. It gives no space back to the operating system (only VACUUM FULL does, under an exclusive lock)."
              lastRun={props.lastRuns.vacuum}
              canRun={canWrite}
            />
            <MaintenanceAction
              kind="analyze"
              title="ANALYZE"
              gain={
                <>
                  Refreshes query planner statistics. Last run:{" "}
                  <strong>{overview.last_analyze_at ? formatAge(overview.last_analyze_at) : "never from here"}</strong>.
                </>
              }
              lastRun={props.lastRuns.analyze}
              canRun={canWrite}
            />
            <MaintenanceAction
              kind="integrity_check"
              title="Integrity check (amcheck)"
              gain={
                overview.amcheck.installed ? (
                  <>
                    Checks every index against its table and every table page. Last check:{" "}
                    <strong>
                      {overview.last_integrity ? `${formatAge(overview.last_integrity.checked_at)}, ${overview.last_integrity.ok ? "ok" : "FAILED"}` : "never"}
                    </strong>
                    .
                  </>
                ) : (
                  <span data-testid="amcheck-missing">
                    Needs the amcheck extension:{" "}
                    {overview.amcheck.how_to_install.map((step) => (
                      <code key={step} className="block text-xs">
                        {step}
                      </code>
                    ))}
                  </span>
                )
              }
              blockedReason={overview.amcheck.installed ? undefined : "amcheck is not installed in this database"}
              lastRun={props.lastRuns.integrity_check}
              canRun={canWrite}
            />
          </div>
        </Card>

        <Card title="Retention cleanup">
          <RetentionPanel
            defaultDays={props.retention.defaultDays}
            appLogDays={props.retention.appLogDays}
            jobs={props.jobs}
            lastRun={props.lastRuns.retention_cleanup}
            canRun={canWrite}
          />
        </Card>

        <Card title="Locks and long transactions">
          {overview.locks.lock_waits.length === 0 && overview.locks.long_transactions.length === 0 ? (
            <EmptyState>No session waits for a lock and no transaction has been open longer than a minute.</EmptyState>
          ) : (
            <div className="space-y-3 text-sm">
              <DataTable
                columns={[
                  { label: "Session" },
                  { label: "Application" },
                  { label: "State" },
                  { label: "Open for", align: "right" },
                  { label: "Waits for" },
                  { label: "Query" },
                ]}
              >
                {[...overview.locks.lock_waits, ...overview.locks.long_transactions].map((session, index) => (
                  <tr key={`${session.pid}-${index}`} data-testid="lock-session">
                    <td className="py-2 pr-4 tabular-nums">{session.pid}</td>
                    <td className="py-2 pr-4">{session.application}</td>
                    <td className="py-2 pr-4">{session.state}</td>
                    <td className="py-2 pr-4 text-right tabular-nums">
                      {session.transaction_seconds === null ? "—" : `${formatCount(session.transaction_seconds)} s`}
                    </td>
                    <td className="py-2 pr-4">{session.blocked_by.length ? session.blocked_by.join(", ") : "—"}</td>
                    <td className="py-2 font-mono text-xs text-slate-600">{session.query}</td>
                  </tr>
                ))}
              </DataTable>
              {overview.locks.fix.map((line) => (
                <p key={line} className="text-slate-700">
                  {line}
                </p>
              ))}
            </div>
          )}
        </Card>

        <Card title="Tables" actions={isAdmin ? <SqlDumpLink /> : undefined}>
          {tables.length === 0 ? (
            <EmptyState>The database has no tables yet.</EmptyState>
          ) : (
            <DataTable
              columns={[
                { label: "Table" },
                { label: "Rows", align: "right" },
                { label: "Dead rows", align: "right" },
                { label: "Size", align: "right" },
                { label: "Bloat (est.)", align: "right" },
                isAdmin && { label: "Export" },
              ]}
            >
              {tables.map((table) => {
                const stats = overview.tables.find((entry) => entry.name === table.name);
                return (
                  <tr key={table.name} data-table={table.name}>
                    <td className="py-2 pr-4 font-mono text-xs text-slate-800" title={table.columns.map((c) => `${c.name} ${c.type}`).join(", ")}>
                      {table.name}
                    </td>
                    <td className="py-2 pr-4 text-right tabular-nums" data-testid={`rows-${table.name}`}>
                      {formatCount(table.rows)}
                    </td>
                    <td className="py-2 pr-4 text-right tabular-nums">{formatCount(stats?.dead_rows ?? 0)}</td>
                    <td className="py-2 pr-4 text-right tabular-nums">{formatBytes(stats?.total_bytes ?? 0)}</td>
                    <td className="py-2 pr-4 text-right tabular-nums">{formatBytes(stats?.bloat_bytes ?? 0)}</td>
                    <TableExportCell table={table.name} isAdmin={isAdmin} />
                  </tr>
                );
              })}
            </DataTable>
          )}
          {bloated.length > 0 && (
            <p className="mt-2 text-xs text-slate-500">Bloat is estimated from the statistics (dead rows × average row size); autovacuum also reuses it.</p>
          )}
        </Card>

        {isAdmin && (
          <Card title="SQL console (read-only)">
            <p className="mb-2 text-xs text-slate-500">Runs as a read-only login role of its own, which cannot read the credential tables.</p>
            <QueryConsole initialSql="SELECT * FROM scheduled_jobs;" />
          </Card>
        )}

        {props.reset && (
          <Card title="Reset all data">
            <ResetPanel preview={props.reset.preview} lastRun={props.reset.lastRun} />
          </Card>
        )}
      </div>
    </>
  );
}
