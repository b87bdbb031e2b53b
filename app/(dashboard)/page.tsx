import Link from "next/link";
import { AlertList } from "@/app/(dashboard)/alert-list";
import { HealthPanel } from "@/app/(dashboard)/health-panel";
import { LastBackupCard } from "@/app/(dashboard)/last-backup-card";
import { VolumeTrends } from "@/app/(dashboard)/volume-trends";
import { Card, Stat } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { formatBytes, formatBytesChange, formatCount, formatHoursLeft, formatPercent, formatTimestamp } from "@/lib/format";
import { scopeAllows } from "@/lib/auth/scopes";
import { findFailedLatestBackup, listRunningBackupOperations } from "@/lib/backups/page-operations";
import { findLatestBackup } from "@/lib/backups/catalog";
import { getBackupSettings } from "@/lib/backups/schedule";
import { getHealth } from "@/lib/health/service";
import { getOverviewCounts } from "@/lib/overview/service";
import { requirePagePrincipal } from "@/lib/pages";
import { listActiveAlerts } from "@/lib/storage/alerts";
import { listFailingChannels } from "@/lib/notify/service";
import { getStorageHistory, getVolumeTrends } from "@/lib/storage/history";

export const dynamic = "force-dynamic";
export const metadata = { title: "Overview" };

/** Everything here reads stored samples and counts, never a fresh walk, so it is fast at any data size. */
export default async function OverviewPage() {
  const principal = await requirePagePrincipal("read");
  const [health, counts, trends, history, alerts, latestBackup, runningBackups, failedBackup, failingChannels] = await Promise.all([
    getHealth(),
    getOverviewCounts(),
    getVolumeTrends(),
    getStorageHistory({ range: "24h" }),
    listActiveAlerts(),
    findLatestBackup(),
    listRunningBackupOperations(),
    findFailedLatestBackup(),
    listFailingChannels(),
  ]);
  const last24hTotal = Object.values(counts.last24h).reduce((sum, n) => sum + n, 0);
  const { projection } = history;
  return (
    <>
      <PageHeader title="Overview" description="The state of this Mimir AIP deployment's persistent data at a glance." />
      {failingChannels.length > 0 && (
        <section role="alert" aria-label="Failing notification channels" className="mb-6 rounded-md border border-red-200 bg-red-50 p-4 text-sm text-red-800">
          <p className="font-medium">
            {failingChannels.length === 1 ? "A notification channel is failing" : `${failingChannels.length} notification channels are failing`}: alerts may not be reaching anyone.
          </p>
          <ul className="mt-2 space-y-1">
            {failingChannels.map((channel) => (
              <li key={channel.id}>
                <span className="font-medium">{channel.name}</span>
                {channel.last_delivery?.error ? `: ${channel.last_delivery.error}` : ""}
              </li>
            ))}
          </ul>
          <p className="mt-2">
            {scopeAllows(principal.scope, "admin") ? (
              <Link href="/settings#notifications" className="font-medium underline">
                Check the channel on the Settings page
              </Link>
            ) : (
              "An admin can check it on the Settings page."
            )}
          </p>
        </section>
      )}
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-3">
        <div className="lg:col-span-2">
          <HealthPanel initialData={health} />
        </div>
        <Card title="Stored">
          <div className="grid grid-cols-2 gap-4">
            <Stat label="Jobs" value={<span data-testid="count-jobs">{formatCount(counts.jobs.total)}</span>} hint={`${formatCount(counts.jobs.enabled)} enabled`} />
            <Stat label="Pipelines" value={<span data-testid="count-pipelines">{formatCount(counts.pipelines)}</span>} />
            <Stat label="Executions" value={<span data-testid="count-executions">{formatCount(counts.executions)}</span>} hint="all time" />
            <Stat
              label="Runs, last 24 h"
              value={formatCount(last24hTotal)}
              hint={last24hTotal ? `${formatCount(counts.last24h.failed ?? 0)} failed, ${formatCount(counts.last24h.running ?? 0)} running` : "none"}
            />
          </div>
        </Card>
        <Card title="Volumes" className="lg:col-span-2">
          <VolumeTrends trends={trends} history={history} />
        </Card>
        <Card title="Disk">
          <div className="grid grid-cols-2 gap-4">
            <Stat
              label="Free"
              value={formatBytes(projection.free_bytes)}
              hint={projection.free_bytes !== null && projection.total_bytes ? `${formatPercent(projection.free_bytes / projection.total_bytes)} of ${formatBytes(projection.total_bytes)}` : "no sample yet"}
            />
            <Stat
              label="Full in"
              value={projection.hours_left === null ? "—" : formatHoursLeft(projection.hours_left)}
              hint={
                projection.growth_bytes_per_hour === null
                  ? "needs a few samples"
                  : projection.full_at
                    ? `${formatBytesChange(-projection.growth_bytes_per_hour)}/h, around ${formatTimestamp(projection.full_at)}`
                    : "free space is not shrinking"
              }
            />
          </div>
        </Card>
        <div className="lg:col-span-3">
          <LastBackupCard
            failed={failedBackup}
            latest={latestBackup}
            scheduled={getBackupSettings().enabled}
            running={runningBackups}
            canWrite={scopeAllows(principal.scope, "write")}
          />
        </div>
        <Card title="Active alerts" className="lg:col-span-3">
          <AlertList alerts={alerts} emptyText="No active storage alerts." />
        </Card>
      </div>
    </>
  );
}
