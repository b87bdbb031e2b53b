import { route } from "@/lib/http";
import { listInstances } from "@/lib/instances/service";

export const GET = route({ access: "read" }, async () => ({ items: await listInstances() }));
