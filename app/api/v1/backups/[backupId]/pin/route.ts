import { route } from "@/lib/http";
import { backupIdParams, pinBackupInput } from "@/lib/backups/inputs";
import { setBackupPinned } from "@/lib/backups/service";

/** Body: {"pinned": true|false}. A pinned set is never pruned. */
export const PUT = route({ access: "admin", audit: "backup.pin", params: backupIdParams, body: pinBackupInput }, ({ params, body, principal }) =>
  setBackupPinned(params.backupId, body.pinned, principal),
);
