import { json, route } from "@/lib/http";
import { remoteSetParams } from "@/lib/offsite/inputs";
import { startPull } from "@/lib/offsite/remote-sets";

/** 202 with the operation; the set lands in the backups folder once every archive matched its manifest. */
export const POST = route({ access: "admin", params: remoteSetParams, audit: "offsite.pull" }, async ({ params, principal }) =>
  json(await startPull(params.destinationId, params.backupId, principal), 202),
);
