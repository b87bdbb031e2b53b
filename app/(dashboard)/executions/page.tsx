import { AutoRefresh } from "@/app/_components/auto-refresh";
import { DurationPercentilesChart } from "@/app/_components/charts/duration-percentiles-chart";
import { RunsPerDayChart } from "@/app/_components/charts/runs-per-day-chart";
import { Pager } from "@/app/_components/pager";
import { Card, Stat } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { ExecutionsTable } from "@/app/(dashboard)/executions/executions-table";
import { EXECUTION_STATUSES } from "@/lib/executions/types";
import { listExecutionsQuery, statisticsQuery } from "@/lib/executions/inputs";
import { getExecutionStatistics, listExecutions } from "@/lib/executions/service";
import { jobNamesOf, listJobChoices } from "@/lib/jobs/service";
import { formatCount, formatPercent } from "@/lib/format";
import { listAtLinkCursor, requirePagePrincipal } from "@/lib/pages";
import { DAY_MS } from "@/lib/time";

export const dynamic = "force-dynamic";
export const metadata = { title: "Executions" };

const STATISTICS_REFRESH_MS = 5000;
const INPUT = "mt-1 block w-full rounded-md border-0 px-2.5 py-1.5 text-sm text-slate-900 ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-slate-900";

/** The form's dates (YYYY-MM-DD, UTC) as the API's ISO bounds: `to` includes its whole day. */
function dayBounds(params: Record<string, string | undefined>) {
  const day = (value: string | undefined) => (value && /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN);
  const from = day(params.from);
  const to = day(params.to);
  return {
    from: Number.isNaN(from) ? undefined : new Date(from).toISOString(),
    to: Number.isNaN(to) ? undefined : new Date(to + DAY_MS).toISOString(),
  };
}

export default async function ExecutionsPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  await requirePagePrincipal("read");
  const params = await searchParams;
  const bounds = dayBounds(params);
  const filters = {
    job_id: params.job_id || undefined,
    pipeline: params.pipeline || undefined,
    status: params.status || undefined,
    ...bounds,
  };
  const query = listExecutionsQuery.safeParse({ ...filters, cursor: params.cursor });
  const statsQuery = statisticsQuery.safeParse({ job_id: filters.job_id, pipeline: filters.pipeline, status: filters.status, ...bounds });
  const [page, stats, choices] = await Promise.all([
    query.success ? listAtLinkCursor("/executions", params, (cursor) => listExecutions({ ...query.data, cursor })) : Promise.resolve(null),
    statsQuery.success ? getExecutionStatistics(statsQuery.data).catch(() => null) : Promise.resolve(null),
    listJobChoices(),
  ]);
  // A job chosen by a link (an id beyond the picker's list, or a job since deleted) stays selectable.
  const jobChoices =
    filters.job_id && !choices.jobs.some((job) => job.id === filters.job_id) ? [...choices.jobs, { id: filters.job_id, name: filters.job_id }] : choices.jobs;
  const jobNames = await jobNamesOf(page?.items ?? []);
  return (
    <>
      {/* Slower than the other pages: each refresh also recomputes the window's statistics. */}
      <AutoRefresh active={Boolean(page?.items.some((run) => run.status === "running"))} intervalMs={STATISTICS_REFRESH_MS} />
      <PageHeader title="Executions" description="Every run of every job (scheduled, from the API, or started by hand), newest first." />
      <Card className="mb-6">
        <form className="grid grid-cols-1 gap-3 sm:grid-cols-3 lg:grid-cols-6 lg:items-end" action="/executions" aria-label="Filters">
          <label className="block text-sm font-medium text-slate-700">
            Job
            <select name="job_id" defaultValue={params.job_id ?? ""} className={INPUT}>
              <option value="">any job</option>
              {jobChoices.map((job) => (
                <option key={job.id} value={job.id}>
                  {job.name}
                </option>
              ))}
            </select>
          </label>
          <label className="block text-sm font-medium text-slate-700">
            Pipeline
            <input name="pipeline" defaultValue={params.pipeline} className={INPUT} />
          </label>
          <label className="block text-sm font-medium text-slate-700">
            Status
            <select name="status" defaultValue={params.status ?? ""} className={INPUT}>
              <option value="">any</option>
              {EXECUTION_STATUSES.map((status) => (
                <option key={status} value={status}>
                  {status}
                </option>
              ))}
            </select>
          </label>
          <label className="block text-sm font-medium text-slate-700">
            From (UTC)
            <input type="date" name="from" defaultValue={params.from} className={INPUT} />
          </label>
          <label className="block text-sm font-medium text-slate-700">
            To (UTC)
            <input type="date" name="to" defaultValue={params.to} className={INPUT} />
          </label>
          <button type="submit" className="rounded-md bg-slate-900 px-3.5 py-2 text-sm font-semibold text-white shadow-sm hover:bg-slate-700">
            Apply filters
          </button>
        </form>
        {!query.success && (
          <p role="alert" className="mt-3 text-sm text-red-700">
            {query.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}
          </p>
        )}
        {bounds.from && bounds.to && bounds.from >= bounds.to && (
          <p role="alert" className="mt-3 text-sm text-red-700">
            From ({params.from}) is after To ({params.to}), so no run can match: swap the two dates.
          </p>
        )}
      </Card>
      {stats && (
        <div className="mb-6 grid grid-cols-1 gap-6 lg:grid-cols-3">
          <Card title="Window">
            <div className="grid grid-cols-2 gap-4">
              <Stat
                label={filters.status ? `Runs, ${filters.status}` : "Runs"}
                value={<span data-testid="window-runs">{formatCount(stats.total_executions)}</span>}
                hint={`${stats.from.slice(0, 10)} to ${stats.to.slice(0, 10)}`}
              />
              {filters.status ? (
                <Stat label="Status" value={filters.status} hint="the window counts only these runs" />
              ) : (
                <Stat label="Success rate" value={formatPercent(stats.success_rate)} hint={`${formatCount(stats.by_status.failed ?? 0)} failed`} />
              )}
            </div>
          </Card>
          <Card title="Runs per day">
            {stats.per_day.length ? <RunsPerDayChart days={stats.per_day} /> : <p className="text-sm text-slate-500">No runs in this window.</p>}
          </Card>
          <Card title="Duration per day (p50, p95)">
            {stats.duration_per_day.length ? (
              <DurationPercentilesChart days={stats.duration_per_day} />
            ) : (
              <p className="text-sm text-slate-500">No finished runs in this window.</p>
            )}
          </Card>
        </div>
      )}
      <Card title="History">
        <ExecutionsTable items={page?.items ?? []} jobNames={jobNames} empty="No runs match these filters." />
        <Pager basePath="/executions" params={params} nextCursor={page?.next_cursor ?? null} hasCursor={Boolean(params.cursor)} nextLabel="Older runs" />
      </Card>
    </>
  );
}
