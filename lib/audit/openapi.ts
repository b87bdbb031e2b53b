import { z } from "zod";
import { pageOf, type ApiRoute } from "@/lib/openapi-registry";
import { listAuditQuery } from "@/lib/audit/service";
import type { AuditEntryDto } from "@/lib/audit/types";

const auditEntry = z
  .object({
    id: z.number(),
    at: z.string(),
    actor: z.string(),
    actor_type: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    result: z.enum(["ok", "denied", "failed"]),
    ip: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .loose() satisfies z.ZodType<AuditEntryDto>;

/** The audit log's route, for the OpenAPI document. */
export const AUDIT_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/audit",
    summary:
      "The audit log, newest first: one row per change (who, what, target, address, result; long operations when they end); refused or failed attempts by a known caller fold into one row per caller, address, action and result a minute (details.count); filter by actor (exact), action (prefix, e.g. backup.) and result",
    tag: "Audit log",
    access: "admin",
    query: listAuditQuery,
    responses: { 200: { description: "A page of entries", schema: pageOf(auditEntry) } },
  },
];
