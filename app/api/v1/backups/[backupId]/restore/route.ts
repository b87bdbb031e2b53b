import { json, route } from "@/lib/http";
import { backupIdParams, restoreBackupInput } from "@/lib/backups/inputs";
import { startRestore } from "@/lib/backups/service";

/** Body: {"confirm": "<the backup id>", "volumes"?: ["mimir_data", …]}. 202 with the operation. */
export const POST = route(
  { access: "admin", params: backupIdParams, body: restoreBackupInput, reauth: true, audit: "backup.restore" },
  async ({ params, body, principal }) => json(await startRestore(params.backupId, body, principal), 202),
);
