import { route } from "@/lib/http";
import { backupIdParams } from "@/lib/backups/inputs";
import { deleteBackup } from "@/lib/backups/service";
import { getBackupWithCopies } from "@/lib/offsite/catalog";

export const GET = route({ access: "read", params: backupIdParams }, ({ params }) => getBackupWithCopies(params.backupId));

export const DELETE = route({ access: "admin", params: backupIdParams, reauth: true, audit: "backup.delete" }, ({ params, principal }) =>
  deleteBackup(params.backupId, principal),
);
