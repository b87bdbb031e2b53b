import { json, route } from "@/lib/http";
import { backupIdParams } from "@/lib/backups/inputs";
import { copyBackupInput } from "@/lib/offsite/inputs";
import { startCopy } from "@/lib/offsite/copy";

/** 202 with the operation: copies the set to one destination, or to every enabled one (also Retry). */
export const POST = route({ access: "write", params: backupIdParams, body: copyBackupInput, audit: "offsite.copy" }, async ({ params, body, principal }) =>
  json(await startCopy(params.backupId, body.destination_id ?? null, principal), 202),
);
