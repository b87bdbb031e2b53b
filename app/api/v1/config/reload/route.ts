import { route } from "@/lib/http";
import { reloadConfigFromDisk } from "@/lib/config/edit";

export const POST = route({ access: "admin", audit: "config.reload" }, () => reloadConfigFromDisk());
