"use client";

import { Pager, usePagedList } from "@/app/_components/paged-list";
import { EmptyState } from "@/app/_components/ui/empty-state";
import { Badge } from "@/app/_components/ui/badge";
import { auditKeys } from "@/lib/audit/hooks";
import type { AuditEntryDto } from "@/lib/audit/types";
import { formatTimestamp } from "@/lib/format";
import type { Page } from "@/lib/pagination";
import { DataTable } from "@/app/_components/ui/data-table";

const RESULT_TONE = { ok: "green", denied: "amber", failed: "red" } as const;

export function AuditPanel({ initialData, retentionDays }: { initialData: Page<AuditEntryDto>; retentionDays: number }) {
  const list = usePagedList(auditKeys.all, "/api/v1/audit?limit=25", initialData);
  return (
    <div>
      <p className="mb-3 text-sm text-slate-600">Every change and every refused attempt, newest first; kept for {retentionDays} days.</p>
      {list.items.length === 0 ? (
        <EmptyState>Nothing recorded yet.</EmptyState>
      ) : (
        <DataTable columns={[{ label: "When" }, { label: "Who" }, { label: "What" }, { label: "Target" }, { label: "From" }, { label: "Result" }]}>
          {list.items.map((entry) => (
            <tr key={entry.id} data-audit-action={entry.action}>
              <td className="whitespace-nowrap py-2 pr-4 text-xs text-slate-600">{formatTimestamp(entry.at)}</td>
              <td className="py-2 pr-4">
                {entry.actor} <span className="text-xs text-slate-500">({entry.actor_type})</span>
              </td>
              <td className="py-2 pr-4 font-mono text-xs">{entry.action}</td>
              <td className="max-w-xs break-all py-2 pr-4 font-mono text-xs text-slate-600">{entry.target ?? "—"}</td>
              <td className="py-2 pr-4 text-xs text-slate-600">{entry.ip ?? "—"}</td>
              <td className="py-2">
                <Badge tone={RESULT_TONE[entry.result]}>{entry.result}</Badge>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <Pager label="Audit log" pageNumber={list.pageNumber} next={list.next} previous={list.previous} />
    </div>
  );
}
