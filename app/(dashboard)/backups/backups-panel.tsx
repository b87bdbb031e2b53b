"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Badge } from "@/app/_components/ui/badge";
import { Button } from "@/app/_components/ui/button";
import { Card } from "@/app/_components/ui/card";
import { backupKeys, useBackups } from "@/lib/backups/hooks";
import { formatAge, formatBytes, formatCountOf, formatTimestamp } from "@/lib/format";
import type { ActionResult } from "@/lib/actions";
import type { Page } from "@/lib/pagination";
import type { OperationDto } from "@/lib/operations/types";
import { useLatestOperation } from "@/lib/operations/hooks";
import type { BackupDto, BackupVolume, PruneResult } from "@/lib/backups/types";
import type { BackupWithCopiesDto, CopyDto } from "@/lib/offsite/types";
import { ProgressBar } from "@/app/_components/ui/progress-bar";
import { VOLUMES } from "@/lib/config/volumes";
import { ConfirmDialog } from "@/app/_components/confirm-dialog";
import {
  copyBackupAction,
  deleteBackupAction,
  pinBackupAction,
  previewPruneAction,
  pruneBackupsAction,
  restoreBackupAction,
  verifyBackupAction,
} from "./actions";
import { BackUpNowButton, FailedBackupNotice, FollowedOperation } from "./backup-operations";
import { ImportSet } from "./import-set";
import { DataTable } from "@/app/_components/ui/data-table";
import { EmptyState } from "@/app/_components/ui/empty-state";

/** What each volume holds, said in the restore confirmation so nobody replaces one blindly. */
const VOLUME_CONTENTS: Record<BackupVolume, string> = {
  mimir_data: "the database: jobs, pipelines, execution history, operations, storage samples; the vector database",
  mimir_logs: "the application log and one log per execution",
  mimir_config: "config.yaml (the key of the channel secrets is not in sets; the live one stays)",
  mimir_plugins: "plugin executables",
  mimir_pipelines: "pipeline YAML files",
};

interface Props {
  page: Page<BackupWithCopiesDto>;
  /** whether any offsite destination is enabled: sets then offer "Copy offsite" */
  offsiteEnabled: boolean;
  cursor: string | null;
  pageSize: number;
  running: OperationDto[];
  /** the latest backup attempt, when it failed, was cancelled or was interrupted */
  failedBackup: OperationDto | null;
  canWrite: boolean;
  canAdmin: boolean;
}

/** How often the list is read again while a copy is pending or running, for its progress bar. */
const COPY_POLL_MS = 1500;
const moving = (copy: CopyDto) => copy.status === "pending" || copy.status === "copying";

export function BackupsPanel({ page, offsiteEnabled, cursor, pageSize, running, failedBackup, canWrite, canAdmin }: Props) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const { data } = useBackups(cursor, page, pageSize, (current) => (current?.items.some((set) => set.copies.some(moving)) ? COPY_POLL_MS : false));
  const [operations, setOperations] = useState<{ id: string; kind: string; initial?: OperationDto }[]>(
    running.map((op) => ({ id: op.id, kind: op.kind, initial: op })),
  );
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  const [restoring, setRestoring] = useState<BackupDto | null>(null);
  const [deleting, setDeleting] = useState<BackupDto | null>(null);

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: backupKeys.all });
    router.refresh();
  };

  const run = <T,>(action: () => Promise<ActionResult<T>>, onDone?: (data: T) => void) => {
    setError(null);
    startTransition(async () => {
      const result = await action();
      if (!result.ok) setError(result.error.message);
      else onDone?.(result.data);
    });
  };
  const follow = (op: OperationDto) => setOperations((current) => [{ id: op.id, kind: op.kind, initial: op }, ...current.filter((o) => o.id !== op.id)]);
  const dismiss = (id: string) => setOperations((current) => current.filter((o) => o.id !== id));
  // A backup started elsewhere (another tab, a script, the schedule) disables Back up now and is followed here too.
  const { data: latestBackup } = useLatestOperation("backup");
  const backupRunning = latestBackup?.status === "running";
  const shown =
    latestBackup && backupRunning && !operations.some((o) => o.id === latestBackup.id)
      ? [{ id: latestBackup.id, kind: latestBackup.kind, initial: latestBackup }, ...operations]
      : operations;
  // Said until a newer set exists or another backup is followed here (its own outcome then speaks).
  const newestSet = data.items[0]?.created_at;
  const showFailure =
    failedBackup !== null && (!newestSet || newestSet < failedBackup.created_at) && !shown.some((op) => op.kind === "backup" && op.id !== failedBackup.id);

  return (
    <div className="space-y-6">
      <Card title="Back up" actions={canWrite && <BackUpNowButton onStarted={follow} onError={setError} busy={backupRunning} />}>
        {showFailure && (
          <div className="mb-3">
            <FailedBackupNotice operation={failedBackup} />
          </div>
        )}
        {shown.length === 0 ? (
          <p className="text-sm text-slate-600">
            A backup snapshots the database while the app keeps running, archives the five volumes
            {/* An age is computed at render: the server's and the browser's may straddle a minute (React #418, B14). */}
            {data.items[0] && <span suppressHydrationWarning>{`; the last one was ${formatAge(data.items[0].created_at)}`}</span>}.
          </p>
        ) : (
          <ul className="space-y-4">
            {shown.map((op) => (
              <li key={op.id}>
                <FollowedOperation id={op.id} kind={op.kind} initial={op.initial} onFinished={refresh} canCancel={canWrite} onDismiss={() => dismiss(op.id)} />
              </li>
            ))}
          </ul>
        )}
        {error && (
          <p role="alert" className="mt-3 text-sm text-red-700">
            {error}
          </p>
        )}
        {canAdmin && (
          <div className="mt-4 border-t border-slate-100 pt-4">
            <ImportSet onStarted={follow} />
          </div>
        )}
      </Card>

      <Card title="Backup sets" actions={canAdmin && <PruneControls onDone={refresh} />}>
        {data.items.length === 0 ? (
          <EmptyState testId="backups-empty">{cursor ? "No older sets." : "No backup sets yet. Back up now, or turn scheduled backups on below."}</EmptyState>
        ) : (
          <DataTable
            columns={[
              { label: "Set" },
              { label: "Trigger" },
              { label: "Size" },
              { label: "Volumes" },
              { label: "Verified" },
              { label: "Offsite" },
              { label: "Actions", srOnly: true },
            ]}
          >
            {data.items.map((set) => (
              <tr key={set.id} data-backup-id={set.id} className="align-top">
                <td className="py-2 pr-4">
                  <div className="font-mono text-xs text-slate-900">{set.id}</div>
                  <div className="text-xs text-slate-500">{formatTimestamp(set.created_at)}</div>
                  <div className="mt-1 flex gap-1">
                    {set.encrypted ? <Badge tone="green">encrypted</Badge> : <Badge>not encrypted</Badge>}
                    {set.pinned && <Badge tone="blue">pinned</Badge>}
                  </div>
                </td>
                <td className="py-2 pr-4 text-slate-700">{set.trigger}</td>
                <td className="py-2 pr-4 tabular-nums text-slate-900">{formatBytes(set.bytes)}</td>
                <td className="py-2 pr-4">
                  <ul className="text-xs tabular-nums text-slate-600">
                    {set.volumes.map((v) => (
                      <li key={v.name}>
                        {v.name}: {formatBytes(v.bytes)} · {formatCountOf(v.files, "file")}
                      </li>
                    ))}
                  </ul>
                </td>
                <td className="py-2 pr-4">
                  {set.verify_status === "ok" && <Badge tone="green">verified</Badge>}
                  {set.verify_status === "failed" && <Badge tone="red">failed</Badge>}
                  {set.verify_status === null && <Badge>not yet</Badge>}
                  {set.verified_at && (
                    <div className="mt-1 text-xs text-slate-500" suppressHydrationWarning>
                      {formatAge(set.verified_at)}
                    </div>
                  )}
                  {set.verify_error && <div className="mt-1 max-w-xs text-xs text-red-700">{set.verify_error}</div>}
                </td>
                <td className="py-2 pr-4">
                  <OffsiteCopies
                    set={set}
                    canWrite={canWrite}
                    offsiteEnabled={offsiteEnabled}
                    pending={pending}
                    onCopy={(destinationId) => run(() => copyBackupAction({ backupId: set.id, destinationId }), refresh)}
                  />
                </td>
                <td className="py-2">
                  <div className="flex flex-wrap justify-end gap-2">
                    {canWrite && (
                      <Button
                        variant="secondary"
                        className="px-2.5 py-1 text-xs"
                        disabled={pending}
                        onClick={() => run(() => verifyBackupAction({ backupId: set.id }), follow)}
                      >
                        Verify
                      </Button>
                    )}
                    {canAdmin && (
                      <>
                        <a
                          href={`/api/v1/backups/${set.id}/download`}
                          className="inline-flex items-center rounded-md bg-white px-2.5 py-1 text-xs font-semibold text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 hover:bg-slate-50"
                        >
                          Download
                        </a>
                        <Button
                          variant="secondary"
                          className="px-2.5 py-1 text-xs"
                          disabled={pending}
                          onClick={() => run(() => pinBackupAction({ backupId: set.id, pinned: !set.pinned }), refresh)}
                        >
                          {set.pinned ? "Unpin" : "Pin"}
                        </Button>
                        <Button variant="secondary" className="px-2.5 py-1 text-xs" disabled={pending} onClick={() => setRestoring(set)}>
                          Restore…
                        </Button>
                        <Button variant="danger" className="px-2.5 py-1 text-xs" disabled={pending} onClick={() => setDeleting(set)}>
                          Delete…
                        </Button>
                      </>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
        {(cursor || data.next_cursor) && (
          <nav aria-label="Pages of sets" className="mt-4 flex justify-between text-sm">
            {cursor ? (
              <Link href="/backups" className="font-medium text-sky-700 hover:underline">
                ← Newest sets
              </Link>
            ) : (
              <span />
            )}
            {data.next_cursor && (
              <Link href={`/backups?cursor=${encodeURIComponent(data.next_cursor)}`} className="font-medium text-sky-700 hover:underline">
                Older sets →
              </Link>
            )}
          </nav>
        )}
      </Card>

      {restoring && (
        <RestoreDialog
          set={restoring}
          onCancel={() => setRestoring(null)}
          onStarted={(op) => {
            setRestoring(null);
            follow(op);
          }}
        />
      )}
      {deleting && (
        <ConfirmDialog
          open
          title={`Delete backup ${deleting.id}?`}
          confirmLabel="Delete set"
          onCancel={() => setDeleting(null)}
          onConfirm={(password) => deleteBackupAction({ backupId: deleting.id, reauth_password: password })}
          onDone={() => {
            setDeleting(null);
            refresh();
          }}
          consequences={
            <>
              The set from {formatTimestamp(deleting.created_at)} ({formatBytes(deleting.bytes)}, all five archives) is removed from disk for good.
              {deleting.verify_status === "ok" && " It is a verified set."}
            </>
          }
        />
      )}
    </div>
  );
}

function PruneControls({ onDone }: { onDone: () => void }) {
  const [preview, setPreview] = useState<PruneResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  const showPreview = () =>
    startTransition(async () => {
      setError(null);
      const result = await previewPruneAction({});
      if (result.ok) setPreview(result.data);
      else setError(result.error.message);
    });
  return (
    <>
      <Button variant="secondary" className="px-2.5 py-1 text-xs" disabled={pending} onClick={showPreview}>
        Prune…
      </Button>
      {error && (
        <span role="alert" className="text-xs text-red-700">
          {error}
        </span>
      )}
      {/* Nothing would go: said in place, since a confirmation would ask for a password to do nothing. */}
      {preview && (preview.skipped_reason !== null || preview.deleted.length === 0) && (
        <span role="status" className="text-xs text-slate-600" title={preview.kept.map((k) => `${k.id} (${k.reason})`).join(", ")}>
          {preview.skipped_reason ? `Pruning is paused: ${preview.skipped_reason}.` : "Nothing to prune: no set is old enough to go."}
        </span>
      )}
      {preview && preview.skipped_reason === null && preview.deleted.length > 0 && (
        <ConfirmDialog
          open
          title="Prune old backup sets"
          confirmLabel={`Delete ${formatCountOf(preview.deleted.length, "set")}`}
          onCancel={() => setPreview(null)}
          onConfirm={(password) => pruneBackupsAction({ reauth_password: password })}
          onDone={onDone}
          consequences={
            <>
              <span className="block">These sets would be deleted: {preview.deleted.join(", ")}.</span>
              {preview.kept.length > 0 && (
                <span className="mt-2 block text-xs text-slate-500">Kept: {preview.kept.map((k) => `${k.id} (${k.reason})`).join(", ")}</span>
              )}
            </>
          }
        />
      )}
    </>
  );
}

function RestoreDialog({ set, onCancel, onStarted }: { set: BackupDto; onCancel: () => void; onStarted: (op: OperationDto) => void }) {
  const [volumes, setVolumes] = useState<BackupVolume[]>([...VOLUMES]);
  const toggle = (volume: BackupVolume) => setVolumes((current) => (current.includes(volume) ? current.filter((v) => v !== volume) : [...current, volume]));
  return (
    <ConfirmDialog
      open
      title={`Restore backup ${set.id}?`}
      confirmLabel="Replace and restore"
      confirmDisabled={volumes.length === 0}
      requirePhrase={set.id}
      onCancel={onCancel}
      onConfirm={(password) =>
        restoreBackupAction({ backupId: set.id, confirm: set.id, volumes: VOLUMES.filter((v) => volumes.includes(v)), reauth_password: password })
      }
      onDone={onStarted}
      consequences={
        <>
          <span className="block">
            The checked volumes are <strong>replaced</strong> with their state from {formatTimestamp(set.created_at)}; every change made in them since then is
            lost. The set is verified first; the current state is kept aside as it is at the swap and written into a safety set once the restore is done.
          </span>
          <fieldset className="mt-3 space-y-1">
            <legend className="sr-only">Volumes to replace</legend>
            {VOLUMES.map((volume) => (
              <label key={volume} className="flex items-start gap-2 text-sm">
                <input type="checkbox" className="mt-1" checked={volumes.includes(volume)} onChange={() => toggle(volume)} />
                <span>
                  <span className="font-mono text-xs">{volume}</span> <span className="text-slate-500">— {VOLUME_CONTENTS[volume]}</span>
                </span>
              </label>
            ))}
          </fieldset>
          {volumes.includes("mimir_data") && (
            <span className="mt-3 block">
              Replacing mimir_data does <strong>not</strong> roll back access or the audit trail: users, passwords, roles, disabled accounts, API tokens (with
              their revocations and expiries), sessions and the audit log stay as they are now, so you stay signed in and this restore is itself recorded. The
              notification channels stay as they are now too (a channel deleted or disabled since the set does not come back). Only a set from another
              deployment (moving to a new host) brings its own users, tokens and channels; the audit rows written here are then kept after its own.
            </span>
          )}
        </>
      }
    />
  );
}

/** How a copy was proven equal to the set, in the column (short) and its tooltip (how, exactly). */
type OffsiteCopyProof = NonNullable<CopyDto["verified_by"]>;
const PROOF_LABELS: Record<OffsiteCopyProof, string> = {
  "server-sha256": "proven by the server's sha256",
  "read-back": "proven by reading it back",
};
const PROOF_DETAILS: Record<OffsiteCopyProof, string> = {
  "server-sha256": "The server computed the sha256 of each file from the bytes on its own disk, and each matched the set's manifest.",
  "read-back":
    "Every file was read back from the destination and hashed here (for some, the server offers no checksum of its own), and each sha256 matched the set's manifest.",
};

/** A set's copies at each destination: status, how it was proven, a progress bar while moving, the error and Retry when one failed. */
function OffsiteCopies({
  set,
  canWrite,
  offsiteEnabled,
  pending,
  onCopy,
}: {
  set: BackupWithCopiesDto;
  canWrite: boolean;
  offsiteEnabled: boolean;
  pending: boolean;
  onCopy: (destinationId?: string) => void;
}) {
  const verified = set.verify_status === "ok";
  return (
    <div className="min-w-40 space-y-2 text-xs" data-testid="offsite-copies">
      {set.copies.map((copy) => (
        <div key={copy.destination} data-copy-destination={copy.destination_name}>
          <div className="flex items-center gap-1">
            <span className="text-slate-700">{copy.destination_name}</span>
            <Badge tone={copy.status === "verified" ? "green" : copy.status === "failed" ? "red" : "blue"}>
              {copy.status === "verified" ? "copied" : copy.status}
            </Badge>
          </div>
          {copy.status === "verified" && copy.verified_by && (
            <p className="text-slate-500" title={PROOF_DETAILS[copy.verified_by]}>
              {PROOF_LABELS[copy.verified_by]}
            </p>
          )}
          {moving(copy) && <ProgressBar done={copy.bytes} total={copy.total_bytes} unit="bytes" label={`Copy to ${copy.destination_name}`} />}
          {copy.status === "failed" && (
            <div role="alert" className="mt-1 max-w-xs text-red-700">
              {copy.error}{" "}
              {canWrite && verified && (
                <Button variant="secondary" className="px-2 py-0.5 text-xs" disabled={pending} onClick={() => onCopy(copy.destination)}>
                  Retry
                </Button>
              )}
            </div>
          )}
        </div>
      ))}
      {set.copies.length === 0 && <span className="text-slate-500">{offsiteEnabled ? "not copied" : "no destination"}</span>}
      {!set.encrypted && (set.copies.length > 0 || offsiteEnabled) && (
        <p className="max-w-xs text-amber-800">Not encrypted: its copies leave this host readable by whoever holds the destination.</p>
      )}
      {canWrite && offsiteEnabled && verified && !set.copies.some(moving) && set.copies.every((copy) => copy.status !== "failed") && (
        <Button variant="secondary" className="px-2 py-0.5 text-xs" disabled={pending} onClick={() => onCopy()}>
          {set.copies.length > 0 ? "Copy again" : "Copy offsite"}
        </Button>
      )}
    </div>
  );
}
