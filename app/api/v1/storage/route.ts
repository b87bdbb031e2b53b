import { route } from "@/lib/http";
import { getStorageUsage } from "@/lib/storage/usage";

/** Current usage of every volume, the backups folder and the database (a walk at most USAGE_REUSE_MS old). */
export const GET = route({ access: "read" }, () => getStorageUsage());
