import { buildOpenApiDocument, type ApiRoute } from "@/lib/openapi-registry";
import { OPENAPI_API } from "@/lib/openapi/openapi";
import { JOBS_API } from "@/lib/jobs/openapi";
import { PIPELINES_API } from "@/lib/pipelines/openapi";
import { EXECUTIONS_API } from "@/lib/executions/openapi";
import { OPERATIONS_API } from "@/lib/operations/openapi";
import { BACKUPS_API } from "@/lib/backups/openapi";
import { MAINTENANCE_API } from "@/lib/maintenance/openapi";
import { STORAGE_API } from "@/lib/storage/openapi";
import { CONFIG_API } from "@/lib/config/openapi";
import { AUTH_API } from "@/lib/auth/openapi";
import { AUDIT_API } from "@/lib/audit/openapi";
import { NOTIFY_API } from "@/lib/notify/openapi";
import { OFFSITE_API } from "@/lib/offsite/openapi";
import { INSTANCES_API } from "@/lib/instances/openapi";

/** Every capability's documented routes: a capability adds its list here with one import and one entry. */
const API_ROUTE_GROUPS: ApiRoute[][] = [
  JOBS_API,
  PIPELINES_API,
  EXECUTIONS_API,
  OPERATIONS_API,
  BACKUPS_API,
  MAINTENANCE_API,
  STORAGE_API,
  CONFIG_API,
  AUTH_API,
  AUDIT_API,
  NOTIFY_API,
  OFFSITE_API,
  INSTANCES_API,
  OPENAPI_API,
];

let cached: ReturnType<typeof buildOpenApiDocument> | null = null;

/** The OpenAPI document served at /api/v1/openapi.json, built once from the zod schemas. */
export function getOpenApiDocument() {
  cached ??= buildOpenApiDocument(API_ROUTE_GROUPS.flat(), {
    title: "Mimir AIP persistence console API",
    version: "1",
    description:
      'Every /api/v1 route. Send \'Authorization: Bearer <token>\'; x-required-scope is the token scope each operation needs (read < write < admin). Errors answer {"error": {"code", "message", "details"}}; branch on code. A 202 answers with an operation: poll GET /api/v1/operations/{id}.',
  });
  return cached;
}
