import { route } from "@/lib/http";
import { swapRecoveredInput } from "@/lib/maintenance/inputs";
import { swapInRecoveredDatabase } from "@/lib/maintenance/service";

export const POST = route({ access: "admin", body: swapRecoveredInput, reauth: true, audit: "database.swap_recovered" }, ({ body, principal }) =>
  swapInRecoveredDatabase(body, principal),
);
