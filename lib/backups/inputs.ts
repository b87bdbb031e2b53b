import { z } from "zod";
import { pageQuery } from "@/lib/pagination";
import { VOLUMES } from "@/lib/config/volumes";

/** A set's id is its folder name under backups/: checked before it comes near a path. */
export const BACKUP_ID_PATTERN = /^\d{8}-\d{6}(-\d{1,3})?$/;

export const backupId = z.string().regex(BACKUP_ID_PATTERN, "a backup id like 20250115-020000");
export const backupIdParams = z.object({ backupId });

export const listBackupsQuery = pageQuery;

export const restoreBackupInput = z
  .object({
    /** the volumes to replace; all five when omitted */
    volumes: z.array(z.enum(VOLUMES)).min(1).optional(),
    /** the set's id typed again: a restore replaces live data */
    confirm: backupId,
  })
  .strict();
export type RestoreBackupInput = z.infer<typeof restoreBackupInput>;

export const pruneBackupsInput = z.object({ dry_run: z.boolean().default(false) }).strict();

export const pinBackupInput = z.object({ pinned: z.boolean() }).strict();

/** Body of PUT /api/v1/backups/schedule and input of the Backups page's switch. */
export const setScheduledBackupsInput = z.object({ enabled: z.boolean() }).strict();
