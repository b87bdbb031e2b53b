import { json, route } from "@/lib/http";
import { retentionCleanupInput } from "@/lib/maintenance/inputs";
import { runRetentionCleanup, startRetentionCleanup } from "@/lib/maintenance/retention";

/** A dry run answers at once with its report (it only counts); a real cleanup is an operation (202). */
export const POST = route({ access: "write", audit: "retention.cleanup", body: retentionCleanupInput }, async ({ body, principal }) =>
  body.dry_run ? runRetentionCleanup(body) : json(await startRetentionCleanup(body, principal), 202),
);
