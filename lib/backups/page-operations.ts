import "server-only";
import { listOperations } from "@/lib/operations/service";
import type { OperationDto } from "@/lib/operations/types";
import type { Principal } from "@/lib/auth/scopes";

// What the Backups page and the Overview follow: backup operations running, just finished, or failed.

const PAGE_OPERATION_KINDS = new Set(["backup", "verify", "restore", "import", "offsite_copy", "offsite_pull"]);

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
 * What the Backups page follows: the running operations, and the viewer's own restore if it finished
 * in the last minutes (restoring the database may sign its author out, and its outcome is the first
 * thing wanted after signing in again). Another person's restore is not theirs to be told about
 * here: it is in the audit log. Reads only.
 */
export async function listBackupPageOperations(viewer: Pick<Principal, "name">, now = Date.now()): Promise<OperationDto[]> {
  const recent = await listOperations({ limit: 50 });
  const running = runningBackupOperations(recent.items);
  const restore = recent.items.find((op) => op.kind === "restore" && op.status !== "running");
  const restoreIsRecent = restore?.finished_at && now - Date.parse(restore.finished_at) < RECENT_RESTORE_MS;
  return restore && restoreIsRecent && restore.created_by === viewer.name ? [...running, restore] : running;
}

/**
 * The latest backup attempt when it did not succeed (failed, cancelled, or interrupted by a server
 * stop) and no backup has succeeded since: the Backups page and the Overview say so, instead of
 * only showing the last good set. Null when the latest attempt succeeded or is still running. Reads only.
 */
export async function findFailedLatestBackup(): Promise<OperationDto | null> {
  const [last] = (await listOperations({ limit: 1, kind: "backup" })).items;
  return last && (last.status === "failed" || last.status === "cancelled") ? last : null;
}
