import { Badge } from "@/app/_components/ui/badge";
import { formatAge } from "@/lib/format";
import type { StorageAlert } from "@/lib/storage/types";

/** Storage alerts with their cause and fix; `emptyText` says what no alert means here. */
export function AlertList({ alerts, emptyText }: { alerts: StorageAlert[]; emptyText: string }) {
  if (alerts.length === 0) return <p className="text-sm text-slate-500">{emptyText}</p>;
  return (
    <ul className="divide-y divide-slate-100" data-testid="alert-list">
      {alerts.map((alert) => (
        <li key={alert.key} className="flex gap-3 py-2.5 first:pt-0 last:pb-0">
          <div className="pt-0.5">
            <Badge tone={alert.state === "raised" ? "red" : "green"}>{alert.state}</Badge>
          </div>
          <div className="min-w-0 text-sm">
            <div className="font-medium text-slate-900">
              {alert.key}
              <span className="ml-2 text-xs font-normal text-slate-500">
                {alert.state === "raised" ? `since ${formatAge(alert.raised_at)}` : `cleared ${formatAge(alert.cleared_at)}`}
              </span>
            </div>
            <p className="text-slate-600">{alert.message}</p>
          </div>
        </li>
      ))}
    </ul>
  );
}
