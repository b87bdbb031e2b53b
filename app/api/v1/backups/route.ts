import { json, route } from "@/lib/http";
import { listBackupsQuery } from "@/lib/backups/inputs";
import { listBackupsWithCopies } from "@/lib/offsite/catalog";
import { startBackup } from "@/lib/backups/service";

export const GET = route({ access: "read", query: listBackupsQuery }, ({ query }) => listBackupsWithCopies(query));

/** 202 with the operation; poll GET /api/v1/operations/{id} for progress. No body. */
export const POST = route({ access: "write", audit: "backup.create" }, async ({ principal }) => json(await startBackup(principal, "api"), 202));
