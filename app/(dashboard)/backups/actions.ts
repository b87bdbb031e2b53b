"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { backupId, pruneBackupsInput, restoreBackupInput } from "@/lib/backups/inputs";
import { deleteBackup, pruneBackups, setBackupPinned, startBackup, startRestore, startVerify } from "@/lib/backups/service";

export const startBackupAction = defineAction("write", z.object({}), (_input, principal) => startBackup(principal, "manual"));

export const verifyBackupAction = defineAction("write", z.object({ backupId }), ({ backupId: id }, principal) => startVerify(id, principal));

export const restoreBackupAction = defineAction("admin", restoreBackupInput.extend({ backupId }), ({ backupId: id, ...input }, principal) => startRestore(id, input, principal));

export const deleteBackupAction = defineAction("admin", z.object({ backupId }), async ({ backupId: id }, principal) => {
  const result = await deleteBackup(id, principal);
  revalidatePath("/backups");
  return result;
});

export const pinBackupAction = defineAction("admin", z.object({ backupId, pinned: z.boolean() }), ({ backupId: id, pinned }, principal) => setBackupPinned(id, pinned, principal));

export const pruneBackupsAction = defineAction("admin", pruneBackupsInput, async ({ dry_run }, principal) => {
  const result = await pruneBackups({ dryRun: dry_run }, principal);
  if (!dry_run) revalidatePath("/backups");
  return result;
});
