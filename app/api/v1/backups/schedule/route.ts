import { route } from "@/lib/http";
import { getScheduledBackups, setScheduledBackups } from "@/lib/backups/schedule";
import { setScheduledBackupsInput } from "@/lib/backups/inputs";

/** The backup settings and whether each built-in backup job is enabled. */
export const GET = route({ access: "read" }, () => getScheduledBackups());

/** Body: {"enabled": true|false}. Switches the backup jobs and writes persistence.backup_enabled; 409 env_override when the environment sets it. */
export const PUT = route({ access: "admin", body: setScheduledBackupsInput, audit: "backup.schedule" }, ({ body, principal }) =>
  setScheduledBackups(body.enabled, principal),
);
