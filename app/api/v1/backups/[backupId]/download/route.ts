import { Readable } from "node:stream";
import { route } from "@/lib/http";
import { backupIdParams } from "@/lib/backups/inputs";
import { openBackupDownload } from "@/lib/backups/transfer";

/** The whole set as one tar file, streamed; upload it to another instance's /api/v1/backups/import. */
export const GET = route({ access: "admin", params: backupIdParams }, async ({ params }) => {
  const { filename, stream } = await openBackupDownload(params.backupId);
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, {
    headers: {
      "Content-Type": "application/x-tar",
      "Content-Disposition": `attachment; filename="${filename}"`,
      "Cache-Control": "no-store",
    },
  });
});
