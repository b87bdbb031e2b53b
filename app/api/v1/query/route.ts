import { route } from "@/lib/http";
import { queryInput } from "@/lib/maintenance/inputs";
import { runReadOnlyQuery } from "@/lib/maintenance/query";

export const POST = route({ access: "admin", audit: "database.query", body: queryInput }, ({ body, principal }) => runReadOnlyQuery(body, principal));
