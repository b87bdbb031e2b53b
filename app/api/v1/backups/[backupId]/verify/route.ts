import { json, route } from "@/lib/http";
import { backupIdParams } from "@/lib/backups/inputs";
import { startVerify } from "@/lib/backups/verify";

export const POST = route({ access: "write", audit: "backup.verify", params: backupIdParams }, async ({ params, principal }) =>
  json(await startVerify(params.backupId, principal), 202),
);
