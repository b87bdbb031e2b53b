import { buildOpenApiDocument, type ApiRoute } from "@/lib/openapi/registry";
import { JOBS_API } from "@/lib/jobs/api";
import { PIPELINES_API } from "@/lib/pipelines/api";
import { EXECUTIONS_API } from "@/lib/executions/api";
import { MAINTENANCE_API } from "@/lib/maintenance/api";
import { BACKUPS_API } from "@/lib/backups/api";

/** Every capability's documented routes: a capability adds its list here with one import and one entry. */
const API_ROUTE_GROUPS: ApiRoute[][] = [JOBS_API, PIPELINES_API, EXECUTIONS_API, MAINTENANCE_API, BACKUPS_API];

let cached: ReturnType<typeof buildOpenApiDocument> | null = null;

/** The OpenAPI document served at /api/v1/openapi.json, built once from the zod schemas. */
export function getOpenApiDocument() {
  cached ??= buildOpenApiDocument(API_ROUTE_GROUPS.flat(), { title: "Mimir AIP persistence console API", version: "1" });
  return cached;
}
