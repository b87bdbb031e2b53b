import { route } from "@/lib/http";
import { pruneBackupsInput } from "@/lib/backups/inputs";
import { pruneBackups } from "@/lib/backups/service";

/** Body: {"dry_run": true} lists what would go without deleting. */
export const POST = route({ access: "admin", body: pruneBackupsInput, reauth: true, audit: "backup.prune" }, ({ body, principal }) =>
  pruneBackups({ dryRun: body.dry_run }, principal),
);
