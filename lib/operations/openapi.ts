import { z } from "zod";
import { pageOf, type ApiRoute } from "@/lib/openapi-registry";
import { listOperationsQuery, operationIdParams } from "@/lib/operations/inputs";
import { OPERATION_KINDS, OPERATION_STATUSES, type OperationDto } from "@/lib/operations/types";

const TAG = "Operations";

/** An operation as every 202 answer and /api/v1/operations return it. */
export const operationSchema = z
  .object({
    id: z.string(),
    kind: z.enum(OPERATION_KINDS),
    status: z.enum(OPERATION_STATUSES),
    exclusive: z.boolean(),
    progress: z.object({ done: z.number(), total: z.number().nullable(), unit: z.string().nullable() }),
    message: z.string().nullable(),
    params: z.unknown(),
    /** the kind's report once it succeeded: each starting route says what it holds */
    result: z.unknown(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    created_by: z.string().nullable(),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    instance: z.string().nullable(),
  })
  .loose() satisfies z.ZodType<OperationDto>;

/** An operation whose result, once it succeeded, is `result` (null while it runs, and when it failed). */
export function operationOf<T extends z.ZodType>(result: T) {
  return operationSchema.extend({ result: result.nullable() });
}

/** The 409 of a route that starts an operation. */
export const OPERATION_RUNNING = {
  409: { description: "An exclusive operation (restore, reset) is running, or one of the same kind is (code operation_running, details name it)" },
};

const notFound = { 404: { description: "No such operation" } };

/** The operations' routes, for the OpenAPI document. */
export const OPERATIONS_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/operations",
    summary: "Long-running work (backups, restores, maintenance, cleanups, resets), newest first; kind filters",
    tag: TAG,
    access: "read",
    query: listOperationsQuery,
    responses: { 200: { description: "A page of operations", schema: pageOf(operationSchema) } },
  },
  {
    method: "get",
    path: "/api/v1/operations/{operationId}",
    summary: "One operation: poll it after a 202 until status is succeeded, failed or cancelled; result holds the kind's report",
    tag: TAG,
    access: "read",
    params: operationIdParams,
    responses: { 200: { description: "The operation", schema: operationSchema }, ...notFound },
  },
  {
    method: "post",
    path: "/api/v1/operations/{operationId}/cancel",
    summary:
      "Ask a running operation to stop; it ends as cancelled once its work notices (poll it). Needs the scope that starting its kind needs (admin for restore, reset, import, recover). A restore or reset that has begun changing live data can no longer be stopped: 409 too_late, and the operation ends as it really ended",
    tag: TAG,
    access: "write",
    params: operationIdParams,
    responses: {
      200: { description: "The operation as it is now (usually still running)", schema: operationSchema },
      ...notFound,
      403: { description: "The caller's scope is short of what the operation's kind needs (code forbidden)" },
      409: { description: "The operation is not running (code conflict), or is past the point where it can stop (code too_late)" },
    },
  },
];
