import "server-only";
import { listOperations } from "@/lib/operations/service";
import type { OperationDto } from "@/lib/operations/types";

// What the Backups page follows: its kinds of operation, running or just finished.

const PAGE_OPERATION_KINDS = new Set(["backup", "verify", "restore", "import"]);

/** How long a finished restore's outcome stays on the Backups page. */
const RECENT_RESTORE_MS = 15 * 60_000;

/** Backup, verify, restore and import operations still running: a page picks their progress up again after a reload. */
export async function listRunningBackupOperations(): Promise<OperationDto[]> {
  return runningBackupOperations((await listOperations({ limit: 50 })).items);
}

function runningBackupOperations(operations: OperationDto[]): OperationDto[] {
  return operations.filter((op) => op.status === "running" && PAGE_OPERATION_KINDS.has(op.kind));
}

/**
 * What the Backups page follows: the running operations, and a restore finished in the last minutes,
 * since restoring the database signs everyone out and its outcome is the first thing wanted after
 * signing in again.
 */
export async function listBackupPageOperations(): Promise<OperationDto[]> {
  const recent = await listOperations({ limit: 50 });
  const running = runningBackupOperations(recent.items);
  const restore = recent.items.find((op) => op.kind === "restore" && op.status !== "running");
  const restoreIsRecent = restore?.finished_at && Date.now() - Date.parse(restore.finished_at) < RECENT_RESTORE_MS;
  return restore && restoreIsRecent ? [...running, restore] : running;
}
