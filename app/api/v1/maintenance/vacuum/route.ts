import { json, route } from "@/lib/http";
import { startMaintenance } from "@/lib/maintenance/service";

export const POST = route({ access: "write", audit: "maintenance.vacuum" }, async ({ principal }) => json(await startMaintenance("vacuum", principal), 202));
