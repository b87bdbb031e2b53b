import path from "node:path";
import { json, route } from "@/lib/http";
import { writeRequestBodyToFile } from "@/lib/http-body";
import { discardImportFolder, MAX_IMPORT_BYTES, newImportFolder, startImport } from "@/lib/backups/transfer";

/**
 * Body: a set file from /api/v1/backups/{id}/download, sent raw (Content-Type: application/x-tar).
 * Streamed to disk with a byte cap; 202 with the operation that checks it and lists it.
 */
export const POST = route({ access: "admin", audit: "backup.import", maxBodyBytes: MAX_IMPORT_BYTES }, async ({ request, principal }) => {
  const folder = newImportFolder();
  try {
    await writeRequestBodyToFile(request, path.join(folder, "upload.tar"), MAX_IMPORT_BYTES);
    return json(await startImport(folder, principal), 202);
  } catch (error) {
    discardImportFolder(folder);
    throw error;
  }
});
