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
import { createDestinationInput, updateDestinationInput } from "@/lib/offsite/inputs";
import { createDestination, deleteDestination, testDestination, updateDestination } from "@/lib/offsite/destinations";
import { listRemoteSets, startPull } from "@/lib/offsite/remote-sets";
import { startCopy } from "@/lib/offsite/copy";

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

// Offsite destinations and copies: one line each over lib/offsite.
const destinationId = z.string().min(1).max(64);

export const createDestinationAction = defineAction(
  "admin",
  createDestinationInput,
  async (input) => {
    const destination = await createDestination(input);
    revalidatePath("/backups");
    return destination;
  },
  { audit: "offsite.destination_create", target: (input) => input.name },
);

export const updateDestinationAction = defineAction(
  "admin",
  z.object({ destinationId, change: updateDestinationInput }),
  async ({ destinationId: id, change }) => {
    const destination = await updateDestination(id, change);
    revalidatePath("/backups");
    return destination;
  },
  { audit: "offsite.destination_update", target: (input) => input.destinationId },
);

export const deleteDestinationAction = defineAction(
  "admin",
  z.object({ destinationId }),
  async ({ destinationId: id }) => {
    const destination = await deleteDestination(id);
    revalidatePath("/backups");
    return destination;
  },
  { reauth: true, audit: "offsite.destination_delete", target: (input) => input.destinationId },
);

export const testDestinationAction = defineAction("admin", z.object({ destinationId }), ({ destinationId: id }) => testDestination(id), {
  audit: "offsite.destination_test",
  target: (input) => input.destinationId,
});

export const listRemoteSetsAction = defineAction("admin", z.object({ destinationId }), ({ destinationId: id }) => listRemoteSets(id), {
  audit: "offsite.list_sets",
  readOnly: true,
});

export const pullSetAction = defineAction(
  "admin",
  z.object({ destinationId, backupId }),
  ({ destinationId: id, backupId: set }, principal) => startPull(id, set, principal),
  { audit: "offsite.pull", target: (input) => input.backupId },
);

export const copyBackupAction = defineAction(
  "write",
  z.object({ backupId, destinationId: destinationId.optional() }),
  ({ backupId: set, destinationId: id }, principal) => startCopy(set, id ?? null, principal),
  { audit: "offsite.copy", target: (input) => input.backupId },
);
