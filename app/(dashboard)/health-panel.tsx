"use client";

import { Badge, statusTone } from "@/app/_components/ui/badge";
import { Card } from "@/app/_components/ui/card";
import { formatBytes, formatCountOf, formatTimestamp } from "@/lib/format";
import { useHealth } from "@/lib/health/hooks";
import type { HealthReport } from "@/lib/health/types";

export function HealthPanel({ initialData }: { initialData: HealthReport }) {
  const { data, isFetching, error } = useHealth(initialData);
  // The storage alerts (the last reasons) are in the banner above: counted here, not repeated.
  const reasons = data.reasons.slice(0, data.reasons.length - data.storage_alerts);
  return (
    <Card
      title="Health"
      actions={
        <span className="text-xs text-slate-500">
          {error ? "cannot reach the server" : isFetching ? "refreshing…" : `checked ${formatTimestamp(data.time)}`}
        </span>
      }
    >
      <div className="flex items-center gap-3">
        <span className="text-lg font-semibold" data-testid="health-status">
          <Badge tone={statusTone(data.status)}>{data.status}</Badge>
        </span>
        <span className="text-sm text-slate-600">
          {data.persistence.backend} database {data.persistence.status}
          {data.persistence.schema_version ? `, schema v${data.persistence.schema_version}` : ""}
        </span>
      </div>
      {reasons.length + data.storage_alerts > 0 && (
        <ul className="mt-3 list-disc space-y-1 pl-5 text-sm text-amber-800" data-testid="health-reasons">
          {reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
          {data.storage_alerts > 0 && <li>{formatCountOf(data.storage_alerts, "storage alert")}, shown at the top of the page</li>}
        </ul>
      )}
      <dl className="mt-4 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-2">
        <Row label="Database" value={<code className="break-all text-xs">{data.persistence.path}</code>} />
        <Row
          label="Vector database"
          value={data.vector_db.enabled ? (data.vector_db.exists ? formatBytes(data.vector_db.bytes) : "enabled, no file yet") : "disabled"}
        />
        <Row label="Up for" value={`${Math.floor(data.uptime_seconds / 60)} min`} />
      </dl>
    </Card>
  );
}

function Row({ label, value }: { label: string; value: React.ReactNode }) {
  return (
    <div className="flex gap-2">
      <dt className="w-32 shrink-0 text-slate-500">{label}</dt>
      <dd className="min-w-0 text-slate-800">{value}</dd>
    </div>
  );
}
