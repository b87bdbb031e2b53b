import { route } from "@/lib/http";
import { backupIdParams } from "@/lib/backups/inputs";
import { deleteBackup } from "@/lib/backups/service";
import { getBackup } from "@/lib/backups/catalog";

export const GET = route({ access: "read", params: backupIdParams }, ({ params }) => getBackup(params.backupId));

export const DELETE = route({ access: "admin", params: backupIdParams, reauth: true, audit: "backup.delete" }, ({ params, principal }) =>
  deleteBackup(params.backupId, principal),
);
