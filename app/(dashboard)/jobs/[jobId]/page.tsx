import Link from "next/link";
import { AutoRefresh } from "@/app/_components/auto-refresh";
import { Pager } from "@/app/_components/pager";
import { Badge, statusTone } from "@/app/_components/ui/badge";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { ExecutionsTable } from "@/app/(dashboard)/executions/executions-table";
import { RunNowButton } from "@/app/(dashboard)/jobs/job-controls";
import { JobForm } from "@/app/(dashboard)/jobs/job-form";
import { DeleteJob } from "@/app/(dashboard)/jobs/[jobId]/delete-job";
import { FailureThreshold } from "@/app/(dashboard)/jobs/[jobId]/failure-threshold";
import { getJobNotificationSettings } from "@/lib/jobs/failure-alerts";
import { formatTimestamp } from "@/lib/format";
import { jobIdParams } from "@/lib/jobs/inputs";
import { getJob } from "@/lib/jobs/service";
import { listJobHistory } from "@/lib/jobs/runs";
import { countJobExecutions } from "@/lib/executions/service";
import { pageQuery } from "@/lib/pagination";
import { listPipelineNames } from "@/lib/pipelines/service";
import { listAtLinkCursor, requirePagePrincipal } from "@/lib/pages";
import { scopeAllows } from "@/lib/auth/scopes";
import { notFound } from "next/navigation";
import { isAppError } from "@/lib/errors";

export const dynamic = "force-dynamic";
export const metadata = { title: "Job" };

export default async function JobPage({
  params,
  searchParams,
}: {
  params: Promise<{ jobId: string }>;
  searchParams: Promise<Record<string, string | undefined>>;
}) {
  const principal = await requirePagePrincipal("read");
  const canWrite = scopeAllows(principal.scope, "write");
  const canAdmin = scopeAllows(principal.scope, "admin");
  const parsed = jobIdParams.safeParse({ id: decodeURIComponent((await params).jobId) });
  if (!parsed.success) notFound();
  const id = parsed.data.id;
  const search = await searchParams;
  let job;
  try {
    job = await getJob(id);
  } catch (error) {
    if (isAppError(error) && error.code === "not_found") notFound();
    throw error;
  }
  // Only admins may delete the job, so only they need the count of runs a delete would take with it;
  // the pipeline names are suggestions for the edit form, which only writers can change.
  const [history, runs, pipelines, notifySettings] = await Promise.all([
    listAtLinkCursor(`/jobs/${encodeURIComponent(id)}`, search, (cursor) => listJobHistory(id, pageQuery.parse({ cursor }))),
    canAdmin ? countJobExecutions(id) : 0,
    canWrite ? listPipelineNames() : [],
    getJobNotificationSettings(id),
  ]);
  const lastStatus = job.last_result ? (job.last_result.status ?? (job.last_result.success ? "success" : "failed")) : null;
  return (
    <>
      <AutoRefresh active={history.items.some((run) => run.status === "running")} />
      <PageHeader
        title={job.name}
        description={
          <>
            Job <code>{job.id}</code> runs pipeline{" "}
            {job.pipeline_exists ? (
              <Link className="text-sky-700 underline underline-offset-2" href={`/pipelines/${encodeURIComponent(job.pipeline.replace(/\.ya?ml$/i, ""))}`}>
                {job.pipeline}
              </Link>
            ) : (
              <>
                <strong>{job.pipeline}</strong> <Badge tone="red">missing pipeline</Badge>
              </>
            )}{" "}
            {job.cron_description.charAt(0).toLowerCase() + job.cron_description.slice(1)}.
          </>
        }
        actions={canWrite && <RunNowButton id={job.id} name={job.name} variant="primary" />}
      />
      {!job.pipeline_exists && (
        <div role="status" className="mb-6 rounded-md border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
          Pipeline <strong>{job.pipeline}</strong> does not exist (no stored pipeline and no such file in the pipelines volume). Runs of this job fail until it
          is created or the job is pointed at another pipeline.
        </div>
      )}
      <div className="mb-6 grid grid-cols-1 gap-6 lg:grid-cols-3">
        <Card title="Schedule">
          <dl className="space-y-2 text-sm">
            <div className="flex gap-2">
              <dt className="w-24 shrink-0 text-slate-500">Cron</dt>
              <dd>
                <code>{job.cron_expr}</code>
              </dd>
            </div>
            <div className="flex gap-2">
              <dt className="w-24 shrink-0 text-slate-500">Status</dt>
              <dd>{job.enabled ? <Badge tone="green">enabled</Badge> : <Badge>disabled</Badge>}</dd>
            </div>
            <div className="flex gap-2">
              <dt className="w-24 shrink-0 text-slate-500">Next run</dt>
              <dd className="tabular-nums">{job.enabled ? formatTimestamp(job.next_run) : "—"}</dd>
            </div>
            <div className="flex gap-2">
              <dt className="w-24 shrink-0 text-slate-500">Last run</dt>
              <dd className="tabular-nums">
                {formatTimestamp(job.last_run)} {lastStatus && <Badge tone={statusTone(lastStatus)}>{lastStatus}</Badge>}
              </dd>
            </div>
            {job.last_result?.error && (
              <div className="flex gap-2">
                <dt className="sr-only">Last error</dt>
                <dd className="text-xs text-red-700">{job.last_result.error}</dd>
              </div>
            )}
          </dl>
          <div className="mt-4 border-t border-slate-100 pt-4">
            <FailureThreshold settings={notifySettings} canWrite={canWrite} />
          </div>
        </Card>
        <Card title="Edit" className="lg:col-span-2">
          <JobForm
            jobId={job.id}
            initial={{ name: job.name, pipeline: job.pipeline, cron_expr: job.cron_expr, enabled: job.enabled }}
            pipelines={pipelines}
            canWrite={canWrite}
          />
        </Card>
      </div>
      <Card title="Run history" className="mb-6">
        <ExecutionsTable
          items={history.items}
          showJob={false}
          empty={canWrite ? "This job has not run yet. Use “Run now” or wait for its schedule." : "This job has not run yet."}
        />
        <Pager
          basePath={`/jobs/${encodeURIComponent(job.id)}`}
          params={search}
          nextCursor={history.next_cursor}
          hasCursor={Boolean(search.cursor)}
          nextLabel="Older runs"
        />
      </Card>
      {canAdmin && <DeleteJob id={job.id} name={job.name} runs={runs} />}
    </>
  );
}
