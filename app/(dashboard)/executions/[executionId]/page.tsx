import Link from "next/link";
import { jobNamesOf } from "@/lib/jobs/service";
import { notFound } from "next/navigation";
import { AutoRefresh } from "@/app/_components/auto-refresh";
import { Badge, statusTone } from "@/app/_components/ui/badge";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { LogViewer } from "@/app/(dashboard)/executions/[executionId]/log-viewer";
import { StopButton } from "@/app/(dashboard)/executions/[executionId]/stop-button";
import { isAppError } from "@/lib/errors";
import { executionIdParams } from "@/lib/executions/inputs";
import { getExecution } from "@/lib/executions/service";
import { formatDuration, formatTimestamp } from "@/lib/format";
import { requirePagePrincipal } from "@/lib/pages";
import { scopeAllows } from "@/lib/auth/scopes";
import { DataTable } from "@/app/_components/ui/data-table";
import { NS_PER_MS } from "@/lib/time";

export const dynamic = "force-dynamic";
export const metadata = { title: "Run" };

export default async function ExecutionPage({ params }: { params: Promise<{ executionId: string }> }) {
  const principal = await requirePagePrincipal("read");
  const canWrite = scopeAllows(principal.scope, "write");
  const parsed = executionIdParams.safeParse({ id: decodeURIComponent((await params).executionId) });
  if (!parsed.success) notFound();
  let run;
  try {
    run = await getExecution(parsed.data.id);
  } catch (error) {
    if (isAppError(error) && error.code === "not_found") notFound();
    throw error;
  }
  const running = run.status === "running";
  const jobName = (await jobNamesOf([run])).get(run.job_id);
  return (
    <>
      <AutoRefresh active={running} />
      <PageHeader
        title={`Run of ${jobName ?? run.job_id}`}
        description={
          <>
            <span data-testid="run-status">
              <Badge tone={statusTone(run.status)}>{run.status}</Badge>
            </span>{" "}
            Execution <code>{run.id}</code>
          </>
        }
        actions={running && canWrite ? <StopButton id={run.id} /> : undefined}
      />
      <div className="mb-6 grid grid-cols-1 gap-6 lg:grid-cols-3">
        <Card title="Run">
          <dl className="space-y-2 text-sm">
            {[
              [
                "Job",
                <Link key="job" href={`/jobs/${encodeURIComponent(run.job_id)}`} className="text-sky-700 hover:underline" title={run.job_id}>
                  {jobName ?? run.job_id}
                </Link>,
              ],
              [
                "Pipeline",
                <Link key="pipeline" href={`/pipelines/${encodeURIComponent(run.pipeline)}`} className="text-sky-700 hover:underline">
                  {run.pipeline}
                </Link>,
              ],
              ["Triggered by", run.triggered_by],
              ["Started", formatTimestamp(run.start_time)],
              ["Ended", formatTimestamp(run.end_time)],
              ["Duration", run.duration === null ? "—" : formatDuration(run.duration / NS_PER_MS)],
            ].map(([label, value]) => (
              <div key={String(label)} className="flex gap-2">
                <dt className="w-28 shrink-0 text-slate-500">{label}</dt>
                <dd className="min-w-0 tabular-nums">{value}</dd>
              </div>
            ))}
          </dl>
          {run.error && (
            <p role="status" className="mt-3 rounded-md bg-red-50 p-2 text-sm text-red-800">
              {run.error}
            </p>
          )}
        </Card>
        <Card title="Steps" className="lg:col-span-2">
          {run.steps.length === 0 ? (
            <p className="text-sm text-slate-500">{running ? "The first step has not finished yet." : "No step ran."}</p>
          ) : (
            <DataTable
              columns={[{ label: "Step" }, { label: "Plugin" }, { label: "Status" }, { label: "Duration" }, { label: "Output or error" }]}
              label="Steps"
            >
              {run.steps.map((step, index) => (
                <tr key={index} className="align-top">
                  <td className="py-2 pr-4 font-medium">{step.step_name}</td>
                  <td className="py-2 pr-4">
                    <code className="text-xs">{step.plugin}</code>
                  </td>
                  <td className="py-2 pr-4">
                    <Badge tone={statusTone(step.status)}>{step.status}</Badge>
                  </td>
                  <td className="py-2 pr-4 tabular-nums">
                    {step.duration === null || step.duration === undefined ? "—" : formatDuration(step.duration / NS_PER_MS)}
                  </td>
                  <td className="max-w-md py-2">
                    {step.error ? (
                      <span className="text-red-700">{step.error}</span>
                    ) : (
                      <code className="break-all text-xs text-slate-600">{step.output ?? ""}</code>
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
          )}
        </Card>
      </div>
      <Card title="Log">
        <LogViewer id={run.id} />
      </Card>
    </>
  );
}
