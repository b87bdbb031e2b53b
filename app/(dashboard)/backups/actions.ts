"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { backupId, restoreBackupInput, setScheduledBackupsInput } from "@/lib/backups/inputs";
import { operationIdParams } from "@/lib/operations/inputs";
import { cancelOperation } from "@/lib/operations/service";
import { deleteBackup, pruneBackups, setBackupPinned, startBackup, startRestore } from "@/lib/backups/service";
import { setScheduledBackups } from "@/lib/backups/schedule";
import { startVerify } from "@/lib/backups/verify";

export const startBackupAction = defineAction("write", z.object({}), (_input, principal) => startBackup(principal, "manual"), { audit: "backup.create" });

export const verifyBackupAction = defineAction("write", z.object({ backupId }), ({ backupId: id }, principal) => startVerify(id, principal), {
  audit: "backup.verify",
  target: (input) => input.backupId,
});

// Restore, delete and prune lose data: the signed-in user gives their password again (reauth).
export const restoreBackupAction = defineAction(
  "admin",
  restoreBackupInput.extend({ backupId }),
  ({ backupId: id, ...input }, principal) => startRestore(id, input, principal),
  { reauth: true, audit: "backup.restore", target: (input) => input.backupId },
);

export const deleteBackupAction = defineAction(
  "admin",
  z.object({ backupId }),
  async ({ backupId: id }, principal) => {
    const result = await deleteBackup(id, principal);
    revalidatePath("/backups");
    return result;
  },
  { reauth: true, audit: "backup.delete", target: (input) => input.backupId },
);

export const pinBackupAction = defineAction(
  "admin",
  z.object({ backupId, pinned: z.boolean() }),
  ({ backupId: id, pinned }, principal) => setBackupPinned(id, pinned, principal),
  {
    audit: "backup.pin",
    target: (input) => input.backupId,
  },
);

/** What a prune would delete, for the confirmation; changes nothing, so no password is asked. */
export const previewPruneAction = defineAction("admin", z.object({}), (_input, principal) => pruneBackups({ dryRun: true }, principal), {
  audit: "backup.prune_preview",
  readOnly: true,
});

export const pruneBackupsAction = defineAction(
  "admin",
  z.object({ dry_run: z.literal(false).default(false) }),
  async (_input, principal) => {
    const result = await pruneBackups({ dryRun: false }, principal);
    revalidatePath("/backups");
    return result;
  },
  { reauth: true, audit: "backup.prune" },
);

/** Turning scheduled backups off loses no data (the sets stay), so neither way asks for the password. */
export const setScheduledBackupsAction = defineAction(
  "admin",
  setScheduledBackupsInput,
  async ({ enabled }, principal) => {
    const result = await setScheduledBackups(enabled, principal);
    revalidatePath("/backups");
    return result;
  },
  { audit: "backup.schedule" },
);

/** Stops a running backup, verify or import; the same scope as POST /api/v1/operations/{id}/cancel. */
export const cancelOperationAction = defineAction("write", operationIdParams, ({ operationId }, principal) => cancelOperation(operationId, principal), {
  audit: "operation.cancel",
  target: (input) => input.operationId,
  whileMigrating: true,
});
