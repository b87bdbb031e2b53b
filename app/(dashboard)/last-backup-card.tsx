import Link from "next/link";
import { Badge } from "@/app/_components/ui/badge";
import { Card, Stat } from "@/app/_components/ui/card";
import { formatAge, formatBytes, formatTimestamp } from "@/lib/format";
import type { BackupDto } from "@/lib/backups/types";
import type { OperationDto } from "@/lib/operations/types";
import { BackUpNow } from "./back-up-now";
import { FailedBackupNotice } from "./backups/backup-operations";

/** The newest set from the catalog (no walk of the backup folder), and Back up now for writers. */
export function LastBackupCard({
  latest,
  failed,
  scheduled,
  running,
  canWrite,
}: {
  latest: BackupDto | null;
  /** the latest backup attempt when it did not succeed */
  failed: OperationDto | null;
  scheduled: boolean;
  running: OperationDto[];
  canWrite: boolean;
}) {
  const failedSinceLatest = failed !== null && (!latest || latest.created_at < failed.created_at);
  return (
    <Card
      title="Last backup"
      actions={
        <Link href="/backups" className="text-xs font-medium text-sky-700 hover:underline">
          All sets
        </Link>
      }
    >
      <div className="grid grid-cols-2 gap-4 sm:grid-cols-4">
        <Stat
          label="Made"
          value={<span data-testid="last-backup-age">{formatAge(latest?.created_at)}</span>}
          hint={latest ? formatTimestamp(latest.created_at) : "no set yet"}
        />
        <Stat label="Size" value={latest ? formatBytes(latest.bytes) : "—"} hint={latest ? latest.id : undefined} />
        <div>
          <div className="text-xs font-medium uppercase tracking-wide text-slate-500">Verified</div>
          <div className="mt-1" data-testid="last-backup-verified">
            {latest?.verify_status === "ok" && <Badge tone="green">verified</Badge>}
            {latest?.verify_status === "failed" && <Badge tone="red">failed</Badge>}
            {latest && latest.verify_status === null && <Badge>not yet</Badge>}
            {!latest && <span className="text-sm text-slate-500">—</span>}
          </div>
          {latest?.verified_at && <div className="mt-0.5 text-xs text-slate-500">{formatAge(latest.verified_at)}</div>}
        </div>
        <div>
          <div className="text-xs font-medium uppercase tracking-wide text-slate-500">Scheduled backups</div>
          <div className="mt-1" data-testid="last-backup-scheduled">
            <Badge tone={scheduled ? "green" : "slate"}>{scheduled ? "on" : "off"}</Badge>
          </div>
        </div>
      </div>
      {failedSinceLatest && (
        <div className="mt-4">
          <FailedBackupNotice operation={failed} />
        </div>
      )}
      <BackUpNow running={running} canWrite={canWrite} />
    </Card>
  );
}
