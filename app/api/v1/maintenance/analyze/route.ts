import { json, route } from "@/lib/http";
import { startMaintenance } from "@/lib/maintenance/service";

export const POST = route({ access: "write", audit: "maintenance.analyze" }, async ({ principal }) => json(await startMaintenance("analyze", principal), 202));
