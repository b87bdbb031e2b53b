import { route } from "@/lib/http";
import { getConfigView, updateConfig, updateConfigInput } from "@/lib/config/edit";

/** Mimir AIP's config endpoint: effective values with where each came from; secrets masked. */
export const GET = route({ access: "admin" }, () => getConfigView());

/** Writes the given runtime overrides into config.yaml and says which apply now and which at restart. */
export const PUT = route({ access: "admin", body: updateConfigInput, audit: "config.update" }, ({ body }) => updateConfig(body));
