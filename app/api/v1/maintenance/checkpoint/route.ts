import { json, route } from "@/lib/http";
import { startMaintenance } from "@/lib/maintenance/service";

export const POST = route({ access: "write", audit: "maintenance.checkpoint" }, async ({ principal }) =>
  json(await startMaintenance("checkpoint", principal), 202),
);
