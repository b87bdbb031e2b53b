import Link from "next/link";
import { Badge, statusTone } from "@/app/_components/ui/badge";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { Pager } from "@/app/_components/pager";
import { EnabledToggle, RunNowButton } from "@/app/(dashboard)/jobs/job-controls";
import { JobForm } from "@/app/(dashboard)/jobs/job-form";
import { formatAge, formatCountOf, formatTimestamp } from "@/lib/format";
import { listJobsQuery } from "@/lib/jobs/inputs";
import { listJobs } from "@/lib/jobs/service";
import { listPipelineNames } from "@/lib/pipelines/service";
import { listAtLinkCursor, requirePagePrincipal } from "@/lib/pages";
import { scopeAllows } from "@/lib/auth/scopes";
import { DataTable } from "@/app/_components/ui/data-table";
import { EmptyState } from "@/app/_components/ui/empty-state";

export const dynamic = "force-dynamic";
export const metadata = { title: "Jobs" };

/** The note that tells a reader without write access why the switches do not move. */
const WRITE_NOTE = "jobs-write-note";

export default async function JobsPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const principal = await requirePagePrincipal("read");
  const canWrite = scopeAllows(principal.scope, "write");
  const params = await searchParams;
  // The pipeline names feed the new-job form, which only writers get.
  const [page, pipelines] = await Promise.all([
    listAtLinkCursor("/jobs", params, (cursor) => listJobs(listJobsQuery.parse({ cursor }))),
    canWrite ? listPipelineNames() : [],
  ]);
  const missing = page.items.filter((job) => !job.pipeline_exists).length;
  return (
    <>
      <PageHeader title="Jobs" description="Pipelines run on a cron schedule by the built-in scheduler. Changes apply at once; one run per job at a time." />
      {canWrite && (
        <Card title="New job" className="mb-6">
          <JobForm pipelines={pipelines} canWrite />
        </Card>
      )}
      <Card
        title="Scheduled jobs"
        actions={
          !canWrite && (
            <p id={WRITE_NOTE} className="text-xs text-slate-500">
              Creating, switching or running jobs needs write access.
            </p>
          )
        }
      >
        {missing > 0 && (
          <p role="status" data-testid="jobs-missing-pipelines" className="mb-4 rounded-md border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
            {formatCountOf(missing, "job")} on this page {missing === 1 ? "uses" : "use"} a pipeline that does not exist: runs fail until the pipeline is
            created or the job is pointed at another one.
          </p>
        )}
        {page.items.length === 0 ? (
          <EmptyState>{canWrite ? "No jobs yet. Create one above to run a pipeline on a schedule." : "No jobs yet."}</EmptyState>
        ) : (
          <DataTable
            columns={[
              { label: "Job" },
              { label: "Pipeline" },
              { label: "Schedule" },
              { label: "Next run" },
              { label: "Last result" },
              { label: "Enabled" },
              canWrite && { label: "Actions", srOnly: true },
            ]}
            label="Jobs"
          >
            {page.items.map((job) => (
              <tr key={job.id} className="align-top" data-testid={`job-row-${job.id}`}>
                <td className="py-2 pr-4">
                  <Link href={`/jobs/${encodeURIComponent(job.id)}`} className="font-medium text-sky-700 hover:underline">
                    {job.name}
                  </Link>
                  <div className="text-xs text-slate-500">{job.id}</div>
                </td>
                <td className="py-2 pr-4">
                  {job.pipeline_exists ? (
                    <Link href={`/pipelines/${encodeURIComponent(job.pipeline.replace(/\.ya?ml$/i, ""))}`} className="hover:underline">
                      {job.pipeline}
                    </Link>
                  ) : (
                    <span className="inline-flex flex-wrap items-center gap-1.5">
                      {job.pipeline} <Badge tone="red">missing pipeline</Badge>
                    </span>
                  )}
                </td>
                <td className="py-2 pr-4">
                  <div>{job.cron_description}</div>
                  <code className="text-xs text-slate-500">{job.cron_expr}</code>
                </td>
                <td className="py-2 pr-4 whitespace-nowrap tabular-nums">{job.enabled ? formatTimestamp(job.next_run) : "—"}</td>
                <td className="py-2 pr-4">
                  {job.last_result ? (
                    <span title={job.last_result.error}>
                      <Badge tone={statusTone(job.last_result.status ?? (job.last_result.success ? "success" : "failed"))}>
                        {job.last_result.status ?? (job.last_result.success ? "success" : "failed")}
                      </Badge>{" "}
                      <span className="text-xs text-slate-500">{formatAge(job.last_run)}</span>
                    </span>
                  ) : (
                    <span className="text-slate-500">never run</span>
                  )}
                </td>
                <td className="py-2 pr-4">
                  <EnabledToggle id={job.id} name={job.name} enabled={job.enabled} canWrite={canWrite} describedBy={WRITE_NOTE} />
                </td>
                {canWrite && (
                  <td className="py-2 text-right">
                    <RunNowButton id={job.id} name={job.name} />
                  </td>
                )}
              </tr>
            ))}
          </DataTable>
        )}
        <Pager basePath="/jobs" params={params} nextCursor={page.next_cursor} hasCursor={Boolean(params.cursor)} />
      </Card>
    </>
  );
}
