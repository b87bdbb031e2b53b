import { AlertList } from "@/app/(dashboard)/alert-list";
import { DataTable } from "@/app/_components/ui/data-table";
import { MeasureButton } from "@/app/(dashboard)/storage/measure-button";
import { StorageCharts } from "@/app/(dashboard)/storage/storage-charts";
import { Card, Stat } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { getConfig } from "@/lib/config/service";
import { formatBytes, formatCount, formatPercent, formatTimestamp } from "@/lib/format";
import { requirePagePrincipal } from "@/lib/pages";
import { scopeAllows } from "@/lib/auth/scopes";
import { listAlerts } from "@/lib/storage/alerts";
import { getStorageHistory } from "@/lib/storage/history";
import { describeProjection } from "@/lib/storage/projection-text";
import { getStorageUsage } from "@/lib/storage/usage";
import { MeasuredAt } from "@/app/_components/ui/measured-at";
import type { DiskProjection, StorageUsage } from "@/lib/storage/types";

export const dynamic = "force-dynamic";
export const metadata = { title: "Storage" };

export default async function StoragePage() {
  const principal = await requirePagePrincipal("read");
  const canWrite = scopeAllows(principal.scope, "write");
  const [usage, history, alerts] = await Promise.all([getStorageUsage(), getStorageHistory({ range: "24h" }), listAlerts()]);
  const interval = getConfig().values.storage.sample_interval_minutes;
  return (
    <>
      <PageHeader
        title="Storage"
        description={
          <>
            Volume and disk usage <MeasuredAt at={usage.measured_at} /> (<span data-testid="measured-at">{formatTimestamp(usage.measured_at)}</span>, a walk of{" "}
            {formatCount(usage.volumes.reduce((n, v) => n + v.files, 0))} files in {usage.scan_ms} ms); the charts read the samples taken every {interval} min.
          </>
        }
        actions={canWrite && <MeasureButton />}
      />
      <div className="space-y-6">
        <DiskCard usage={usage} projection={history.projection} />
        <VolumesCard usage={usage} />
        <StorageCharts initial={history} intervalMinutes={interval} />
        <div className="grid grid-cols-1 gap-6 xl:grid-cols-2">
          <DatabaseCard usage={usage} />
          <Card title="Alerts">
            <AlertList alerts={alerts} emptyText="No storage alert has been raised. Thresholds are under storage.alerts in config.yaml." />
          </Card>
        </div>
      </div>
    </>
  );
}

function DiskCard({ usage, projection }: { usage: StorageUsage; projection: DiskProjection }) {
  const fs = usage.volumes.find((v) => v.volume === "mimir_data")?.filesystem ?? null;
  const text = describeProjection(projection);
  const over = projection.enough_history ? `over the last ${Math.round(projection.history_hours)} h` : text.hint;
  return (
    <Card title="Disk holding the data volume">
      <div className="grid grid-cols-2 gap-6 md:grid-cols-5">
        <Stat
          label="Free"
          value={<span data-testid="disk-free">{formatBytes(fs?.free_bytes)}</span>}
          hint={fs ? `${formatPercent(fs.free_bytes / fs.total_bytes)} of ${formatBytes(fs.total_bytes)}` : "unknown"}
        />
        <Stat label="Used by Mimir" value={formatBytes(usage.volumes.reduce((n, v) => n + v.bytes, 0))} hint="five volumes and backups" />
        <Stat label="Mimir's growth" value={<span data-testid="disk-our-growth">{text.ourRate}</span>} hint={over} />
        <Stat label="Rest of the disk" value={<span data-testid="disk-other-growth">{text.otherRate}</span>} hint="other programs; not projected" />
        <Stat label="Full in" value={<span data-testid="disk-full-in">{text.fullIn}</span>} hint={<span data-testid="disk-full-hint">{text.hint}</span>} />
      </div>
    </Card>
  );
}

function VolumesCard({ usage }: { usage: StorageUsage }) {
  const total = usage.volumes.reduce((n, v) => n + v.bytes, 0) || 1;
  return (
    <Card title="Volumes">
      <DataTable
        columns={[{ label: "Volume" }, { label: "Size", align: "right" }, { label: "Files", align: "right" }, { label: "Share" }, { label: "Largest files" }]}
      >
        {usage.volumes.map((v) => (
          <tr key={v.volume} data-volume={v.volume} className="align-top">
            <td className="py-2.5 pr-4">
              <div className="font-medium text-slate-900">{v.volume}</div>
              <code className="break-all text-xs text-slate-500">{v.path}</code>
              {!v.exists && <div className="text-xs text-amber-700">folder missing</div>}
              {v.unreadable > 0 && <div className="text-xs text-amber-700">{formatCount(v.unreadable)} entries could not be read</div>}
            </td>
            <td className="py-2.5 pr-4 text-right tabular-nums text-slate-900" data-testid={`size-${v.volume}`}>
              {formatBytes(v.bytes)}
            </td>
            <td className="py-2.5 pr-4 text-right tabular-nums text-slate-700">{formatCount(v.files)}</td>
            <td className="w-40 py-2.5 pr-4">
              <div className="h-2 w-full overflow-hidden rounded-full bg-slate-100">
                <div className="h-full rounded-full bg-sky-600" style={{ width: `${(v.bytes / total) * 100}%` }} />
              </div>
              <div className="mt-1 text-xs tabular-nums text-slate-500">{formatPercent(v.bytes / total)}</div>
            </td>
            <td className="py-2.5 pr-4">
              {v.largest.length === 0 ? (
                <span className="text-xs text-slate-500">no files</span>
              ) : (
                <details>
                  <summary className="cursor-pointer text-xs text-slate-600">
                    {v.largest[0]!.path.slice(v.path.length + 1)} ({formatBytes(v.largest[0]!.bytes)})
                    {v.largest.length > 1 ? ` and ${v.largest.length - 1} more` : ""}
                  </summary>
                  <ol className="mt-1 space-y-0.5 text-xs text-slate-600">
                    {v.largest.map((file) => (
                      <li key={file.path} className="flex justify-between gap-4">
                        <code className="break-all">{file.path.slice(v.path.length + 1)}</code>
                        <span className="shrink-0 tabular-nums">{formatBytes(file.bytes)}</span>
                      </li>
                    ))}
                  </ol>
                </details>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
    </Card>
  );
}

function DatabaseCard({ usage }: { usage: StorageUsage }) {
  const db = usage.database;
  return (
    <Card title="Database">
      <div className="grid grid-cols-2 gap-4 md:grid-cols-4">
        <Stat label="File" value={formatBytes(db.file_bytes)} />
        <Stat label="WAL" value={formatBytes(db.wal_bytes)} hint={`shm ${formatBytes(db.shm_bytes)}`} />
        <Stat label="Free pages" value={formatCount(db.free_pages)} hint={`${formatBytes(db.free_pages * db.page_size)} VACUUM returns`} />
        <Stat
          label="Vector database"
          value={db.vector_db.bytes === null ? "—" : formatBytes(db.vector_db.bytes)}
          hint={db.vector_db.enabled ? (db.vector_db.bytes === null ? "no file yet" : "chromem") : "disabled"}
        />
      </div>
      <DataTable columns={[{ label: "Table" }, { label: "Rows", align: "right" }, { label: "Size with indexes", align: "right" }]} className="mt-4">
        {db.tables.map((t) => (
          <tr key={t.name}>
            <td className="py-1.5 pr-4 font-mono text-xs text-slate-800">{t.name}</td>
            <td className="py-1.5 pr-4 text-right tabular-nums">{formatCount(t.rows)}</td>
            <td className="py-1.5 text-right tabular-nums">{t.bytes === null ? "—" : formatBytes(t.bytes)}</td>
          </tr>
        ))}
      </DataTable>
    </Card>
  );
}
