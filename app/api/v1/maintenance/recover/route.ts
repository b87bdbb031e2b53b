import { json, route } from "@/lib/http";
import { startMaintenance } from "@/lib/maintenance/service";

/** Writes a recovered copy beside the live database; swapping it in is a separate, confirmed step (./swap). */
export const POST = route({ access: "admin", audit: "maintenance.recover" }, async ({ principal }) => json(await startMaintenance("recover", principal), 202));
