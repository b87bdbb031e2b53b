"use client";

import { useEffect, useTransition } from "react";
import { OperationProgress } from "@/app/_components/operation-progress";
import { Button } from "@/app/_components/ui/button";
import { useOperation } from "@/lib/operations/hooks";
import { formatBytes } from "@/lib/format";
import type { OperationDto } from "@/lib/operations/types";
import { startBackupAction } from "./actions";

/**
 * Shared by the Backups page and the Overview's last backup card, so both start a backup the same
 * way and describe its outcome in the same words.
 */

const KIND_LABEL: Record<string, string> = { backup: "Backup", verify: "Verify", restore: "Restore", import: "Import" };

/** Starts a manual backup; hands the new operation to `onStarted`, or the refusal's message to `onError`. */
export function BackUpNowButton({ onStarted, onError }: { onStarted: (op: OperationDto) => void; onError: (message: string | null) => void }) {
  const [pending, startTransition] = useTransition();
  const start = () =>
    startTransition(async () => {
      onError(null);
      const result = await startBackupAction({});
      if (result.ok) onStarted(result.data);
      else onError(result.error.message);
    });
  return (
    <Button onClick={start} disabled={pending}>
      Back up now
    </Button>
  );
}

/** Follows one operation; when it finishes, `onFinished` runs once so the caller can refresh its data. */
export function FollowedOperation({ id, kind, initial, onFinished }: { id: string; kind: string; initial?: OperationDto; onFinished: () => void }) {
  const { data } = useOperation(id, initial);
  const finished = data !== undefined && data.status !== "running";
  useEffect(() => {
    if (finished) onFinished();
    // onFinished is a fresh closure each render; only the transition to finished matters.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [finished]);
  const label = KIND_LABEL[kind] ?? kind;
  return (
    <OperationProgress
      id={id}
      label={label}
      initialData={initial}
      renderResult={(op) => <span>{describeResult(label, op.result as Record<string, unknown> | null)}</span>}
    />
  );
}

function describeResult(label: string, result: Record<string, unknown> | null): string {
  if (!result) return `${label} finished.`;
  if (label === "Backup") return `Backup ${String(result.backup_id)} written (${formatBytes(Number(result.bytes))}) and ${result.verify_status === "ok" ? "verified" : "not verified"}.`;
  if (label === "Restore") {
    const safety = result.safety_backup_id ? ` The state before it is kept as safety backup ${String(result.safety_backup_id)}, which is being verified now.` : "";
    const checked = result.database_check ? ` (database checked with ${String(result.database_check)})` : "";
    return `Restored ${String(result.backup_id)}${checked}.${safety}`;
  }
  if (label === "Verify") return `Backup ${String(result.backup_id)} passed the restore drill.`;
  return `${label} of ${String(result.backup_id)} finished.`;
}
