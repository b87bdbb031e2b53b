import { route } from "@/lib/http";
import { getOpenApiDocument } from "@/lib/openapi/document";

export const GET = route({ access: "read" }, () => getOpenApiDocument());
