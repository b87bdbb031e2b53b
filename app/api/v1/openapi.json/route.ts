import { route } from "@/lib/http";
import { getOpenApiDocument } from "@/lib/openapi/document";

// Public: a script author reads the API before they have a token (it lists routes, never data).
export const GET = route({ access: "public" }, () => getOpenApiDocument());
