import { json, route } from "@/lib/http";
import { getDatabaseOverview } from "@/lib/maintenance/service";

export const GET = route({ access: "read" }, async () => json(await getDatabaseOverview(), 200));
