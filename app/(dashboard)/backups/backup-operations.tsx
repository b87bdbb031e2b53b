"use client";

import { useEffect, useState, useTransition } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { OperationProgress } from "@/app/_components/operation-progress";
import { Button } from "@/app/_components/ui/button";
import { operationKeys, useOperation } from "@/lib/operations/hooks";
import { formatBytes, formatTimestamp } from "@/lib/format";
import type { OperationDto } from "@/lib/operations/types";
import { cancelOperationAction, startBackupAction } from "./actions";

/**
 * Shared by the Backups page and the Overview's last backup card, so both start a backup the same
 * way and describe its outcome in the same words.
 */

const KIND_LABEL: Record<string, string> = {
  backup: "Backup",
  verify: "Verify",
  restore: "Restore",
  import: "Import",
  offsite_copy: "Offsite copy",
  offsite_pull: "Pull",
};

/** Starts a manual backup; hands the new operation to `onStarted`, or the refusal's message to `onError`. */
export function BackUpNowButton({
  onStarted,
  onError,
  busy = false,
}: {
  onStarted: (op: OperationDto) => void;
  onError: (message: string | null) => void;
  busy?: boolean;
}) {
  const [pending, startTransition] = useTransition();
  const start = () =>
    startTransition(async () => {
      onError(null);
      const result = await startBackupAction({});
      if (result.ok) onStarted(result.data);
      else onError(result.error.message);
    });
  return (
    <Button onClick={start} disabled={pending || busy} title={busy ? "A backup is running" : undefined}>
      Back up now
    </Button>
  );
}

/** What stopping each kind of operation loses, said in its confirmation. */
const CANCEL_CONSEQUENCE: Record<string, string> = {
  backup: "The half-written set is removed; no new set is listed.",
  verify: "The set keeps its last verification result.",
  import: "The upload is discarded; nothing is listed.",
};

/**
 * Follows one operation; when it finishes, `onFinished` runs once so the caller can refresh its data.
 * With `canCancel`, a running backup, verify or import can be stopped (after a confirmation); a
 * finished one can be dismissed with `onDismiss`.
 */
export function FollowedOperation({
  id,
  kind,
  initial,
  onFinished,
  canCancel = false,
  onDismiss,
}: {
  id: string;
  kind: string;
  initial?: OperationDto;
  onFinished: () => void;
  canCancel?: boolean;
  onDismiss?: () => void;
}) {
  const { data } = useOperation(id, initial);
  const finished = data !== undefined && data.status !== "running";
  useEffect(() => {
    if (finished) onFinished();
    // onFinished is a fresh closure each render; only the transition to finished matters.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [finished]);
  const label = KIND_LABEL[kind] ?? kind;
  const cancellable = canCancel && !finished && kind in CANCEL_CONSEQUENCE;
  return (
    <div className="flex items-start gap-3">
      <div className="min-w-0 flex-1">
        <OperationProgress
          id={id}
          label={label}
          initialData={initial}
          renderResult={(op) => <span>{describeResult(label, op.result as Record<string, unknown> | null)}</span>}
        />
      </div>
      {cancellable && <CancelOperation id={id} label={label} consequence={CANCEL_CONSEQUENCE[kind]!} />}
      {finished && onDismiss && (
        <Button variant="secondary" className="px-2 py-0.5 text-xs" onClick={onDismiss} aria-label={`Dismiss this ${label.toLowerCase()} message`}>
          Dismiss
        </Button>
      )}
    </div>
  );
}

/** "Cancel…" then an inline confirmation naming what is lost: stopping loses only the work in progress, so no password is asked. */
function CancelOperation({ id, label, consequence }: { id: string; label: string; consequence: string }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  const queryClient = useQueryClient();
  const cancel = () =>
    startTransition(async () => {
      setError(null);
      const result = await cancelOperationAction({ operationId: id });
      if (!result.ok) setError(result.error.message);
      else {
        setConfirming(false);
        await queryClient.invalidateQueries({ queryKey: operationKeys.one(id) });
      }
    });
  if (!confirming) {
    return (
      <Button variant="secondary" className="px-2 py-0.5 text-xs" onClick={() => setConfirming(true)}>
        Cancel {label.toLowerCase()}…
      </Button>
    );
  }
  return (
    <div role="group" aria-label={`Cancel this ${label.toLowerCase()}?`} className="max-w-xs space-y-1 text-xs">
      <p className="text-slate-700">
        Stop this {label.toLowerCase()}? {consequence}
      </p>
      <div className="flex gap-2">
        <Button variant="danger" className="px-2 py-0.5 text-xs" disabled={pending} onClick={cancel}>
          Stop {label.toLowerCase()}
        </Button>
        <Button variant="secondary" className="px-2 py-0.5 text-xs" disabled={pending} onClick={() => setConfirming(false)}>
          Keep it running
        </Button>
      </div>
      {error && (
        <p role="alert" className="text-red-700">
          {error}
        </p>
      )}
    </div>
  );
}

/** The latest backup attempt did not succeed: said where people look, with when and why. */
export function FailedBackupNotice({ operation }: { operation: OperationDto }) {
  const when = formatTimestamp(operation.finished_at ?? operation.created_at);
  const interrupted = operation.error?.code === "interrupted";
  const headline = interrupted
    ? `The last backup was interrupted at ${when} (the server stopped).`
    : operation.status === "cancelled"
      ? `The last backup was cancelled at ${when}.`
      : `The last backup failed at ${when}.`;
  return (
    <p role="alert" data-testid="failed-backup" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-inset ring-amber-200">
      {headline} {operation.error?.message && !interrupted ? operation.error.message : null} Nothing of it was kept; back up again to get a new set.
    </p>
  );
}

function describeResult(label: string, result: Record<string, unknown> | null): string {
  if (!result) return `${label} finished.`;
  if (label === "Backup" && result.trigger === "pre-restore")
    return `Safety set ${String(result.backup_id)} written (${formatBytes(Number(result.bytes))}) from the state the restore replaced; its drill follows.`;
  if (label === "Backup")
    return `Backup ${String(result.backup_id)} written (${formatBytes(Number(result.bytes))}) and ${result.verify_status === "ok" ? "verified" : "not verified"}.`;
  if (label === "Restore") {
    // Not "being verified now": this line outlives the moment; the list below shows the set's real verification.
    const safety = result.safety_backup_id
      ? ` The state before it is kept aside and written as safety set ${String(result.safety_backup_id)} (its progress and verification are shown on this page).`
      : "";
    const checked = result.database_check ? ` (database checked with ${String(result.database_check)})` : "";
    return `Restored ${String(result.backup_id)}${checked}.${safety}`;
  }
  if (label === "Verify") return `Backup ${String(result.backup_id)} passed the restore drill.`;
  if (label === "Offsite copy") return `Backup ${String(result.backup_id)} copied offsite and proven intact there.`;
  if (label === "Pull")
    return `Backup ${String(result.backup_id)} pulled (${formatBytes(Number(result.bytes))}, every archive matched its manifest)${result.verify_status === "ok" ? " and verified" : `; not verified: ${String(result.verify_error)}`}.`;
  return `${label} of ${String(result.backup_id)} finished.`;
}
