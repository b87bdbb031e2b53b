import Link from "next/link";
import { jobNamesOf } from "@/lib/jobs/service";
import { notFound } from "next/navigation";
import { AutoRefresh } from "@/app/_components/auto-refresh";
import { Pager } from "@/app/_components/pager";
import { Badge } from "@/app/_components/ui/badge";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { ExecutionsTable } from "@/app/(dashboard)/executions/executions-table";
import { PipelineEditor } from "@/app/(dashboard)/pipelines/pipeline-editor";
import { ClonePipeline, DeletePipeline } from "@/app/(dashboard)/pipelines/[name]/pipeline-actions";
import { isAppError } from "@/lib/errors";
import { pageQuery } from "@/lib/pagination";
import { listPipelineHistory } from "@/lib/pipelines/history";
import { pipelineIdParams } from "@/lib/pipelines/inputs";
import { getPipeline } from "@/lib/pipelines/service";
import { listAtLinkCursor, requirePagePrincipal } from "@/lib/pages";
import { scopeAllows } from "@/lib/auth/scopes";
import { listPlugins } from "@/lib/scheduler/plugin-catalog";
import { PluginHelp } from "@/app/(dashboard)/pipelines/plugin-help";
import { TestRunPipeline } from "@/app/(dashboard)/pipelines/[name]/test-run";
import { formatCountOf } from "@/lib/format";

export const dynamic = "force-dynamic";
export const metadata = { title: "Pipeline" };

export default async function PipelinePage({
  params,
  searchParams,
}: {
  params: Promise<{ name: string }>;
  searchParams: Promise<Record<string, string | undefined>>;
}) {
  const principal = await requirePagePrincipal("read");
  const canWrite = scopeAllows(principal.scope, "write");
  const canAdmin = scopeAllows(principal.scope, "admin");
  const parsed = pipelineIdParams.safeParse({ id: decodeURIComponent((await params).name) });
  if (!parsed.success) notFound();
  const name = parsed.data.id;
  const search = await searchParams;
  let pipeline;
  try {
    pipeline = await getPipeline(name, principal);
  } catch (error) {
    if (isAppError(error) && error.code === "not_found") notFound();
    throw error;
  }
  const history = await listAtLinkCursor(`/pipelines/${encodeURIComponent(name)}`, search, (cursor) => listPipelineHistory(name, pageQuery.parse({ cursor })));
  const jobNames = await jobNamesOf(history.items);
  return (
    <>
      <AutoRefresh active={history.items.some((run) => run.status === "running")} />
      <PageHeader
        title={pipeline.name}
        description={
          <>
            {pipeline.description ? withFullStop(pipeline.description) : "No description."} Stored as <code>{pipeline.file}</code> in the pipelines volume.
          </>
        }
      />
      <div className="mb-6 grid grid-cols-1 gap-6 lg:grid-cols-3">
        <Card title="Definition" className="lg:col-span-2">
          <PipelineEditor name={pipeline.name} initialText={pipeline.config} canWrite={canWrite} />
        </Card>
        <div className="space-y-6">
          <Card title="Used by">
            {pipeline.jobs.length === 0 ? (
              <p className="text-sm text-slate-500">No job runs this pipeline yet.</p>
            ) : (
              <ul className="space-y-1 text-sm">
                {pipeline.jobs.map((job) => (
                  <li key={job.id}>
                    <Link href={`/jobs/${encodeURIComponent(job.id)}`} className="text-sky-700 hover:underline">
                      {job.name}
                    </Link>
                  </li>
                ))}
              </ul>
            )}
            <p className="mt-3 text-xs text-slate-500">
              {pipeline.steps === null || pipeline.steps === undefined ? "? steps" : formatCountOf(pipeline.steps, "step")},{" "}
              {pipeline.enabled ? <Badge tone="green">enabled</Badge> : <Badge>disabled</Badge>}
            </p>
          </Card>
          {canWrite && pipeline.valid && (
            <Card title="Test run">
              <TestRunPipeline name={pipeline.name} />
            </Card>
          )}
          {canWrite && (
            <Card title="Clone">
              <ClonePipeline name={pipeline.name} />
            </Card>
          )}
          {canAdmin && <DeletePipeline name={pipeline.name} jobs={pipeline.jobs} />}
          {canWrite && <PluginHelp plugins={listPlugins()} />}
        </div>
      </div>
      <Card title="Run history">
        <ExecutionsTable
          items={history.items}
          jobNames={jobNames}
          empty={
            canWrite
              ? "No runs of this pipeline yet. Schedule it in a job, then use “Run now” (a test run above is not kept in this history)."
              : "No runs of this pipeline yet."
          }
        />
        <Pager
          basePath={`/pipelines/${encodeURIComponent(pipeline.name)}`}
          params={search}
          nextCursor={history.next_cursor}
          hasCursor={Boolean(search.cursor)}
          nextLabel="Older runs"
        />
      </Card>
    </>
  );
}

/** A description ends its sentence before the next one starts. */
function withFullStop(text: string): string {
  const trimmed = text.trim();
  return /[.!?…:]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
