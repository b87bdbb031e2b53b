import { HealthPanel } from "@/app/(dashboard)/health-panel";
import { Card, Stat } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { formatCount } from "@/lib/format";
import { getHealth } from "@/lib/health/service";
import { getOverviewCounts } from "@/lib/overview/service";
import { requirePagePrincipal } from "@/lib/pages";

export const dynamic = "force-dynamic";
export const metadata = { title: "Overview" };

export default async function OverviewPage() {
  await requirePagePrincipal("read");
  const [health, counts] = await Promise.all([getHealth(), getOverviewCounts()]);
  const last24hTotal = Object.values(counts.last24h).reduce((sum, n) => sum + n, 0);
  return (
    <>
      <PageHeader title="Overview" description="The state of this Mimir AIP deployment's persistent data at a glance." />
      <div className="grid gap-6 lg:grid-cols-3">
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
      </div>
    </>
  );
}
