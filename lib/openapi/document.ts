import { buildOpenApiDocument, type ApiRoute } from "@/lib/openapi/registry";
import { OPENAPI_API } from "@/lib/openapi/api";
import { JOBS_API } from "@/lib/jobs/api";
import { PIPELINES_API } from "@/lib/pipelines/api";
import { EXECUTIONS_API } from "@/lib/executions/api";
import { OPERATIONS_API } from "@/lib/operations/api";
import { BACKUPS_API } from "@/lib/backups/api";
import { MAINTENANCE_API } from "@/lib/maintenance/api";
import { STORAGE_API } from "@/lib/storage/api";
import { CONFIG_API } from "@/lib/config/api";
import { AUTH_API } from "@/lib/auth/api";
import { AUDIT_API } from "@/lib/audit/api";
import { NOTIFY_API } from "@/lib/notify/api";

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
  OPENAPI_API,
];

let cached: ReturnType<typeof buildOpenApiDocument> | null = null;

/** The OpenAPI document served at /api/v1/openapi.json, built once from the zod schemas. */
export function getOpenApiDocument() {
  cached ??= buildOpenApiDocument(API_ROUTE_GROUPS.flat(), {
    title: "Mimir AIP persistence console API",
    version: "1",
    description:
      "Every /api/v1 route. Send 'Authorization: Bearer <token>'; x-required-scope is the token scope each operation needs (read < write < admin). Errors answer {\"error\": {\"code\", \"message\", \"details\"}}; branch on code. A 202 answers with an operation: poll GET /api/v1/operations/{id}.",
  });
  return cached;
}
