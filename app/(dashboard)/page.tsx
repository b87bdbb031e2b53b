import Link from "next/link";
import { HealthPanel } from "@/app/(dashboard)/health-panel";
import { LastBackupCard } from "@/app/(dashboard)/last-backup-card";
import { VolumeTrends } from "@/app/(dashboard)/volume-trends";
import { InstancesCard } from "@/app/(dashboard)/instances-card";
import { listInstances } from "@/lib/instances/service";
import { Card, Stat } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { MeasuredAt } from "@/app/_components/ui/measured-at";
import { formatBytes, formatCount, formatPercent } from "@/lib/format";
import { scopeAllows } from "@/lib/auth/scopes";
import { findFailedLatestBackup, listRunningBackupOperations } from "@/lib/backups/page-operations";
import { findLatestBackup } from "@/lib/backups/catalog";
import { getBackupSettings } from "@/lib/backups/schedule";
import { getHealth } from "@/lib/health/service";
import { getOverviewCounts } from "@/lib/overview/service";
import { requirePagePrincipal } from "@/lib/pages";
import { listFailingChannels } from "@/lib/notify/service";
import { getStorageHistory, getVolumeTrends } from "@/lib/storage/history";
import { describeProjection } from "@/lib/storage/projection-text";
import { getStorageUsage } from "@/lib/storage/usage";

export const dynamic = "force-dynamic";
export const metadata = { title: "Overview" };

/**
 * Sizes come from the same measurement as the Storage page (reused for 30 s, walked off the main
 * thread), trends and charts from stored samples. Active alerts show once, in the layout's banner.
 */
export default async function OverviewPage() {
  const principal = await requirePagePrincipal("read");
  const [health, counts, usage, trends, history, latestBackup, runningBackups, failedBackup, failingChannels, instances] = await Promise.all([
    getHealth(),
    getOverviewCounts(),
    getStorageUsage({ tables: false }),
    getVolumeTrends(),
    getStorageHistory({ range: "24h" }),
    findLatestBackup(),
    listRunningBackupOperations(),
    findFailedLatestBackup(),
    listFailingChannels(),
    listInstances(),
  ]);
  const last24hTotal = Object.values(counts.last24h).reduce((sum, n) => sum + n, 0);
  const projection = describeProjection(history.projection);
  const disk = health.disk;
  return (
    <>
      <PageHeader title="Overview" description="The state of this Mimir AIP deployment's persistent data at a glance." />
      {failingChannels.length > 0 && (
        <section role="alert" aria-label="Failing notification channels" className="mb-6 rounded-md border border-red-200 bg-red-50 p-4 text-sm text-red-800">
          <p className="font-medium">
            {failingChannels.length === 1 ? "A notification channel is failing" : `${failingChannels.length} notification channels are failing`}: alerts may not
            be reaching anyone.
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
            <Stat
              label="Jobs"
              value={<span data-testid="count-jobs">{formatCount(counts.jobs.total)}</span>}
              hint={`${formatCount(counts.jobs.enabled)} enabled`}
            />
            <Stat label="Pipelines" value={<span data-testid="count-pipelines">{formatCount(counts.pipelines)}</span>} />
            <Stat label="Executions" value={<span data-testid="count-executions">{formatCount(counts.executions)}</span>} hint="all time" />
            <Stat
              label="Runs, last 24 h"
              value={formatCount(last24hTotal)}
              hint={last24hTotal ? `${formatCount(counts.last24h.failed ?? 0)} failed, ${formatCount(counts.last24h.running ?? 0)} running` : "none"}
            />
          </div>
        </Card>
        <Card title="Volumes" className="lg:col-span-2" actions={<MeasuredAt at={usage.measured_at} className="text-xs text-slate-500" />}>
          <VolumeTrends usage={usage} trends={trends} history={history} />
        </Card>
        <Card title="Disk" actions={<MeasuredAt at={health.time} className="text-xs text-slate-500" />}>
          <div className="grid grid-cols-2 gap-4">
            <Stat
              label="Free"
              value={<span data-testid="overview-disk-free">{formatBytes(disk?.free_bytes)}</span>}
              hint={disk ? `${formatPercent(disk.free_ratio)} of ${formatBytes(disk.total_bytes)}` : "unknown"}
            />
            <Stat label="Full in" value={<span data-testid="overview-full-in">{projection.fullIn}</span>} hint={projection.hint} />
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
        <div className="lg:col-span-3">
          <InstancesCard instances={instances} />
        </div>
      </div>
    </>
  );
}
