import Link from "next/link";
import { Badge, statusTone } from "@/app/_components/ui/badge";
import { formatDuration, formatTimestamp } from "@/lib/format";
import type { ExecutionSummary } from "@/lib/executions/types";
import { DataTable } from "@/app/_components/ui/data-table";
import { EmptyState } from "@/app/_components/ui/empty-state";
import { NS_PER_MS } from "@/lib/time";

/** History rows; the caller renders the pager and the empty state's wording, and names the jobs (`jobNames`, by id) when it shows them. */
export function ExecutionsTable({
  items,
  empty,
  showJob = true,
  jobNames,
}: {
  items: ExecutionSummary[];
  empty: string;
  showJob?: boolean;
  jobNames?: Map<string, string>;
}) {
  if (items.length === 0) return <EmptyState>{empty}</EmptyState>;
  return (
    <DataTable
      columns={[
        { label: "Started" },
        { label: "Status" },
        showJob && { label: "Job" },
        { label: "Pipeline" },
        { label: "Duration" },
        { label: "Trigger" },
        { label: "Error" },
      ]}
      label="Executions"
    >
      {items.map((run) => (
        <tr key={run.id} className="align-top">
          <td className="py-2 pr-4 whitespace-nowrap tabular-nums">
            <Link href={`/executions/${encodeURIComponent(run.id)}`} className="font-medium text-sky-700 hover:underline">
              {formatTimestamp(run.start_time)}
            </Link>
          </td>
          <td className="py-2 pr-4">
            <Badge tone={statusTone(run.status)}>{run.status}</Badge>
          </td>
          {showJob && (
            <td className="py-2 pr-4">
              <Link href={`/jobs/${encodeURIComponent(run.job_id)}`} className="hover:underline" title={run.job_id}>
                {jobNames?.get(run.job_id) ?? run.job_id}
              </Link>
            </td>
          )}
          <td className="py-2 pr-4 whitespace-nowrap">{run.pipeline}</td>
          <td className="py-2 pr-4 tabular-nums">{run.duration === null ? "—" : formatDuration(run.duration / NS_PER_MS)}</td>
          <td className="py-2 pr-4 text-slate-600">{run.triggered_by}</td>
          <td className="py-2 text-red-700">
            {/* A table cell does not keep its max-width; the block inside does: two lines, the rest on hover. */}
            <div className="line-clamp-2 w-64 max-w-64 break-words" title={run.error ?? undefined}>
              {run.error ?? ""}
            </div>
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
