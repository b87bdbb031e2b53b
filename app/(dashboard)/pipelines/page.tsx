import Link from "next/link";
import { Pager } from "@/app/_components/pager";
import { Badge, statusTone } from "@/app/_components/ui/badge";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { formatAge } from "@/lib/format";
import { listPipelinesQuery } from "@/lib/pipelines/inputs";
import { listPipelines } from "@/lib/pipelines/service";
import { listAtLinkCursor, requirePagePrincipal } from "@/lib/pages";
import { scopeAllows } from "@/lib/auth/scopes";
import { DataTable } from "@/app/_components/ui/data-table";
import { EmptyState } from "@/app/_components/ui/empty-state";

export const dynamic = "force-dynamic";
export const metadata = { title: "Pipelines" };

export default async function PipelinesPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const principal = await requirePagePrincipal("read");
  const canWrite = scopeAllows(principal.scope, "write");
  const params = await searchParams;
  const page = await listAtLinkCursor("/pipelines", params, (cursor) => listPipelines(listPipelinesQuery.parse({ cursor })));
  return (
    <>
      <PageHeader
        title="Pipelines"
        description="Pipeline YAML, kept in the database and as files in the pipelines volume: a file added or edited there by hand shows up here."
        actions={
          canWrite && (
            <Link href="/pipelines/new" className="rounded-md bg-slate-900 px-3.5 py-2 text-sm font-semibold text-white shadow-sm hover:bg-slate-700">
              New pipeline
            </Link>
          )
        }
      />
      <Card>
        {page.items.length === 0 ? (
          <EmptyState>{canWrite ? "No pipelines yet. Create one, or drop a YAML file into the pipelines volume." : "No pipelines yet."}</EmptyState>
        ) : (
          <DataTable
            columns={[{ label: "Name" }, { label: "Description" }, { label: "Steps" }, { label: "Jobs using it" }, { label: "Last run" }]}
            label="Pipelines"
          >
            {page.items.map((pipeline) => (
              <tr key={pipeline.name} data-testid={`pipeline-row-${pipeline.name}`}>
                <td className="py-2 pr-4">
                  <Link href={`/pipelines/${encodeURIComponent(pipeline.name)}`} className="font-medium text-sky-700 hover:underline">
                    {pipeline.name}
                  </Link>
                  {!pipeline.valid && (
                    <span className="ml-2">
                      <Badge tone="red">invalid</Badge>
                    </span>
                  )}
                  {!pipeline.enabled && (
                    <span className="ml-2">
                      <Badge>disabled</Badge>
                    </span>
                  )}
                </td>
                <td className="py-2 pr-4 text-slate-600">{pipeline.description ?? ""}</td>
                <td className="py-2 pr-4 tabular-nums">{pipeline.steps ?? "—"}</td>
                <td className="py-2 pr-4 tabular-nums">{pipeline.jobs_using}</td>
                <td className="py-2">
                  {pipeline.last_run ? (
                    <>
                      <Badge tone={statusTone(pipeline.last_run.status)}>{pipeline.last_run.status}</Badge>{" "}
                      <span className="text-xs text-slate-500">{formatAge(pipeline.last_run.start_time)}</span>
                    </>
                  ) : (
                    <span className="text-slate-500">never</span>
                  )}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
        <Pager basePath="/pipelines" params={params} nextCursor={page.next_cursor} hasCursor={Boolean(params.cursor)} />
      </Card>
    </>
  );
}
