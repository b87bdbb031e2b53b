import { json, route } from "@/lib/http";
import { resetInput } from "@/lib/maintenance/inputs";
import { getResetPreview, startReset } from "@/lib/maintenance/reset";

/** What a reset would delete, and the instance name to type in `confirm`. */
export const GET = route({ access: "admin" }, async () => getResetPreview());

/**
 * Body: {"confirm": "<instance name>", "volumes"?: ["mimir_data", …]}. A browser session sends its
 * password again in the X-Mimir-Password header; tokens pass. 202 with the exclusive operation.
 */
export const POST = route({ access: "admin", reauth: true, audit: "data.reset", body: resetInput }, async ({ body, principal }) =>
  json(await startReset(body, principal), 202),
);
